/**
 * A vitest reporter that ends the run with one plain line, `N passed, N failed, N skipped`, the closing line CI
 * reads in any language (vitest's own summary is formatted differently). Everything else comes from the default
 * reporter.
 *
 * A failure outside a test counts as a failure too, named after the count: a test file that failed to load
 * (import, syntax or module-level error: no test was collected), a file or suite whose hook threw (its tests are
 * then reported skipped), an unhandled error. If vitest still calls the run failed when none of these were seen,
 * or the run was interrupted, the line says so and counts one failure: it never reads `0 failed` for a run that
 * exits non-zero.
 */
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

export interface RunTally {
  passed: number;
  /** Tests whose state is failed. */
  failedTests: number;
  skipped: number;
  /** Files that collected no test and reported errors: they failed to load. */
  filesNotLoaded: number;
  /** Files or suites with errors outside their tests (a beforeAll/afterAll that threw). */
  hooksFailed: number;
  unhandledErrors: number;
  /** vitest's verdict on the run. */
  reason: TestRunEndReason;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The closing line of a run (without the newline). */
export function closingLine(t: RunTally): string {
  const outside: string[] = [];
  if (t.filesNotLoaded > 0) outside.push(`${plural(t.filesNotLoaded, 'file', 'files')} failed to load`);
  if (t.hooksFailed > 0) outside.push(`${plural(t.hooksFailed, 'hook', 'hooks')} failed`);
  if (t.unhandledErrors > 0) outside.push(plural(t.unhandledErrors, 'unhandled error', 'unhandled errors'));
  let failed = t.failedTests + t.filesNotLoaded + t.hooksFailed + t.unhandledErrors;
  if (t.reason === 'interrupted') outside.push('run interrupted');
  else if (failed === 0 && t.reason === 'failed') outside.push('vitest reported the run as failed');
  if (failed === 0 && t.reason !== 'passed') failed = 1;
  const detail = outside.length > 0 ? ` (${outside.join(', ')})` : '';
  return `${t.passed} passed, ${failed} failed, ${t.skipped} skipped${detail}`;
}

/** Count the tests of a finished run and the failures outside them. */
export function tallyRun(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>, reason: TestRunEndReason): RunTally {
  const t: RunTally = { passed: 0, failedTests: 0, skipped: 0, filesNotLoaded: 0, hooksFailed: 0, unhandledErrors: unhandledErrors.length, reason };
  for (const module of testModules) {
    const tests = [...module.children.allTests()];
    for (const test of tests) {
      const state = test.result().state;
      if (state === 'passed') t.passed++;
      else if (state === 'failed') t.failedTests++;
      else t.skipped++;
    }
    const moduleErrors = module.errors().length;
    if (tests.length === 0 && (moduleErrors > 0 || module.state() === 'failed')) t.filesNotLoaded++;
    else if (moduleErrors > 0) t.hooksFailed++;
    for (const suite of module.children.allSuites()) if (suite.errors().length > 0) t.hooksFailed++;
  }
  return t;
}

export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>, reason: TestRunEndReason): void {
    process.stdout.write(`\n${closingLine(tallyRun(testModules, unhandledErrors, reason))}\n`);
  }
}
