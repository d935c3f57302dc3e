/**
 * `npm test` in a clone with no `../shared` beside it (issue 18, Deliver 5): the repository's tracked files are
 * copied to a temp folder outside the workspace, node_modules is linked, and the one test file that needs
 * Mixpanel's OpenAPI documents (not redistributable, so not in the repository) runs there. It must load and be
 * skipped with its reason; with MIXPANEL_OPENAPI_REQUIRED=1 (what .ci/run sets where the documents exist) the
 * same run must fail, and the closing line must count that failure.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, childEnv, lastLine, linkNodeModules, runChild, type ChildResult } from './helpers/vitest-child.js';

const isGitCheckout = existsSync(join(REPO_ROOT, '.git'));
const CONTRACT = 'emulator/contract.test.ts';
const CONTRACT_TESTS = 6;
const OPENAPI_DOCS_MODULE = 'emulator/testing/openapi-docs.ts';
/** Files that may name ../shared: the lookup, its test (temp folders), the contract test's title, this test. */
const MAY_NAME_SHARED = [OPENAPI_DOCS_MODULE, 'emulator/testing/openapi-docs.test.ts', CONTRACT, 'test/self-contained.test.ts'];
/** A path into the workspace's shared/ folder, outside comments: `../shared`, `shared/reference`, or `'shared'` as a path segment. */
const SHARED_PATH = /\.\.\/shared\b|\bshared\/reference\b|['"`]shared['"`]/;

let parent: string;
let clone: string;

/** The tracked files as they are in the working tree (a file deleted there is left out). */
async function trackedFiles(): Promise<string[]> {
  const result = await runChild('git', ['ls-files', '-z'], { cwd: REPO_ROOT, env: childEnv() });
  if (result.code !== 0) throw new Error(`git ls-files failed: ${result.stderr}`);
  return result.stdout.split('\0').filter((f) => f !== '' && existsSync(join(REPO_ROOT, f)));
}

function runContract(env: Readonly<Record<string, string | undefined>>): Promise<ChildResult> {
  const base = { MIXPANEL_OPENAPI_DIR: undefined, MIXPANEL_OPENAPI_REQUIRED: undefined, NO_COLOR: '1', FORCE_COLOR: '0' };
  return runChild('npx', ['vitest', 'run', CONTRACT, '--reporter=verbose', '--reporter=./test/helpers/closing-line-reporter.ts'], {
    cwd: clone,
    env: childEnv({ ...base, ...env }),
  });
}

describe.skipIf(!isGitCheckout)(isGitCheckout ? 'a clone without ../shared' : 'skipped: not a git checkout (the clone is built from git ls-files)', () => {
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'lakeflow-clone-'));
    clone = join(parent, 'repo');
    for (const file of await trackedFiles()) {
      await mkdir(dirname(join(clone, file)), { recursive: true });
      await copyFile(join(REPO_ROOT, file), join(clone, file));
    }
    await linkNodeModules(clone);
  });

  afterAll(async () => {
    if (parent !== undefined) await rm(parent, { recursive: true, force: true });
  });

  it('is outside the workspace, with no ../shared beside it', () => {
    // Not inside this checkout and not beside it (a clone in /tmp runs this from /tmp/<repo>, so a prefix test
    // on the folders would be wrong there): the parent is a fresh folder with no shared/ in it.
    expect(relative(REPO_ROOT, clone).startsWith('..')).toBe(true);
    expect(parent).not.toBe(dirname(REPO_ROOT));
    expect(existsSync(join(clone, CONTRACT))).toBe(true);
    expect(existsSync(join(parent, 'shared'))).toBe(false);
  });

  it('no other code names ../shared (the OpenAPI lookup does, and its users skip without it)', async () => {
    expect.hasAssertions();
    const naming: string[] = [];
    for (const file of (await trackedFiles()).filter((f) => /\.(ts|mjs|cjs|js)$/.test(f))) {
      const code = (await readFile(join(REPO_ROOT, file), 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      if (SHARED_PATH.test(code)) naming.push(file);
    }
    expect(naming).toContain(OPENAPI_DOCS_MODULE); // the pattern finds a real reference
    expect(naming.filter((f) => !MAY_NAME_SHARED.includes(f))).toEqual([]);
  });

  it(`runs ${CONTRACT}: it loads, and its tests are skipped with the reason`, async () => {
    expect.hasAssertions();
    const result = await runContract({});
    expect(result.stdout).toContain('skipped: Mixpanel OpenAPI documents not found (set MIXPANEL_OPENAPI_DIR)');
    expect(lastLine(result.stdout)).toBe(`0 passed, 0 failed, ${CONTRACT_TESTS} skipped`);
    expect(result.code).toBe(0);
  });

  it('with MIXPANEL_OPENAPI_REQUIRED=1 the same run fails, and the closing line counts it', async () => {
    expect.hasAssertions();
    const result = await runContract({ MIXPANEL_OPENAPI_REQUIRED: '1' });
    expect(`${result.stdout}\n${result.stderr}`).toContain('MIXPANEL_OPENAPI_REQUIRED is set');
    expect(lastLine(result.stdout)).toBe(`0 passed, 1 failed, ${CONTRACT_TESTS} skipped (1 hook failed)`);
    expect(result.code).toBe(1);
  });
});
