import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, TransientError } from '../connector-spec/index.js';
import { parseState } from './cursor-store.js';
import type { FaultInjector } from './faults.js';
import { exitCodeForError, exitCodeForReport } from './index.js';
import { glob, query, tableRows } from './testing/duckdb.js';
import { captureLogger, runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const stateOf = async (table: string) => JSON.parse(await readFile(path.join(dirs.state, `${table}.json`), 'utf8')) as Record<string, unknown>;

describe('lock per state folder', () => {
  it('refuses an overlapping run at once, naming the holder pid and start time', async () => {
    expect.hasAssertions();
    const results = await Promise.allSettled([runFixture(dirs, { tables: ['logs'] }), runFixture(dirs, { tables: ['logs'] })]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    const error = rejected[0]!.reason as TransientError;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.code).toBe('RUNNER_LOCKED');
    expect(error.message).toMatch(new RegExp(`another run holds .*\\.lock \\(pid ${process.pid} on .*, started \\d{4}-\\d\\d-\\d\\dT.*\\); wait for it to finish`));
    expect(exitCodeForError(error)).toBe(1);
  });

  it('refuses while a live process holds the lock file', async () => {
    expect.hasAssertions();
    await mkdir(dirs.state, { recursive: true });
    // Another live process (a lock naming our own pid in the old format is an earlier incarnation's: taken over).
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const holder = { pid: sleeper.pid, startedAt: '2026-11-23T01:02:03.000Z', hostname: os.hostname() };
      await writeFile(path.join(dirs.state, '.lock'), JSON.stringify(holder));
      await expect(runFixture(dirs, { tables: ['logs'] })).rejects.toThrow(`pid ${sleeper.pid} on ${os.hostname()}, started 2026-11-23T01:02:03.000Z`);
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
    expect(logger.lines.find((l) => l.msg === 'taking over a stale lock')?.fields).toMatchObject({ stalePid: deadPid, reason: 'process is not running' });
    await expect(readFile(path.join(dirs.state, '.lock'))).rejects.toThrow(/ENOENT/);
  });
});

describe('disk full / write error', () => {
  it('fails with a clear error and leaves the previous table files and cursor intact and readable', async () => {
    expect.hasAssertions();
    const first = { itemChanges: 150, events: 100, logs: 90 };
    await runFixture(dirs, { dataset: first });
    const before = new Map<string, string[]>();
    const cursors = new Map<string, unknown>();
    for (const table of ['items', 'events', 'logs']) {
      before.set(table, await tableRows(dirs.lakehouse, table));
      cursors.set(table, (await stateOf(table))['cursor']);
    }
    // The disk is full: every Parquet write of this run fails.
    let writes = 0;
    const diskFull: FaultInjector = {
      check(point) {
        if (point === 'parquet-write' && ++writes >= 1) {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
        }
      },
    };
    const report = await runFixture(dirs, { faults: diskFull, tables: ['items', 'events', 'logs'] });
    expect(exitCodeForReport(report)).toBe(1);
    for (const t of report.tables) {
      expect(t.status).toBe('failed');
      expect(t.error?.code).toBe('ENOSPC');
      expect(t.error?.message).toMatch(/^disk full while writing \(ENOSPC: no space left on device, write\); free space under .* and re-run: the previous table files and cursor are intact$/);
    }
    for (const table of ['items', 'events', 'logs']) {
      expect(await tableRows(dirs.lakehouse, table)).toEqual(before.get(table));
      expect((await stateOf(table))['cursor']).toEqual(cursors.get(table));
    }
    expect(await strayFiles(dirs.lakehouse)).toEqual([]);
    // Space is back: the next run completes and equals a clean run.
    const after = await runFixture(dirs, { tables: ['items', 'events', 'logs'] });
    expect(after.status).toBe('ok');
    const clean = await tempDirs();
    try {
      await runFixture(clean, { tables: ['items', 'events', 'logs'] });
      for (const table of ['items', 'events', 'logs']) expect(await tableRows(dirs.lakehouse, table)).toEqual(await tableRows(clean.lakehouse, table));
    } finally {
      await clean.cleanup();
    }
  });
});

describe('state versioning', () => {
  it('reads a format-0 state file ({ "cursor": … }) and continues from its cursor, rewriting it as format 1', async () => {
    expect.hasAssertions();
    await mkdir(dirs.state, { recursive: true });
    await writeFile(path.join(dirs.state, 'logs.json'), JSON.stringify({ cursor: { offset: 200 } }));
    const report = await runFixture(dirs, { tables: ['logs'] });
    const logs = report.tables[0]!;
    expect(logs.cursorBefore).toEqual({ offset: 200 });
    expect(logs.rowsRead).toBe(50);
    expect(logs.warnings.join(' ')).toContain('format 0');
    expect(await stateOf('logs')).toMatchObject({ format: 1, table: 'logs', version: 0, cursor: { offset: 250 } });
    const [row] = await query(`SELECT min(seq)::INT lo, count(*)::INT n FROM ${glob(dirs.lakehouse, 'logs')}`);
    expect(row).toEqual({ lo: 200, n: 50 });
  });

  it('rejects a state file from a newer format with the fix', () => {
    expect(() => parseState('{"format": 7, "version": 1}', 'state/logs.json', 'logs')).toThrow('state/logs.json: state format 7 is newer than this runner understands (1); upgrade mixpanel-lakeflow');
    expect(() => parseState('{"cursor": 1', 'state/logs.json', 'logs')).toThrow(ConfigError);
  });

  it('a state file that lags the commit log is repaired from the log', async () => {
    expect.hasAssertions();
    await runFixture(dirs, { tables: ['logs'] });
    const current = await stateOf('logs');
    await writeFile(path.join(dirs.state, 'logs.json'), JSON.stringify({ ...current, version: 0, cursor: { offset: 100 } }));
    const report = await runFixture(dirs, { tables: ['logs'] });
    expect(report.tables[0]!.cursorBefore).toEqual({ offset: 250 });
    expect(report.tables[0]!.rowsRead).toBe(0);
    expect(await stateOf('logs')).toMatchObject({ version: current['version'], cursor: { offset: 250 } });
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
