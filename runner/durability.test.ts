import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../connector-spec/index.js';
import { EXIT_DEFERRED, exitCodeForError, exitCodeForReport } from './index.js';
import { committedCursor, deltaScan, query, tableRows } from './testing/duckdb.js';
import { captureLogger, runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('lock per state folder', () => {
  it('an overlapping run waits for the holder up to --max-wait, then runs; with no wait it is deferred (exit 75) naming the holder', async () => {
    expect.hasAssertions();
    const [a, b] = await Promise.all([runFixture(dirs, { tables: ['logs'], maxWaitMs: 60_000 }), runFixture(dirs, { tables: ['logs'], maxWaitMs: 60_000 })]);
    expect([a.status, b.status]).toEqual(['ok', 'ok']);
    const rows = await query(`SELECT count(*)::INT n, count(DISTINCT seq)::INT k FROM ${await deltaScan(dirs.lakehouse, 'logs')}`);
    expect(rows[0]).toEqual({ n: 250, k: 250 });
    const reports = await Promise.all([runFixture(dirs, { tables: ['logs'], maxWaitMs: 0 }), runFixture(dirs, { tables: ['logs'], maxWaitMs: 0 })]);
    const deferred = reports.filter((r) => r.status === 'deferred');
    expect(deferred).toHaveLength(1);
    expect(deferred[0]!.deferred?.reason).toMatch(new RegExp(`pid ${process.pid}`));
    expect(exitCodeForReport(deferred[0]!)).toBe(EXIT_DEFERRED);
  });

  it('defers while another live process holds the lock file, and leaves it alone', async () => {
    expect.hasAssertions();
    await mkdir(dirs.state, { recursive: true });
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const holder = { pid: sleeper.pid, startedAt: '2026-11-23T01:02:03.000Z', hostname: os.hostname() };
      await writeFile(path.join(dirs.state, '.lock'), JSON.stringify(holder));
      const report = await runFixture(dirs, { tables: ['logs'], maxWaitMs: 0 });
      expect(report.status).toBe('deferred');
      expect(report.deferred?.reason).toContain(`pid ${sleeper.pid}`);
      expect(report.tables).toEqual([]);
      expect(JSON.parse(await readFile(path.join(dirs.state, '.lock'), 'utf8'))).toEqual(holder);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('takes over a stale lock left by a dead process, with a warning', async () => {
    expect.hasAssertions();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    expect(deadPid).toBeGreaterThan(0);
    await mkdir(dirs.state, { recursive: true });
    await writeFile(path.join(dirs.state, '.lock'), JSON.stringify({ pid: deadPid, startedAt: '2026-11-23T00:00:00.000Z', hostname: os.hostname() }));
    const logger = captureLogger();
    const report = await runFixture(dirs, { tables: ['logs'], logger });
    expect(report.status).toBe('ok');
    expect(logger.lines.some((l) => l.msg === 'taking over a stale lock')).toBe(true);
    await expect(readFile(path.join(dirs.state, '.lock'))).rejects.toThrow(/ENOENT/);
  });
});

/** A real file system that fills up: a 2 MiB tmpfs (needs root; skipped with the reason where mount is refused). */
function tmpfs(dir: string, size: string): boolean {
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  return mounted.status === 0;
}

describe('disk full / write error', () => {
  const root = path.join(os.tmpdir(), `lakeflow-diskfull-${process.pid}`);
  let mounted = false;
  beforeEach(async () => {
    await mkdir(root, { recursive: true });
    mounted = tmpfs(root, '2m');
  });
  afterEach(async () => {
    if (mounted) spawnSync('umount', ['-l', root]);
    await rm(root, { recursive: true, force: true });
  });

  it('fails with the path, the flag and the fix, and leaves every committed version and cursor intact (skipped where tmpfs cannot be mounted)', async (test) => {
    if (!mounted) test.skip('skipped: cannot mount a tmpfs here (needs root); the error text is covered by run-errors tests');
    expect.hasAssertions();
    const lake = { ...dirs, lakehouse: path.join(root, 'lakehouse') };
    await runFixture(lake, { tables: ['items', 'events', 'logs'], dataset: { itemChanges: 150, events: 100, logs: 90 } });
    const before = new Map<string, string[]>();
    const cursors = new Map<string, unknown>();
    // --tables items selects every destination fed by source table items (items and items_history).
    for (const table of ['items', 'items_history', 'events', 'logs']) {
      before.set(table, await tableRows(lake.lakehouse, table));
      cursors.set(table, await committedCursor(lake.lakehouse, table));
    }
    // Fill the disk to the last few KiB: every data file of the next run fails with a real ENOSPC.
    const filler = path.join(root, 'filler');
    await writeFile(filler, Buffer.alloc(1));
    for (let chunk = 256 * 1024; chunk >= 1024; chunk >>= 1) {
      for (;;) {
        try {
          await writeFile(filler, Buffer.alloc(chunk), { flag: 'a' });
        } catch {
          break;
        }
      }
    }
    // Completely full: found before the first API call and the first write, as a configuration problem.
    await expect(runFixture(lake, { tables: ['items', 'events', 'logs'] })).rejects.toThrow(/--lakehouse .*ENOSPC.*free space/);
    // Nearly full (the write probe fits, data files do not): each table fails at its first data file.
    await truncate(filler, (await stat(filler)).size - 16 * 1024);
    const more = { itemChanges: 300, events: 200, logs: 180 };
    const report = await runFixture(lake, { tables: ['items', 'events', 'logs'], dataset: more });
    expect(exitCodeForReport(report)).toBe(1);
    // A table whose files still fit commits; every other one fails at a data file, and keeps its last version.
    const failed = report.tables.filter((t) => t.status === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const t of report.tables) expect(['ok', 'failed']).toContain(t.status);
    for (const t of failed) {
      expect(t.error?.code).toBe('ENOSPC');
      expect(t.error?.message).toMatch(/^ENOSPC at .* \(--lakehouse\): the disk is full: free space there and re-run; every committed table version and cursor is intact$/);
      // Calls committed before the failure stay (each with its cursor); a table that committed none is unchanged.
      if (t.commits === 0) {
        expect(await tableRows(lake.lakehouse, t.table)).toEqual(before.get(t.table));
        expect(await committedCursor(lake.lakehouse, t.table)).toEqual(cursors.get(t.table));
      } else expect(await committedCursor(lake.lakehouse, t.table)).toEqual(t.cursorAfter);
    }
    await rm(filler);
    expect(await strayFiles(lake.lakehouse)).toEqual([]);
    // Space is back: the next run completes and equals a clean run.
    const after = await runFixture(lake, { tables: ['items', 'events', 'logs'], dataset: more });
    expect(after.status).toBe('ok');
    const clean = await tempDirs();
    try {
      await runFixture(clean, { tables: ['items', 'events', 'logs'], dataset: more });
      for (const table of ['items', 'items_history', 'events', 'logs']) expect(await tableRows(lake.lakehouse, table)).toEqual(await tableRows(clean.lakehouse, table));
    } finally {
      await clean.cleanup();
    }
  });
});

describe('the cursor lives in the table', () => {
  it('a run with an empty or lost --state folder reads nothing twice and loses nothing', async () => {
    expect.hasAssertions();
    await runFixture(dirs, { dataset: { itemChanges: 150, events: 100, logs: 200 } });
    await rm(dirs.state, { recursive: true, force: true });
    const again = await runFixture(dirs, { dataset: { itemChanges: 150, events: 100, logs: 200 } });
    for (const t of again.tables.filter((t) => t.ingestionType !== 'snapshot')) {
      expect(t.rowsRead, t.table).toBe(0);
      expect(t.commits, t.table).toBe(0);
    }
    await rm(dirs.state, { recursive: true, force: true });
    const more = await runFixture(dirs, { dataset: { itemChanges: 220, events: 160, logs: 260 } });
    expect(more.tables.find((t) => t.table === 'logs')!.rowsRead).toBe(60);
    const clean = await tempDirs();
    try {
      await runFixture(clean, { dataset: { itemChanges: 220, events: 160, logs: 260 } });
      for (const table of ['items', 'items_history', 'events', 'logs', 'members']) expect(await tableRows(dirs.lakehouse, table), table).toEqual(await tableRows(clean.lakehouse, table));
    } finally {
      await clean.cleanup();
    }
  });
});

describe('exit codes', () => {
  it('maps a table failing on configuration to 2 and a spec error to 2', async () => {
    expect.hasAssertions();
    const spec = { connection_name: 'memory', objects: [{ table: { source_table: 'logs', table_configuration: { page_size: 'many' } } }] };
    const report = await runFixture(dirs, { spec });
    expect(report.tables[0]!.error).toMatchObject({ code: 'FIXTURE_BAD_OPTION', kind: 'config' });
    expect(exitCodeForReport(report)).toBe(2);
    expect(exitCodeForError(new ConfigError('x', { code: 'SPEC_BAD_VALUE' }))).toBe(2);
  });
});
