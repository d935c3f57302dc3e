/**
 * The `mixpanel-lakeflow` command is a POSIX shell launcher (bin/mixpanel-lakeflow): it adds the environment of
 * cli/launch-env.ts (one malloc arena, a small main-thread young generation) unless the environment already chose,
 * follows npm's links to its own folder, and `exec`s node, so node has the launcher's pid (signals reach it), its
 * arguments and its exit code. Node reports what it was started with through a `--require` probe in NODE_OPTIONS,
 * including how far its young generation grew under short-lived garbage.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN_SEMI_SPACE_MB, launchEnv, launchEnvAdditions } from '../cli/launch-env.js';
import { REPO_ROOT, childEnv } from './helpers/vitest-child.js';

interface Probe {
  readonly pid: number;
  readonly arenaMax: string | null;
  readonly nodeOptions: string | null;
  /** The largest the main thread's new space grew (MiB) while the probe made short-lived garbage. */
  readonly newSpaceMiB: number;
  readonly argv: string[];
}

const LAUNCHER = join(REPO_ROOT, 'bin', 'mixpanel-lakeflow');
let dir: string;
let probeFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'launcher-'));
  probeFile = join(dir, 'probe.cjs');
  await writeFile(
    probeFile,
    [
      // Only the main thread reports: a loader (tsx, when dist/ is stale) runs this preload on its own thread too.
      `if (require('node:worker_threads').isMainThread) {`,
      `const v8 = require('node:v8');`,
      `let most = 0; let young = [];`,
      `for (let i = 0; i < 1500000; i++) {`,
      `  young.push({ i, s: 'v' + i }); if (young.length > 20000) young = [];`,
      `  if (i % 5000 === 0) most = Math.max(most, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`,
      `}`,
      `require('node:fs').writeFileSync(process.env.LAUNCH_PROBE_OUT, JSON.stringify({ pid: process.pid, arenaMax: process.env.MALLOC_ARENA_MAX ?? null, nodeOptions: process.env.NODE_OPTIONS ?? null, newSpaceMiB: most / 1048576, argv: process.argv.slice(1) }));`,
      `}`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let runs = 0;

/** Start `command` with `env` (on top of this environment, without the variables named undefined); the probe is required after env's NODE_OPTIONS. */
async function launch(command: string, args: readonly string[], env: Record<string, string | undefined>): Promise<{ code: number | null; childPid: number; probe: Probe }> {
  const out = join(dir, `probe-${runs++}.json`);
  const child = spawn(command, args, {
    cwd: dir,
    env: childEnv({ MALLOC_ARENA_MAX: undefined, GLIBC_TUNABLES: undefined, ...env, NODE_OPTIONS: [env.NODE_OPTIONS, `--require=${probeFile}`].filter(Boolean).join(' '), LAUNCH_PROBE_OUT: out }),
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, childPid: child.pid!, probe: JSON.parse(await readFile(out, 'utf8')) as Probe };
}

describe.skipIf(process.platform === 'win32')(process.platform === 'win32' ? 'skipped: the launcher is a POSIX shell script' : 'the mixpanel-lakeflow launcher', () => {
  it('is the package bin, executable', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['mixpanel-lakeflow']).toBe('bin/mixpanel-lakeflow');
    expect((await stat(LAUNCHER)).mode & 0o111).toBe(0o111);
  });

  it.each([
    { name: 'nothing chosen: one arena', env: {}, expected: '1' },
    { name: "the operator's MALLOC_ARENA_MAX is kept", env: { MALLOC_ARENA_MAX: '4' }, expected: '4' },
    { name: 'an empty MALLOC_ARENA_MAX counts as chosen', env: { MALLOC_ARENA_MAX: '' }, expected: '' },
    { name: 'GLIBC_TUNABLES naming arena_max is left to glibc', env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, expected: null },
    { name: 'GLIBC_TUNABLES naming other tunables still gets one arena', env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' }, expected: '1' },
  ])('$name, as cli/launch-env.ts says', async ({ env, expected }) => {
    const { probe } = await launch(LAUNCHER, ['--help'], env);
    expect(probe.arenaMax).toBe(expected);
    // The bench starts its children with launchEnv: the same rule, or its figures are not the command's.
    expect(launchEnvAdditions(env)['MALLOC_ARENA_MAX'] ?? env.MALLOC_ARENA_MAX ?? null).toBe(expected);
    expect(launchEnv({ ...env })['MALLOC_ARENA_MAX'] ?? null).toBe(expected);
  });

  it.each([
    { name: 'nothing chosen: the main thread gets a small young generation', options: undefined, added: true },
    { name: "the operator's --max-semi-space-size is kept", options: '--max-semi-space-size=16', added: false },
    { name: 'V8 spells it with underscores too: kept', options: '--max_semi_space_size=16', added: false },
  ])('$name, as cli/launch-env.ts says', async ({ options, added }) => {
    const { probe } = await launch(LAUNCHER, ['--help'], { NODE_OPTIONS: options });
    const flag = `--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`;
    const expected = [options, `--require=${probeFile}`, added ? flag : undefined].filter(Boolean).join(' ');
    expect(probe.nodeOptions).toBe(expected);
    // What V8 did with it: two semi-spaces of MAIN_SEMI_SPACE_MB at most, where its default grows to 2 × 16 MiB.
    if (added) expect(probe.newSpaceMiB).toBeLessThanOrEqual(2 * MAIN_SEMI_SPACE_MB);
    else expect(probe.newSpaceMiB).toBeGreaterThan(2 * MAIN_SEMI_SPACE_MB);
    // The bench starts its children with launchEnv: the same rule.
    const withProbe = [options, `--require=${probeFile}`].filter(Boolean).join(' ');
    expect(launchEnv({ NODE_OPTIONS: withProbe })['NODE_OPTIONS']).toBe(expected);
    expect(launchEnvAdditions({ NODE_OPTIONS: withProbe })['NODE_OPTIONS']).toBe(added ? expected : undefined);
    expect(launchEnvAdditions({})['NODE_OPTIONS']).toBe(flag);
  });

  it("follows npm's relative links, passes the arguments unchanged, and execs node (same pid, node's exit code)", async () => {
    // node_modules/.bin/mixpanel-lakeflow → ../mixpanel-lakeflow/bin/mixpanel-lakeflow → the launcher.
    const pkgDir = join(dir, 'node_modules', 'mixpanel-lakeflow', 'bin');
    await mkdir(pkgDir, { recursive: true });
    await mkdir(join(dir, 'node_modules', '.bin'), { recursive: true });
    await symlink(LAUNCHER, join(pkgDir, 'mixpanel-lakeflow'));
    await symlink('../mixpanel-lakeflow/bin/mixpanel-lakeflow', join(dir, 'node_modules', '.bin', 'mixpanel-lakeflow'));
    const args = ['no-such-command', 'two words', '$HOME', '"quoted"', '*'];
    const { code, childPid, probe } = await launch(join(dir, 'node_modules', '.bin', 'mixpanel-lakeflow'), args, {});
    expect(probe.argv).toEqual([join(REPO_ROOT, 'bin', 'mixpanel-lakeflow.js'), ...args]);
    expect(probe.pid).toBe(childPid);
    expect(code).toBe(2); // the CLI's usage error, not the shell's
    expect(probe.arenaMax).toBe('1');
  });
});
