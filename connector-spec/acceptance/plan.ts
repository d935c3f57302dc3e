/**
 * The list of tests a run makes (`<check>` for source checks, `<table> > <check>` for table checks), option
 * validation (every skip needs a reason and must match a test) and the verdict of one test.
 */
import type { RunContext } from './context.js';
import { SOURCE_CHECKS, TABLE_CHECKS, type Check } from './checks/index.js';
import { secretForms } from './checks/secrets.js';
import { NotApplicable } from './failures.js';
import type { AcceptanceOptions, AcceptanceSkip, Verdict } from './types.js';

export interface PlannedTest {
  /** `<check>` or `<table> > <check>`. */
  readonly id: string;
  readonly table: string | undefined;
  readonly check: Check;
}

export function testId(table: string | undefined, checkId: string): string {
  return table === undefined ? checkId : `${table} > ${checkId}`;
}

/** Source checks, then per table every check; checks that call addData run last, after the cached reads. */
export function planTests(tables: readonly string[]): PlannedTest[] {
  const ordered = [...TABLE_CHECKS.filter((c) => c.mutatesData !== true), ...TABLE_CHECKS.filter((c) => c.mutatesData === true)];
  return [
    ...SOURCE_CHECKS.map((check) => ({ id: check.id, table: undefined, check })),
    ...tables.flatMap((table) => ordered.map((check) => ({ id: testId(table, check.id), table, check }))),
  ];
}

function matches(skip: AcceptanceSkip, test: PlannedTest): boolean {
  return skip.test === test.id || (test.table !== undefined && skip.test === `* > ${test.check.id}`);
}

/** The reason a test is skipped, if a skip entry names it. */
export function skipReason(skips: readonly AcceptanceSkip[] | undefined, test: PlannedTest): string | undefined {
  return skips?.find((s) => matches(s, test))?.reason;
}

/** Problems with the options themselves: a skip without a reason or naming no test, bad limits. */
export function optionProblems(options: AcceptanceOptions<unknown>, tests: readonly PlannedTest[]): string[] {
  const problems: string[] = [];
  if (options.name.trim() === '') problems.push('name must not be empty');
  for (const skip of options.skip ?? []) {
    if (typeof skip.reason !== 'string' || skip.reason.trim() === '') problems.push(`skip "${skip.test}" has no reason: every skip must say why the check does not apply`);
    if (!tests.some((t) => matches(skip, t))) problems.push(`skip "${skip.test}" matches no test (ids are "<table> > <check>"; checks: ${TABLE_CHECKS.map((c) => c.id).join(' | ')})`);
  }
  for (const [key, value] of [['maxCalls', options.maxCalls], ['maxBatchesPerCall', options.maxBatchesPerCall]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 2)) problems.push(`${key} must be an integer ≥ 2`);
  }
  return problems;
}

/** Run one test's check: pass, fail (with the error), or n/a (the check does not apply to this table). */
export async function verdictOf(test: PlannedTest, run: RunContext): Promise<Verdict> {
  try {
    if (test.check.scope === 'source') await test.check.run(run);
    else await test.check.run(run.table(test.table ?? ''));
    return { status: 'pass' };
  } catch (error) {
    if (error instanceof NotApplicable) return { status: 'n/a', reason: error.message };
    const failure = error instanceof Error ? error : new Error(String(error));
    // A failure message must not print a secret into CI logs (the secret check reports where it leaked).
    for (const secret of run.options.secrets ?? []) {
      if (secret.length < 4) continue;
      for (const form of secretForms(secret)) failure.message = failure.message.split(form).join('***');
    }
    return { status: 'fail', error: failure };
  }
}
