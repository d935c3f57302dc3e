/**
 * Lost files and `repair` (issue 16 Deliver 6), against the emulator: a live data file deleted from storage (one
 * `events` partition; engage's single file) or changed in size is found before the run writes: the run exits 1,
 * names the table, the file and `mixpanel-lakeflow repair <table>`, and commits nothing to that table.
 * `repair <table>` removes the lost files from the Delta log in one commit and reads again what they held (events:
 * the lost event dates in full through the source's rereadCursor; engage: from the start), and the table then
 * equals a clean run's. And an error right after a commit reached the log never deletes that commit's files.
 */
import { appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator, type Emulator, type IngestEvent } from '../emulator/index.js';
import { parsePipelineSpec, runPipeline, type RunReport } from '../runner/index.js';
import { runCli } from '../runner/testing/cli-child.js';
import { liveFiles, query, deltaScan, tableRows } from '../runner/testing/duckdb.js';
import { logCommits, txnProblems } from '../runner/testing/delta-log.js';
import { captureLogger, runFixture, tempDirs, type Dirs } from '../runner/testing/harness.js';
import type { FaultInjector } from '../runner/index.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../sources/mixpanel/index.js';

const DAY = 86_400_000;
const SPEC = {
  connection_name: 'repair_test',
  objects: [{ table: { source_table: 'events', table_configuration: { safety_lag: '0' } } }, { table: { source_table: 'engage' } }],
};

let emulator: Emulator;
let env: Record<string, string>;
let clean: Dirs;
const cleanRows = new Map<string, string[]>();
const cleanups: (() => Promise<void>)[] = [];

function runInProcess(dirs: Dirs, options: { readonly repair?: readonly string[] } = {}): Promise<RunReport> {
  const source = createMixpanelSource(mixpanelConfigFromEnv({ ...env, MIXPANEL_PARSE_WORKERS: '0' }));
  return runPipeline({
    spec: parsePipelineSpec(JSON.stringify(SPEC), 'pipeline_spec.json'),
    source,
    lakehouse: dirs.lakehouse,
    stateDir: dirs.state,
    env: {},
    logger: captureLogger(),
    maxWaitMs: 0,
    ...(options.repair ? { repair: options.repair, tables: options.repair } : {}),
  }).finally(() => source.close?.());
}

async function newLakehouse(): Promise<Dirs> {
  const dirs = await tempDirs('lakeflow-repair-');
  cleanups.push(() => dirs.cleanup());
  const report = await runInProcess(dirs);
  expect(report.status).toBe('ok');
  return dirs;
}

async function partitionCounts(lakehouse: string): Promise<Map<string, number>> {
  const rows = await query(`SELECT event_date::VARCHAR AS d, count(*)::INT AS n FROM ${await deltaScan(lakehouse, 'events')} GROUP BY 1`);
  return new Map(rows.map((r) => [String(r['d']), Number(r['n'])]));
}

beforeAll(async () => {
  // Runs follow each other within a second: Mixpanel's per-second export limit is not what these tests are about.
  // The data clock stands still: a generated profile's `$last_seen` ticks with it, and a tick between the clean
  // run and a repair (a few minutes apart on a loaded machine) would be a real change, not a repair's fault.
  const now = Date.now();
  emulator = await startEmulator({ profiles: 300, seed: 11, limits: NO_RATE_LIMITS, now: () => now });
  const events: IngestEvent[] = [];
  for (let i = 0; i < 900; i++) {
    events.push({ event: i % 5 === 0 ? 'Signed up' : 'Viewed page', properties: { time: now - 120_000 - Math.floor((i / 900) * 3.5 * DAY), distinct_id: `user-${i % 53}`, $insert_id: `repair-${i}`, i } });
  }
  // Events processed at different times: a re-read of a date must not depend on the watermark.
  emulator.data.importEvents(events.slice(0, 500), { processingTimeMs: now - 2 * DAY });
  emulator.data.importEvents(events.slice(500), { processingTimeMs: now - 60_000 });
  env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '4' };
  clean = await newLakehouse();
  for (const table of ['events', 'engage']) cleanRows.set(table, await tableRows(clean.lakehouse, table));
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await emulator?.close();
});

