/** Run the whole suite programmatically (no vitest): the verdict of every test, in order. */
import { RunContext } from './context.js';
import { CapturingLogger } from './logger.js';
import { optionProblems, planTests, skipReason, verdictOf } from './plan.js';
import type { AcceptanceOptions, SnapshotMode, Verdict } from './types.js';

export interface RunAcceptanceOptions {
  readonly snapshotDir: string;
  readonly snapshotMode: SnapshotMode;
  /** Run only these test ids (default: all). */
  readonly only?: readonly string[];
}

export async function listTablesOf<C>(options: AcceptanceOptions<C>): Promise<string[]> {
  if (options.tables !== undefined) return [...options.tables];
  const source = await options.createSource(options.config as C, { logger: new CapturingLogger() });
  try {
    return [...new Set(await source.listTables())];
  } finally {
    await source.close?.();
  }
}

export async function runAcceptance<C>(options: AcceptanceOptions<C>, run: RunAcceptanceOptions): Promise<Map<string, Verdict>> {
  const erased = options as AcceptanceOptions<unknown>;
  const tests = planTests(await listTablesOf(options));
  const problems = optionProblems(erased, tests);
  if (problems.length > 0) throw new TypeError(`acceptance options are invalid: ${problems.join('; ')}`);
  const ctx = new RunContext(erased, run.snapshotDir, run.snapshotMode);
  const verdicts = new Map<string, Verdict>();
  try {
    for (const test of tests) {
      if (run.only !== undefined && !run.only.includes(test.id)) continue;
      const reason = skipReason(options.skip, test);
      verdicts.set(test.id, reason !== undefined ? { status: 'skip', reason } : await verdictOf(test, ctx));
    }
  } finally {
    await ctx.close();
  }
  return verdicts;
}
