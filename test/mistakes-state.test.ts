/**
 * Issue 19 findings 1 and 7, through the real CLI against the emulator, read back by DuckDB through the Delta log.
 * 1. A damaged --state folder never costs data nor needs a person: with the cursors in the tables' Delta logs,
 *    the folder holds the lock, schedule.json and run reports; garbage in every one of them is taken over or
 *    ignored, the next run reads exactly what is new, and no message suggests --full-refresh.
 * 7. File-system errors name the path, the flag and the fix, never a bare errno or UNEXPECTED: a folder in the
 *    way of the lock or the schedule (exit 2 before any call), a state disk that fills up during a run (the
 *    tables stay committed), a lakehouse disk that fills up during a run (the run report's error.code; nothing
 *    committed; after freeing space the next run adds every event once).
 */
import { cp, mkdir, mkdtemp, readdir, rm, statfs, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type IngestEvent } from '../emulator/index.js';
import { runCli } from '../runner/testing/cli-child.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';
import { lines, mountTmpfs, printedReport, treeDigest, unmount } from './helpers/mistakes-cli.js';

const DAY = 86_400_000;
const SPEC = { connection_name: 'state_mistakes', objects: [{ table: { source_table: 'events', table_configuration: { safety_lag: '0' } } }] };

let emulator: Emulator;
let duck: Duck;
let root: string;
let template: string;
let env: Record<string, string>;
let seq = 0;
const mounts: string[] = [];

/** `count` new events dated over the last two days, processed now. */
function importEvents(count: number): void {
  const now = Date.now();
  const events: IngestEvent[] = [];
  for (let i = 0; i < count; i++, seq++) {
    events.push({ event: 'Viewed', properties: { time: now - ((seq * 7919) % (2 * DAY - 120_000)) - 60_000, distinct_id: `u-${seq % 31}`, $insert_id: `st-${seq}`, n: seq } });
  }
  // Processing time = now, as Mixpanel stamps new events: after every earlier run's watermark.
  emulator.data.importEvents(events);
}

async function caseDir(name: string): Promise<{ dir: string; lakehouse: string; state: string; spec: string }> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await cp(template, dir, { recursive: true });
  return { dir, lakehouse: path.join(dir, 'lakehouse'), state: path.join(dir, 'state'), spec: path.join(dir, 'spec.json') };
}

const runArgs = (c: { lakehouse: string; state: string; spec: string }, ...extra: string[]): string[] => ['run', '--spec', c.spec, '--lakehouse', c.lakehouse, '--state', c.state, '--log-format', 'json', ...extra];

async function eventRows(lakehouse: string): Promise<Map<string, string>> {
  const rows = await duck.all(`SELECT dedupe_key, md5(CAST(to_json(e) AS VARCHAR)) AS h FROM ${await tableScan(lakehouse, 'events')} e`);
  return new Map(rows.map((r) => [String(r['dedupe_key']), String(r['h'])]));
}

async function insertIds(lakehouse: string): Promise<string[]> {
  const rows = await duck.all(`SELECT insert_id FROM ${await tableScan(lakehouse, 'events')} ORDER BY insert_id`);
  return rows.map((r) => String(r['insert_id']));
}

const allIds = (): string[] => Array.from({ length: seq }, (_, i) => `st-${i}`).sort();

/** A small tmpfs at `dir`, or the reason this machine refuses one. */
async function smallDisk(dir: string, size: string): Promise<string | undefined> {
  await mkdir(dir, { recursive: true });
  const refused = mountTmpfs(dir, size);
  if (refused === undefined) mounts.push(dir);
  return refused;
}

/** Fill the file system holding `dir` until `leaveBytes` are free. */
async function fill(dir: string, leaveBytes: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  await writeFile(path.join(dir, 'fill'), Buffer.alloc(Math.max(0, free - leaveBytes)));
}