describe('a lost events partition file, through the CLI', () => {
  it('the run exits 1 naming the table, the file and repair, commits nothing; repair (even SIGKILLed after its first commit) re-reads that date in full and the table equals a clean run', async () => {
    const dirs = await newLakehouse();
    const files = await liveFiles(dirs.lakehouse, 'events');
    const counts = await partitionCounts(dirs.lakehouse);
    const perDate = new Map<string, string[]>();
    for (const f of files) perDate.set(String(f.partitionValues['event_date']), [...(perDate.get(String(f.partitionValues['event_date'])) ?? []), f.path]);
    // A date in the middle, read by the first run, not within the last days' re-scan only.
    const lostDate = [...perDate.keys()].sort()[1]!;
    const lost = perDate.get(lostDate)!;
    expect(counts.get(lostDate)).toBeGreaterThan(50);
    for (const f of lost) await rm(path.join(dirs.lakehouse, 'events', f));
    const commitsBefore = (await logCommits(dirs.lakehouse, 'events')).length;

    const spec = path.join(dirs.root, 'pipeline_spec.json');
    await writeFile(spec, JSON.stringify(SPEC));
    const args = ['--spec', spec, '--lakehouse', dirs.lakehouse, '--state', dirs.state, '--log-format', 'json'];
    const exportsBeforeFailure = emulator.log.forRoute('export').length;
    const failed = await runCli(['run', ...args], env);
    expect(failed.code, failed.stderr.slice(-3000)).toBe(1);
    expect(emulator.log.forRoute('export').length, 'events asked Mixpanel nothing').toBe(exportsBeforeFailure);
    const said = failed.stdout + failed.stderr;
    expect(said).toContain('RUNNER_FILES_LOST');
    expect(said).toContain(`${dirs.lakehouse}/events`);
    for (const f of lost) expect(said).toContain(f);
    expect(said).toContain('mixpanel-lakeflow repair events');
    expect((await logCommits(dirs.lakehouse, 'events')).length, 'nothing committed to events').toBe(commitsBefore);

    const exportsBefore = emulator.log.forRoute('export').length;
    // A repair SIGKILLed right after its first commit: the lost files are out of the log, nothing is re-read yet.
    const killed = await runCli(['repair', 'events', ...args], { ...env, LAKEFLOW_TEST_CRASH_AT: 'committed:1' });
    expect(killed.signal, killed.stderr.slice(-3000)).toBe('SIGKILL');
    const [del] = (await logCommits(dirs.lakehouse, 'events')).slice(commitsBefore);
    expect(del, 'one commit removes the lost files').toMatchObject({ operation: 'DELETE', adds: [] });
    expect([...del!.removes].sort()).toEqual([...lost].sort());
    expect(emulator.log.forRoute('export').length).toBe(exportsBefore);
    // The re-read is in the committed cursor, so the next run (a repair with nothing lost any more) carries it out.
    const repaired = await runCli(['repair', 'events', ...args], env);
    expect(repaired.code, repaired.stderr.slice(-3000)).toBe(0);
    expect(repaired.stdout + repaired.stderr).not.toContain(emulator.project.apiSecret);

    const commits = await logCommits(dirs.lakehouse, 'events');
    expect(txnProblems(commits)).toEqual([]);
    expect(commits.slice(commitsBefore).filter((c) => c.operation === 'DELETE')).toHaveLength(1);
    expect(commits.length).toBeGreaterThan(commitsBefore + 1);
    // What the repair asked Mixpanel: first the lost date in full (no lower processing-time bound, up to the
    // watermark), then the ordinary incremental read from that same watermark.
    const watermark = (del!.info?.['cursor'] as { watermark_ms: number }).watermark_ms;
    const exports = emulator.log.forRoute('export').slice(exportsBefore);
    expect(exports[0]!.params).toMatchObject({ from_date: lostDate, to_date: lostDate });
    expect(exports[0]!.params['where']).toBe(`properties["mp_processing_time_ms"] <= ${watermark}`);
    for (const e of exports.slice(1)) expect(e.params['where']).toContain(`properties["mp_processing_time_ms"] > ${watermark}`);

    expect(await partitionCounts(dirs.lakehouse)).toEqual(counts);
    expect(await tableRows(dirs.lakehouse, 'events')).toEqual(cleanRows.get('events'));
    // And the next run is an ordinary one again.
    const next = await runCli(['run', ...args], env);
    expect(next.code, next.stderr.slice(-3000)).toBe(0);
    expect(await tableRows(dirs.lakehouse, 'events')).toEqual(cleanRows.get('events'));
  });
});

