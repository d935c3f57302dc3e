/**
 * Two writers on one lakehouse, each with its own --state folder (so the state lock does not keep them apart),
 * started at once: both read the same first call of every table from the same cursor, so their commits race for
 * sure (a barrier makes them meet). One commits; the other loses the put-if-absent race and either retries on the
 * fresh snapshot (the winner created the table) or stops the table cleanly (the winner moved our txn): status
 * `deferred`, exit 75. Afterwards every table equals a clean run's, row for row, and each Delta log has versions
 * 0..n and txn versions 0, 1, 2, … with no gap or duplicate. In process (runPipeline twice) and with two real
 * CLI processes against the emulator.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator, type Emulator, type IngestEvent } from '../emulator/index.js';
import { EXIT_DEFERRED, exitCodeForReport, parsePipelineSpec, runPipeline, type RunReport } from '../runner/index.js';
import { startBarrierProxy, type BarrierProxy } from '../runner/testing/barrier-proxy.js';
import { runCli } from '../runner/testing/cli-child.js';
import { deltaScan, query, tableRows } from '../runner/testing/duckdb.js';
import { logCommits, txnProblems } from '../runner/testing/delta-log.js';
import { captureLogger, runFixture, strayFiles, tempDirs, type Dirs } from '../runner/testing/harness.js';
import { FIXTURE_SPEC, type DatasetOptions } from '../runner/testing/memory-source.js';
import { FirstCallBarrier, meetingSource } from '../runner/testing/meeting-source.js';

const TABLES = ['items', 'items_history', 'events', 'logs', 'members'];
const ROUNDS: readonly DatasetOptions[] = [
  { itemChanges: 120, itemKeys: 40, events: 100, logs: 90, members: 30, generation: 0 },
  { itemChanges: 200, itemKeys: 40, events: 170, logs: 150, members: 30, generation: 1 },
  { itemChanges: 260, itemKeys: 40, events: 230, logs: 210, members: 30, generation: 2 },
];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function runWriter(lakehouse: string, stateDir: string, dataset: DatasetOptions, barrier: FirstCallBarrier): Promise<{ report: RunReport; racesLost: number }> {
  const logger = captureLogger();
  const report = await runPipeline({
    spec: parsePipelineSpec(JSON.stringify(FIXTURE_SPEC), 'fixture_spec.json'),
    source: meetingSource(dataset, barrier),
    lakehouse,
    stateDir,
    env: {},
    logger,
    retry: { attempts: 3, baseDelayMs: 1 },
    maxWaitMs: 0,
  });
  return { report, racesLost: logger.lines.filter((l) => l.msg.startsWith('lost a commit race')).length };
}

async function expectSoundLogs(lakehouse: string, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    const commits = await logCommits(lakehouse, table);
    expect(txnProblems(commits), table).toEqual([]);
    // Every file's stats.numRecords is its row count as DuckDB reads it.
    const counted = await query(`SELECT count(*)::BIGINT AS n FROM ${await deltaScan(lakehouse, table)}`);
    const live = new Set<string>();
    let statsRows = 0;
    for (const c of commits) {
      for (const r of c.removes) live.delete(r);
      for (const a of c.adds) live.add(a.path);
    }
    for (const c of commits) for (const a of c.adds) if (live.has(a.path)) statsRows += a.numRecords ?? Number.NaN;
    expect(Number(counted[0]!['n']), `${table}: rows = sum of live stats.numRecords`).toBe(statsRows);
  }
}

describe('two writers, different --state folders, one lakehouse', () => {
  it('in process, three rounds started at once: one commits, the other retries or defers (exit 75); every table equals a clean run', async () => {
    const lake = await tempDirs('lakeflow-two-writers-');
    cleanups.push(() => lake.cleanup());
    const stateB = path.join(lake.root, 'state-b');
    let lost = 0;
    for (const [round, dataset] of ROUNDS.entries()) {
      const barrier = new FirstCallBarrier();
      const writers = await Promise.all([runWriter(lake.lakehouse, lake.state, dataset, barrier), runWriter(lake.lakehouse, stateB, dataset, barrier)]);
      const reports = writers.map((w) => w.report);
      expect(barrier.met, `round ${round}: both runs reached every table`).toBe(TABLES.length);
      for (const report of reports) {
        expect([0, EXIT_DEFERRED], `round ${round}: ${JSON.stringify(report.tables.map((t) => [t.table, t.status, t.error?.message]))}`).toContain(exitCodeForReport(report));
        for (const t of report.tables) {
          expect(['ok', 'deferred'], `${t.table}: ${t.error?.message ?? ''}`).toContain(t.status);
          if (t.status === 'deferred') expect(t.warnings.join(' ')).toMatch(/another run of connection memory committed this table meanwhile/);
        }
      }
      // Each table's first commits raced (the barrier): one of the two runs lost each of them, then retried or deferred.
      const deferred = reports.flatMap((r) => r.tables.filter((t) => t.status === 'deferred'));
      const racesLost = writers.reduce((n, w) => n + w.racesLost, 0);
      lost += racesLost;
      expect(racesLost, `round ${round}: races lost`).toBeGreaterThanOrEqual(TABLES.length);
      expect(deferred.length, `round ${round}: deferred tables`).toBeLessThanOrEqual(racesLost);
      for (const table of TABLES) {
        const both = reports.map((r) => r.tables.find((t) => t.table === table)!.status);
        expect(both, `round ${round}: ${table} deferred in both runs`).not.toEqual(['deferred', 'deferred']);
      }
      const clean = await tempDirs('lakeflow-two-writers-clean-');
      try {
        await runFixture(clean, { dataset });
        for (const table of TABLES) expect(await tableRows(lake.lakehouse, table), `round ${round}: ${table}`).toEqual(await tableRows(clean.lakehouse, table));
      } finally {
        await clean.cleanup();
      }
      await expectSoundLogs(lake.lakehouse, TABLES);
    }
    expect(lost).toBeGreaterThan(0);
    expect(await strayFiles(lake.lakehouse)).toEqual([]);
  });
});

const DAY = 86_400_000;

function importBatch(emulator: Emulator, from: number, count: number, processingTimeMs: number): void {
  const events: IngestEvent[] = [];
  for (let i = from; i < from + count; i++) {
    events.push({
      event: i % 3 === 0 ? 'Signed up' : 'Viewed page',
      properties: { time: processingTimeMs - 60_000 - ((i * 7919) % 1000) * (2.5 * DAY) / 1000, distinct_id: `user-${i % 41}`, $insert_id: `two-writers-${i}`, n: i },
    });
  }
  emulator.data.importEvents(events, { processingTimeMs });
}

async function runReports(stateDir: string): Promise<RunReport[]> {
  const dir = path.join(stateDir, 'runs');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as RunReport));
}

describe('two CLI processes at once (emulator)', () => {
  let emulator: Emulator;
  let proxy: BarrierProxy;
  let dataClock = Date.now();
  let dirs: Dirs;
  let specPath: string;

  beforeAll(async () => {
    // Mixpanel's per-second export limit is not what this test is about (two processes call at once on purpose).
    // The data clock moves only when the test says (a profile's `$last_seen` ticks with it; the clean run at the
    // end must read the profiles the last round read).
    emulator = await startEmulator({ profiles: 120, seed: 5, limits: NO_RATE_LIMITS, now: () => dataClock });
    proxy = await startBarrierProxy(emulator.url, { pathPrefix: '/api/2.0/export' });
    dirs = await tempDirs('lakeflow-two-cli-');
    cleanups.push(async () => {
      await proxy.close();
      await emulator.close();
      await dirs.cleanup();
    });
    specPath = path.join(dirs.root, 'pipeline_spec.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      specPath,
      JSON.stringify({
        connection_name: 'two_writers',
        objects: [{ table: { source_table: 'events', table_configuration: { safety_lag: '0', window_days: '1' } } }, { table: { source_table: 'engage' } }],
      }),
    );
  });

  it('two real processes, two rounds: every run exits 0 or 75 and the tables equal one clean run', async () => {
    const env = { MIXPANEL_BASE_URL: proxy.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '3' };
    const args = (lakehouse: string, state: string): string[] => ['run', '--spec', specPath, '--lakehouse', lakehouse, '--state', state, '--log-format', 'json', '--max-wait', '0s'];
    const states = [path.join(dirs.root, 'state-a'), path.join(dirs.root, 'state-b')];
    const now = Date.now();
    importBatch(emulator, 0, 400, now - 30 * 60_000);
    dataClock = now;
    for (const round of [0, 1]) {
      if (round === 1) {
        const at = Date.now();
        importBatch(emulator, 400, 150, at);
        dataClock = at;
      }
      proxy.arm(2);
      const results = await Promise.all(states.map((state) => runCli(args(dirs.lakehouse, state), env)));
      for (const r of results) expect([0, EXIT_DEFERRED], r.stderr.slice(-2000)).toContain(r.code);
      const reports = (await Promise.all(states.map(runReports))).map((list) => list[round]!);
      const deferred = reports.flatMap((r) => r.tables.filter((t) => t.status === 'deferred'));
      for (const t of deferred) expect(t.warnings.join(' ')).toMatch(/another run of connection two_writers committed this table meanwhile/);
      const events = reports.map((r) => r.tables.find((t) => t.table === 'events')!);
      // Both read the first slice from the same cursor (the barrier): one of them lost that race.
      expect(results.filter((r) => r.stderr.includes('lost a commit race')).length, `round ${round}`).toBeGreaterThanOrEqual(1);
      expect(events.map((t) => t.status), `round ${round}: events deferred in both`).not.toEqual(['deferred', 'deferred']);
    }
    expect(proxy.met).toBe(2);
    const clean = path.join(dirs.root, 'clean');
    const single = await runCli(args(clean, path.join(dirs.root, 'state-clean')), { ...env, MIXPANEL_BASE_URL: emulator.url });
    expect(single.code, single.stderr.slice(-2000)).toBe(0);
    for (const table of ['events', 'engage']) expect(await tableRows(dirs.lakehouse, table), table).toEqual(await tableRows(clean, table));
    expect((await tableRows(dirs.lakehouse, 'events')).length).toBe(550);
    await expectSoundLogs(dirs.lakehouse, ['events', 'engage']);
    await rm(clean, { recursive: true, force: true });
  });
});