beforeAll(async () => {
  emulator = await startEmulator({ seed: 7 });
  duck = await openDuck();
  root = await mkdtemp(path.join(tmpdir(), 'mistakes-state-'));
  template = path.join(root, 'template');
  await mkdir(template);
  await writeFile(path.join(template, 'spec.json'), JSON.stringify(SPEC));
  env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '3' };
  importEvents(200);
  const good = await runCli(runArgs({ spec: path.join(template, 'spec.json'), lakehouse: path.join(template, 'lakehouse'), state: path.join(template, 'state') }), env);
  expect(good.code, good.stderr).toBe(0);
  expect(await insertIds(path.join(template, 'lakehouse'))).toEqual(allIds());
}, 120_000);

afterEach(() => {
  for (const dir of mounts.splice(0)) unmount(dir);
});

afterAll(async () => {
  duck?.close();
  await emulator?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('finding 1: a damaged --state folder never costs data nor needs a person', () => {
  it('garbage in every file of --state (lock, schedule.json, run reports): the next run exits 0, adds exactly the new events, and never suggests --full-refresh', async () => {
    const c = await caseDir('garbage');
    const files = (await readdir(c.state, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    await writeFile(path.join(c.state, '.lock'), '');
    files.push(path.join(c.state, '.lock'));
    expect(files.map((f) => path.relative(c.state, f)).sort()).toEqual(expect.arrayContaining(['.lock', 'schedule.json', expect.stringMatching(/^runs\/.+\.json$/) as unknown]));
    // Written an hour ago, as a crash mid-write leaves them (a lock written just now: the next test).
    const anHourAgo = new Date(Date.now() - 3_600_000);
    for (const [i, file] of files.entries()) {
      await writeFile(file, i % 2 === 0 ? '{"format": 1, "tables": {"events": ' : '\u0000\u0001garbage\n');
      await utimes(file, anHourAgo, anHourAgo);
    }
    const before = await eventRows(c.lakehouse);
    importEvents(30);
    const result = await runCli(runArgs(c), env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr + result.stdout).not.toMatch(/full-refresh/);
    expect(result.stderr).toMatch(/taking over a stale lock/);
    // Nothing lost, nothing doubled, every row that was there unchanged, the new events added once.
    const after = await eventRows(c.lakehouse);
    for (const [key, hash] of before) expect(after.get(key), key).toBe(hash);
    expect(await insertIds(c.lakehouse)).toEqual(allIds());
    // The next run needs no person either: the state folder was rewritten.
    const again = await runCli(runArgs(c), env);
    expect(again.code, again.stderr).toBe(0);
    expect((await printedReport(again.stdout)).tables[0]!['rowsWritten']).toBe(0);
  });

  it('a garbage lock written just now: a run waits out the lease (--lock-lease 3) and runs; no message suggests --full-refresh', async () => {
    const c = await caseDir('fresh-lock');
    await writeFile(path.join(c.state, '.lock'), 'garbage');
    importEvents(5);
    // --lock-lease is in seconds: it once became milliseconds twice (a 50-minute lease here), and the run deferred.
    const result = await runCli(runArgs(c, '--lock-lease', '3', '--max-wait', '30s'), env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/"reason":"unreadable lock file older than the lease"/);
    expect(result.stderr + result.stdout).not.toMatch(/full-refresh/);
    expect(await insertIds(c.lakehouse)).toEqual(allIds());
  });
});

describe('finding 7: file-system errors name the path, the flag and the fix', () => {
  for (const file of ['.lock', 'schedule.json']) {
    it(`a folder where ${file} belongs: exit 2 before any API call, naming --state, the path and the fix; nothing changed`, async () => {
      const c = await caseDir(`folder-${file}`);
      await rm(path.join(c.state, file), { force: true });
      await mkdir(path.join(c.state, file, 'inside'), { recursive: true });
      const before = await treeDigest(c.dir);
      emulator.log.clear();
      const result = await runCli(runArgs(c), env);
      expect(emulator.log.entries).toEqual([]);
      expect(await treeDigest(c.dir)).toEqual(before);
      expect(result.code, result.stderr).toBe(2);
      const message = lines(result.stderr);
      expect(message).toHaveLength(1);
      expect(message[0]).toContain(`--state ${c.state}: cannot`);
      expect(message[0]).toContain(path.join(c.state, file));
      expect(message[0]).toMatch(/move it out of the folder .*or point --state elsewhere/);
    });
  }

  it('a state disk that fills up during the run: the table is committed, and the message names --state, the file and the fix', async (ctx) => {
    const c = await caseDir('state-fills');
    const disk = path.join(c.dir, 'disk');
    const refused = await smallDisk(disk, '256k');
    if (refused !== undefined) return ctx.skip(refused);
    const state = path.join(disk, 'state');
    await cp(c.state, state, { recursive: true });
    importEvents(20);
    // The export answers after 1.5 s: time to fill the state disk once the run holds its lock and reads.
    const slow = emulator.faults.add({ route: 'export', action: { kind: 'slow-headers', delayMs: 1500 } });
    emulator.log.clear();
    const running = runCli(runArgs({ ...c, state }), env);
    try {
      await expect.poll(() => emulator.log.entries.length, { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
      await fill(disk, 0);
    } finally {
      slow.remove();
    }
    const result = await running;
    expect(result.code, result.stderr).toBe(2);
    const message = lines(result.stderr).filter((l) => !l.startsWith('{'));
    expect(message).toHaveLength(1);
    expect(message[0]).toMatch(new RegExp(`--state ${state}: cannot write ${state}/(schedule\\.json|runs) .*\\(ENOSPC\\): the disk is full: free space there, or point --state elsewhere; every committed table version and cursor is intact`));
    expect(message[0]).not.toMatch(/UNEXPECTED|full-refresh/);
    // No temp file left behind on the full disk, and the events are committed.
    expect((await readdir(state, { recursive: true })).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await insertIds(c.lakehouse)).toEqual(allIds());
  });

  it('a lakehouse disk that fills up during the run: ENOSPC (not UNEXPECTED) naming the path, --lakehouse and the fix, nothing committed; with space again the next run adds every event once', async (ctx) => {
    const c = await caseDir('lakehouse-fills');
    const disk = path.join(c.dir, 'disk');
    const refused = await smallDisk(disk, '4m');
    if (refused !== undefined) return ctx.skip(refused);
    const lakehouse = path.join(disk, 'lakehouse');
    await cp(c.lakehouse, lakehouse, { recursive: true });
    const before = await eventRows(lakehouse);
    importEvents(3000);
    await fill(disk, 8 * 1024);
    const deltaLog = await treeDigest(path.join(lakehouse, 'events', '_delta_log'));
    const full = await runCli(runArgs({ ...c, lakehouse }), env);
    expect(full.code, full.stderr).toBe(1);
    const report = await printedReport(full.stdout);
    const error = report.tables[0]!['error'] as { code: string; message: string };
    expect(error.code).not.toBe('UNEXPECTED');
    expect(error.code).toMatch(/ENOSPC|DISK_FULL|NO_SPACE/);
    expect(error.message).toContain(disk);
    expect(error.message).toMatch(/--lakehouse/);
    expect(error.message).toMatch(/disk .*full.*free space/);
    expect(await treeDigest(path.join(lakehouse, 'events', '_delta_log'))).toEqual(deltaLog);
    expect(await eventRows(lakehouse)).toEqual(before);

    await rm(path.join(disk, 'fill'));
    const freed = await runCli(runArgs({ ...c, lakehouse }), env);
    expect(freed.code, freed.stderr).toBe(0);
    const after = await eventRows(lakehouse);
    for (const [key, hash] of before) expect(after.get(key), key).toBe(hash);
    expect(await insertIds(lakehouse)).toEqual(allIds());
  });
});