describe('lost and resized files, in process', () => {
  it("engage's single file deleted: the run fails engage only (not 300 → 1 profiles); repair engage reads it again", async () => {
    const dirs = await newLakehouse();
    const files = await liveFiles(dirs.lakehouse, 'engage');
    expect(files).toHaveLength(1);
    await rm(path.join(dirs.lakehouse, 'engage', files[0]!.path));
    const failed = await runInProcess(dirs);
    const engage = failed.tables.find((t) => t.table === 'engage')!;
    expect(engage.status).toBe('failed');
    expect(engage.commits).toBe(0);
    expect(engage.error?.code).toBe('RUNNER_FILES_LOST');
    expect(engage.error?.message).toContain(files[0]!.path);
    expect(engage.error?.message).toContain('mixpanel-lakeflow repair engage');
    expect(failed.tables.find((t) => t.table === 'events')!.status).toBe('ok');
    const repaired = await runInProcess(dirs, { repair: ['engage'] });
    expect(repaired.status).toBe('ok');
    expect(await tableRows(dirs.lakehouse, 'engage')).toEqual(cleanRows.get('engage'));
    expect(cleanRows.get('engage')).toHaveLength(300);
  });

  it('a live file whose size changed, and another deleted, are found the same way; repair makes the table equal a clean run', async () => {
    const dirs = await newLakehouse();
    const files = await liveFiles(dirs.lakehouse, 'events');
    const [resized, deleted] = [files[0]!, files[files.length - 1]!];
    await appendFile(path.join(dirs.lakehouse, 'events', resized.path), Buffer.from('not parquet'));
    await rm(path.join(dirs.lakehouse, 'events', deleted.path));
    const failed = await runInProcess(dirs);
    const events = failed.tables.find((t) => t.table === 'events')!;
    expect(events.status).toBe('failed');
    expect(events.commits).toBe(0);
    expect(events.error?.message).toMatch(new RegExp(`${resized.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ bytes, the log says \\d+\\)`));
    expect(events.error?.message).toContain(`${deleted.path} (missing)`);
    const repaired = await runInProcess(dirs, { repair: ['events'] });
    expect(repaired.status).toBe('ok');
    expect(repaired.tables[0]!.warnings.join(' ')).toContain('repair removed 2 lost file(s)');
    expect(await tableRows(dirs.lakehouse, 'events')).toEqual(cleanRows.get('events'));
    expect(txnProblems(await logCommits(dirs.lakehouse, 'events'))).toEqual([]);
  });
});

const fixtureTables = ['items', 'items_history', 'events', 'logs', 'members'];
let cleanFixture: Map<string, string[]> | undefined;

async function cleanFixtureRows(): Promise<Map<string, string[]>> {
  if (!cleanFixture) {
    const cleanRun = await tempDirs('lakeflow-fixture-clean-');
    cleanups.push(() => cleanRun.cleanup());
    await runFixture(cleanRun);
    cleanFixture = new Map();
    for (const table of fixtureTables) cleanFixture.set(table, await tableRows(cleanRun.lakehouse, table));
  }
  return cleanFixture;
}

describe('lost files and --full-refresh (fixture source)', () => {
  it('an append table names --full-refresh (repair would double rows), and --full-refresh rebuilds a table with lost files', async () => {
    const clean = await cleanFixtureRows();
    const dirs = await tempDirs('lakeflow-lost-refresh-');
    cleanups.push(() => dirs.cleanup());
    await runFixture(dirs);
    for (const table of ['logs', 'items']) await rm(path.join(dirs.lakehouse, table, (await liveFiles(dirs.lakehouse, table))[0]!.path));
    const failed = await runFixture(dirs, { tables: ['logs', 'items'] });
    const [items, logs] = [failed.tables.find((t) => t.table === 'items')!, failed.tables.find((t) => t.table === 'logs')!];
    expect(logs.error?.code).toBe('RUNNER_FILES_LOST');
    expect(logs.error?.message).toContain('mixpanel-lakeflow run --full-refresh logs');
    expect(logs.error?.message).not.toContain('repair logs');
    expect(items.error?.message).toContain('mixpanel-lakeflow repair items');
    const refreshed = await runFixture(dirs, { tables: ['logs', 'items'], fullRefresh: ['logs', 'items'] });
    expect(refreshed.status, JSON.stringify(refreshed.tables.map((t) => t.error?.message))).toBe('ok');
    for (const table of ['logs', 'items']) expect(await tableRows(dirs.lakehouse, table), table).toEqual(clean.get(table));
  });
});

describe('an error right after a commit landed', () => {

  it.each([2, 7])('fails the table but keeps that commit and its files (error at committed:%i); the next run equals a clean run', async (n) => {
    const clean = await cleanFixtureRows();
    const dirs = await tempDirs('lakeflow-after-commit-');
    cleanups.push(() => dirs.cleanup());
    let seen = 0;
    // The commit is in the log; what follows it (re-reading the snapshot, checking the files) fails, as a store
    // error would.
    const faults: FaultInjector = {
      check(point) {
        if (point === 'committed' && ++seen === n) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      },
    };
    const failed = await runFixture(dirs, { faults });
    expect(failed.tables.filter((t) => t.status === 'failed').map((t) => t.error?.code)).toEqual(['EIO']);
    const next = await runFixture(dirs);
    expect(next.status, JSON.stringify(next.tables.map((t) => t.error?.message))).toBe('ok');
    for (const table of fixtureTables) expect(await tableRows(dirs.lakehouse, table), table).toEqual(clean.get(table));
  });
});
