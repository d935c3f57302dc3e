/**
 * The SIGKILL matrix: a child process runs the fixture pipeline and kills itself (SIGKILL) at an exact
 * step (LAKEFLOW_TEST_CRASH_AT), or is killed from outside at a random time; a re-run must complete and
 * the lakehouse must equal a clean run's, row for row, with no temp file visible under the table dirs.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedCursor, tableRows } from './testing/duckdb.js';
import { runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = path.join(ROOT, 'runner', 'testing', 'run-fixture.ts');
const DATASET = { itemChanges: 150, itemKeys: 50, events: 120, logs: 100, members: 30 };
const TABLES = ['items', 'items_history', 'events', 'logs', 'members'];

const KILL_POINTS = [
  'fetch:1', 'fetch:5', 'fetch:11', 'fetch:20',
  'staged:1', 'staged:3', 'staged:6', 'staged:9',
  'written:1', 'written:3', 'written:6',
  'committed:1', 'committed:3', 'committed:5', 'committed:7',
];

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function runChild(dirs: Dirs, crashAt?: string, killAfterMs?: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FIXTURE_DATASET: JSON.stringify(DATASET) };
    delete env['LAKEFLOW_TEST_CRASH_AT'];
    if (crashAt) env['LAKEFLOW_TEST_CRASH_AT'] = crashAt;
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dirs.lakehouse, dirs.state], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: size }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}

let clean: Dirs;
const cleanRows = new Map<string, string[]>();
const cleanCursors = new Map<string, unknown>();

async function cursorOf(dirs: Dirs, table: string): Promise<unknown> {
  return committedCursor(dirs.lakehouse, table);
}

async function expectEqualsClean(dirs: Dirs, label: string): Promise<void> {
  for (const table of TABLES) {
    expect(await tableRows(dirs.lakehouse, table), `${label}: ${table}`).toEqual(cleanRows.get(table));
    expect(await cursorOf(dirs, table), `${label}: ${table} cursor`).toEqual(cleanCursors.get(table));
  }
  expect(await strayFiles(dirs.lakehouse), label).toEqual([]);
}

beforeAll(async () => {
  clean = await tempDirs('lakeflow-clean-');
  await runFixture(clean, { dataset: DATASET });
  for (const table of TABLES) {
    cleanRows.set(table, await tableRows(clean.lakehouse, table));
    cleanCursors.set(table, await cursorOf(clean, table));
  }
});
afterAll(async () => {
  await clean.cleanup();
});

describe('crash safety (SIGKILL)', () => {
  it('after a kill at each of 15 steps, plus a kill during recovery and at random times, a re-run equals a clean run', async () => {
    expect.hasAssertions();
    const cases: { label: string; run: (dirs: Dirs) => Promise<void> }[] = KILL_POINTS.map((point) => ({
      label: point,
      run: async (dirs) => {
        const crashed = await runChild(dirs, point);
        expect(crashed.signal, `${point} should kill the run: ${crashed.stderr}`).toBe('SIGKILL');
      },
    }));
    cases.push({
      label: 'committed:4 then fetch:2 (a crash while catching up after a crash)',
      run: async (dirs) => {
        expect((await runChild(dirs, 'committed:4')).signal).toBe('SIGKILL');
        expect((await runChild(dirs, 'fetch:2')).signal).toBe('SIGKILL');
      },
    });
    for (const ms of [700, 1500]) {
      const delay = ms + Math.floor(Math.random() * 500);
      cases.push({ label: `random kill after ${delay} ms`, run: async (dirs) => void (await runChild(dirs, undefined, delay)) });
    }
    await pool(cases, 3, async ({ label, run }) => {
      const dirs = await tempDirs('lakeflow-crash-');
      try {
        await run(dirs);
        // The re-run happens in this process (a fresh runner, the crashed child's lock is stale).
        const rerun = await runFixture(dirs, { dataset: DATASET });
        expect(rerun.status, `${label}: re-run: ${JSON.stringify(rerun.tables.map((t) => t.error ?? t.status))}`).toBe('ok');
        await expectEqualsClean(dirs, label);
      } finally {
        await dirs.cleanup();
      }
    });
  }, 400_000);
});
