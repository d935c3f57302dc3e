/**
 * Issue 16 "Acceptance", against the emulator, read back the way outside engines read Delta (DuckDB replaying the
 * log, runner/testing/duckdb.ts):
 * - each table's rows equal the distinct upstream records, and every live file's stats.numRecords equals its row
 *   count;
 * - a late event (old `time`, new processing time) plus a re-sent copy of an existing event (same event,
 *   distinct_id, time and $insert_id, later processing time): the next run adds exactly one row, in a new table
 *   version, with the txn version advanced by the number of commits, and one row per dedupe key;
 * - deleting --state between CLI runs reads nothing twice (events: the one nothing-new export call) and loses
 *   nothing.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator, type Emulator, type IngestEvent } from '../emulator/index.js';
import { parsePipelineSpec, runPipeline, type RunReport } from '../runner/index.js';
import { runCli } from '../runner/testing/cli-child.js';
import { committedCursor, deltaScan, liveFiles, query } from '../runner/testing/duckdb.js';
import { logCommits, txnProblems } from '../runner/testing/delta-log.js';
import { captureLogger, tempDirs, type Dirs } from '../runner/testing/harness.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../sources/mixpanel/index.js';

const DAY = 86_400_000;
const SPEC = { connection_name: 'acceptance', objects: [{ table: { source_table: 'events', table_configuration: { safety_lag: '0' } } }] };
const APP = 'acceptance/events';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function seed(prefix: string, count: number, now: number): IngestEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    event: i % 4 === 0 ? 'Signed up' : 'Viewed page',
    properties: { time: now - 120_000 - Math.floor((i / count) * 2.5 * DAY), distinct_id: `user-${i % 37}`, $insert_id: `${prefix}-${i}`, plan: i % 3 === 0 ? 'pro' : 'free', n: i },
  }));
}

/** The distinct $insert_ids upstream holds for the dates the table covers (all seeded events carry one). */
function upstreamIds(emulator: Emulator, days: number): string[] {
  const date = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
  const ids = emulator.data.exportEvents({ fromDate: date(Date.now() - days * DAY), toDate: date(Date.now()) }).map((e) => String(e.properties['$insert_id']));
  return [...new Set(ids)].sort();
}

async function tableIds(lakehouse: string): Promise<{ ids: string[]; rows: number; keys: number }> {
  const scan = await deltaScan(lakehouse, 'events');
  const [counts] = await query(`SELECT count(*)::INT AS rows, count(DISTINCT dedupe_key)::INT AS keys FROM ${scan}`);
  const ids = (await query(`SELECT insert_id FROM ${scan} ORDER BY insert_id`)).map((r) => String(r['insert_id']));
  return { ids: [...ids].sort(), rows: Number(counts!['rows']), keys: Number(counts!['keys']) };
}

/** Every live file's stats.numRecords against DuckDB's count of its rows. */
async function expectStatsMatchRows(lakehouse: string): Promise<void> {
  const files = await liveFiles(lakehouse, 'events');
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    const [row] = await query(`SELECT count(*)::INT AS n FROM read_parquet('${path.join(lakehouse, 'events', f.path).replaceAll("'", "''")}')`);
    expect(f.numRecords, f.path).toBe(Number(row!['n']));
  }
}

