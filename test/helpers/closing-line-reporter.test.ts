/**
 * The closing line CI reads: vitest runs as a child process on a fixture project (written to a temp folder
 * outside the repository, so the main run never collects it) with files that fail in every way a file can fail
 * outside its tests. Each must count as a failure in the line, and vitest must exit non-zero.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closingLine, type RunTally } from './closing-line-reporter.js';
import { REPO_ROOT, childEnv, lastLine, linkNodeModules, runChild, type ChildResult } from './vitest-child.js';

const REPORTER = join(REPO_ROOT, 'test', 'helpers', 'closing-line-reporter.ts');
const VITEST = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

const FILES: Readonly<Record<string, string>> = {
  'pass.test.ts': `import { expect, it } from 'vitest';\nit('passes', () => { expect(1 + 1).toBe(2); });\nit.skip('is skipped', () => {});\n`,
  'throws-at-import.test.ts': `import { it } from 'vitest';\nthrow new Error('thrown at module level');\nit('never collected', () => {});\n`,
  'syntax-error.test.ts': `import { it } from 'vitest';\nit('broken', () => { const = 1; });\n`,
  'before-all-throws.test.ts': `import { beforeAll, expect, it } from 'vitest';\nbeforeAll(() => { throw new Error('setup failed'); });\nit('a', () => { expect(1).toBe(1); });\nit('b', () => { expect(1).toBe(1); });\n`,
  'unhandled.test.ts': `import { expect, it } from 'vitest';\nit('leaves an error behind', async () => {\n  setTimeout(() => { throw new Error('late'); }, 0);\n  await new Promise((r) => setTimeout(r, 50));\n  expect(true).toBe(true);\n});\n`,
};

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A fixture project holding `files` (names from FILES), run by vitest with the closing-line reporter. */
async function runFixture(files: readonly string[]): Promise<ChildResult> {
  const dir = await mkdtemp(join(tmpdir(), 'closing-line-'));
  dirs.push(dir);
  await linkNodeModules(dir);
  const config = `export default { test: { include: ['*.test.ts'], pool: 'forks', maxWorkers: 2, reporters: ['default', ${JSON.stringify(REPORTER)}] } };\n`;
  await writeFile(join(dir, 'vitest.config.mjs'), config);
  for (const name of files) await writeFile(join(dir, name), FILES[name]!);
  return runChild(process.execPath, [VITEST, 'run'], { cwd: dir, env: childEnv({ NO_COLOR: '1', FORCE_COLOR: '0', CI: undefined }) });
}

describe('closing line of a real vitest run', () => {
  it('counts a file that fails to load, a hook that throws and an unhandled error as failures; vitest exits 1', async () => {
    expect.hasAssertions();
    const result = await runFixture(Object.keys(FILES));
    expect(lastLine(result.stdout)).toBe('2 passed, 4 failed, 3 skipped (2 files failed to load, 1 hook failed, 1 unhandled error)');
    expect(result.code).toBe(1);
  });

  it('reads 0 failed, and vitest exits 0, when every file loads and passes', async () => {
    expect.hasAssertions();
    const result = await runFixture(['pass.test.ts']);
    expect(lastLine(result.stdout)).toBe('1 passed, 0 failed, 1 skipped');
    expect(result.code).toBe(0);
  });
});

describe('closingLine', () => {
  const clean: RunTally = { passed: 5, failedTests: 0, skipped: 1, filesNotLoaded: 0, hooksFailed: 0, unhandledErrors: 0, reason: 'passed' };

  it('adds failures outside tests to the failed count and names them', () => {
    expect(closingLine({ ...clean, failedTests: 2, filesNotLoaded: 1, hooksFailed: 2, reason: 'failed' })).toBe('5 passed, 5 failed, 1 skipped (1 file failed to load, 2 hooks failed)');
  });

  it('never reads 0 failed for a run vitest calls failed or that was interrupted', () => {
    expect(closingLine({ ...clean, reason: 'failed' })).toBe('5 passed, 1 failed, 1 skipped (vitest reported the run as failed)');
    expect(closingLine({ ...clean, reason: 'interrupted' })).toBe('5 passed, 1 failed, 1 skipped (run interrupted)');
    expect(closingLine(clean)).toBe('5 passed, 0 failed, 1 skipped');
  });
});
