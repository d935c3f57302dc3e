/**
 * The connector acceptance suite: one call registers every check for every table of a source.
 *
 *   describeConnectorAcceptance({ name: 'mixpanel', createSource, config, secrets, addData, expected, futureCursor,
 *     skip: [{ test: 'cohorts > every column is populated', reason: '…' }] });
 *
 * Test ids are `<table> > <check>` (source-level checks: `<check>`). Each check is a plain async function
 * (checks/) that throws on failure; `runAcceptance` runs them without vitest (the mutant self-tests do).
 */
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunContext } from './context.js';
import { optionProblems, planTests, skipReason, verdictOf, type PlannedTest } from './plan.js';
import { listTablesOf } from './run.js';
import type { AcceptanceOptions, SnapshotMode } from './types.js';

export type { AcceptanceOptions, AcceptanceSkip, AllowedNullColumn, ExpectedKey, SnapshotMode, SourceEnv, Verdict } from './types.js';
export { AcceptanceFailure, NotApplicable } from './failures.js';
export { SOURCE_CHECKS, TABLE_CHECKS } from './checks/index.js';
export { runAcceptance, type RunAcceptanceOptions } from './run.js';
export { planTests, testId } from './plan.js';
export { CapturingLogger } from './logger.js';
/** Helpers to build a broken variant of a source (a mutant) and prove a check catches it. */
export { delegate, forTable, mapCall, rebuildBatch, replaceField } from './mutants/wrap.js';

export const SNAPSHOT_DIR_NAME = '__schema_snapshots__';

/** UPDATE_SCHEMA_SNAPSHOTS=1 rewrites snapshots; under CI a missing snapshot fails instead of being written. */
export function snapshotModeFromEnv(env: Readonly<Record<string, string | undefined>>): SnapshotMode {
  const on = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  return { update: on(env.UPDATE_SCHEMA_SNAPSHOTS), ci: on(env.CI) };
}

export function describeConnectorAcceptance<C>(options: AcceptanceOptions<C>): void {
  const erased = options as AcceptanceOptions<unknown>;
  describe(options.name, async () => {
    const tests = planTests(await listTablesOf(options));
    const problems = optionProblems(erased, tests);
    let run: RunContext | undefined;
    const context = (): RunContext => {
      if (run === undefined) {
        const testPath = expect.getState().testPath ?? join(process.cwd(), 'unknown.test.ts');
        const snapshotDir = options.snapshotDir ?? join(dirname(testPath), SNAPSHOT_DIR_NAME);
        run = new RunContext(erased, snapshotDir, snapshotModeFromEnv(process.env));
      }
      return run;
    };
    afterAll(async () => {
      await run?.close();
    });

    it('acceptance options are valid', () => {
      expect(problems).toEqual([]);
    });

    const register = (test: PlannedTest, title: string): void => {
      it(title, async (t) => {
        expect.hasAssertions();
        const reason = skipReason(options.skip, test);
        if (reason !== undefined) t.skip(reason);
        const verdict = await verdictOf(test, context());
        if (verdict.status === 'n/a') t.skip(`not applicable: ${verdict.reason}`);
        if (verdict.status === 'fail') throw verdict.error;
        expect(verdict.status).toBe('pass');
      });
    };
    for (const test of tests.filter((t) => t.table === undefined)) register(test, test.check.id);
    const tables = [...new Set(tests.flatMap((t) => (t.table === undefined ? [] : [t.table])))];
    for (const table of tables) {
      describe(table, () => {
        for (const test of tests.filter((t) => t.table === table)) register(test, test.check.id);
      });
    }
  });
}