describe('a late event plus a re-sent copy of an existing one', () => {
  let emulator: Emulator;
  let dirs: Dirs;

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 21, limits: NO_RATE_LIMITS });
    dirs = await tempDirs('lakeflow-acceptance-late-');
    cleanups.push(async () => {
      await emulator.close();
      await dirs.cleanup();
    });
  });

  function run(): Promise<RunReport> {
    const env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '3', MIXPANEL_PARSE_WORKERS: '0' };
    const source = createMixpanelSource(mixpanelConfigFromEnv(env));
    return runPipeline({ spec: parsePipelineSpec(JSON.stringify(SPEC), 'pipeline_spec.json'), source, lakehouse: dirs.lakehouse, stateDir: dirs.state, env: {}, logger: captureLogger(), maxWaitMs: 0 }).finally(() =>
      source.close?.(),
    );
  }

  it('the next run adds exactly one row, in a new version, txn advanced by its commits; one row per dedupe key; rows = distinct upstream', async () => {
    const now = Date.now();
    const seeded = seed('seeded', 400, now);
    emulator.data.importEvents(seeded, { processingTimeMs: now - 30 * 60_000 });
    const first = await run();
    expect(first.status).toBe('ok');
    const before = await tableIds(dirs.lakehouse);
    expect(before.rows).toBe(400);
    const commitsBefore = await logCommits(dirs.lakehouse, 'events');
    const txnBefore = commitsBefore.at(-1)!.txn!.version;
    const rowsBefore = new Map((await query(`SELECT dedupe_key, md5(CAST(to_json(e) AS VARCHAR)) AS h FROM ${await deltaScan(dirs.lakehouse, 'events')} e`)).map((r) => [String(r['dedupe_key']), String(r['h'])]));

    const original = seeded[123]!;
    const late: IngestEvent = { event: 'Purchased', properties: { time: now - 2 * DAY, distinct_id: 'late-buyer', $insert_id: 'late-event', amount: 12.5 } };
    const copy: IngestEvent = { event: original.event, properties: { ...original.properties } };
    emulator.data.importEvents([late, copy], { processingTimeMs: Date.now() });
    expect(upstreamIds(emulator, 3)).toHaveLength(401);

    const second = await run();
    expect(second.status).toBe('ok');
    const t = second.tables[0]!;
    expect(t.rowsRead, 'the late event and the copy').toBe(2);
    const after = await tableIds(dirs.lakehouse);
    expect(after.rows, 'exactly one row more').toBe(before.rows + 1);
    expect(after.keys, 'one row per dedupe key').toBe(after.rows);
    expect(after.ids).toEqual(upstreamIds(emulator, 3));
    expect(after.ids.filter((id) => id === String(original.properties['$insert_id']))).toHaveLength(1);

    // A new table version per commit, the txn advanced by exactly those commits, and the cursor with them.
    const commits = await logCommits(dirs.lakehouse, 'events');
    expect(txnProblems(commits)).toEqual([]);
    const added = commits.slice(commitsBefore.length);
    expect(t.commits).toBeGreaterThanOrEqual(1);
    expect(added).toHaveLength(t.commits);
    expect(t.versionAfter).toBe(t.versionBefore + t.commits);
    expect(added.at(-1)!.txn).toEqual({ appId: APP, version: txnBefore + t.commits });

    // Every other row is untouched; the copy's key keeps one row (the original's or the copy's).
    const rowsAfter = new Map((await query(`SELECT dedupe_key, md5(CAST(to_json(e) AS VARCHAR)) AS h FROM ${await deltaScan(dirs.lakehouse, 'events')} e`)).map((r) => [String(r['dedupe_key']), String(r['h'])]));
    const changed = [...rowsBefore].filter(([k, h]) => rowsAfter.get(k) !== h);
    expect(changed.length).toBeLessThanOrEqual(1);
    expect([...rowsAfter.keys()].filter((k) => !rowsBefore.has(k))).toHaveLength(1);
    await expectStatsMatchRows(dirs.lakehouse);
  });
});

describe('deleting --state between CLI runs', () => {
  let emulator: Emulator;
  let dirs: Dirs;

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 22, limits: NO_RATE_LIMITS });
    dirs = await tempDirs('lakeflow-acceptance-state-');
    cleanups.push(async () => {
      await emulator.close();
      await dirs.cleanup();
    });
  });

  it('a run after rm -rf of the state folder reads nothing twice (one nothing-new export) and loses nothing; migrate asks Mixpanel nothing', async () => {
    const now = Date.now();
    emulator.data.importEvents(seed('state', 500, now), { processingTimeMs: now - 30 * 60_000 });
    const spec = path.join(dirs.root, 'pipeline_spec.json');
    await writeFile(spec, JSON.stringify(SPEC));
    const env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '3' };
    const args = ['run', '--spec', spec, '--lakehouse', dirs.lakehouse, '--state', dirs.state, '--log-format', 'json'];

    const first = await runCli(args, env);
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    const before = await tableIds(dirs.lakehouse);
    expect(before.ids).toEqual(upstreamIds(emulator, 3));

    const { watermark_ms: watermark } = (await committedCursor(dirs.lakehouse, 'events')) as { watermark_ms: number };
    await rm(dirs.state, { recursive: true, force: true });
    const exportsBefore = emulator.log.forRoute('export').length;
    const again = await runCli(args, env);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    const calls = emulator.log.forRoute('export').slice(exportsBefore);
    // The one call a caught-up table makes: events processed after the watermark of the first run, none there.
    expect(calls).toHaveLength(1);
    expect(calls[0]!.params['where']).toContain(`properties["mp_processing_time_ms"] > ${watermark}`);
    expect(await tableIds(dirs.lakehouse)).toEqual(before);

    // Gone again, with new events upstream: exactly they are added.
    await rm(dirs.state, { recursive: true, force: true });
    // Ingested now: processed after the last run's watermark (that run's start), as in Mixpanel.
    emulator.data.importEvents(seed('state-new', 30, Date.now()), { processingTimeMs: Date.now() });
    const third = await runCli(args, env);
    expect(third.code, third.stderr.slice(-3000)).toBe(0);
    const after = await tableIds(dirs.lakehouse);
    expect(after.rows).toBe(before.rows + 30);
    expect(after.keys).toBe(after.rows);
    expect(after.ids).toEqual(upstreamIds(emulator, 3));
    await expectStatsMatchRows(dirs.lakehouse);

    // `migrate` (convert earlier releases' tables only) asks Mixpanel nothing and changes no table.
    const requests = emulator.log.entries.length;
    const versions = (await logCommits(dirs.lakehouse, 'events')).length;
    const migrate = await runCli(['migrate', '--spec', spec, '--lakehouse', dirs.lakehouse, '--state', dirs.state, '--log-format', 'json'], env);
    expect(migrate.code, migrate.stderr.slice(-3000)).toBe(0);
    expect(emulator.log.entries.length).toBe(requests);
    expect((await logCommits(dirs.lakehouse, 'events')).length).toBe(versions);
  });
});
