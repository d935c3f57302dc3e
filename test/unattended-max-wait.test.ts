/**
 * --max-wait on the Mixpanel source (issue 18 Deliver 3): a run whose next call would have to wait for Mixpanel's
 * hourly budget ends instead, with its committed work kept, exit 75 and the time to retry, and the next run
 * continues and completes with every row exactly once.
 *
 * - In process: the runner and the real source against the emulator with tiny real budgets (3 exports and 5 Query
 *   calls per hour) and one fake clock (runner, source, emulator windows): the source's own pacing reaches the
 *   budget mid-table, so it throws instead of sleeping an hour; no 429 is ever sent.
 * - The real CLI: another tool used most of the project's Query budget, so Mixpanel answers a 429 whose
 *   Retry-After is about 59 minutes; the run exits 75 within seconds naming when to retry, and the next run (the
 *   emulator's rate-limit clock an hour later) completes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { EXIT_DEFERRED, EXIT_OK, exitCodeForReport, parsePipelineSpec, runPipeline, type RunReport } from '../runner/index.js';
import { captureLogger } from '../runner/testing/harness.js';
import { createMixpanelSource } from '../sources/mixpanel/index.js';
import { emulatorConfig } from '../sources/mixpanel/testing/emulator-source.js';
import { formatSummary } from '../cli/summary.js';
import { HOUR, MINUTE, emulatorCohortMembers, readCohortMembers, readEventsTable, runArgs, seedEvents, startCli } from './helpers/unattended.js';

const T0 = Date.parse('2024-06-10T12:00:00Z');

let emulator: Emulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  emulator = undefined;
  dir = undefined;
});

describe('--max-wait with the source’s own hourly pacing (in process, fake clock)', () => {
  const SPEC = {
    connection_name: 'unattended',
    objects: [
      { table: { source_table: 'events', table_configuration: { window_days: '1', lookback_days: '0' } } },
      { table: { source_table: 'engage' } },
      { table: { source_table: 'cohorts', table_configuration: { every: '6h' } } },
      { table: { source_table: 'cohort_members' } },
    ],
  };

  it('ends the run at the budget with exit 75 and retryAt, keeps the committed slices, and the next run completes exactly once', async () => {
    expect.hasAssertions();
    let t = T0;
    const sleeps: number[] = [];
    emulator = await startEmulator({
      now: () => t,
      rateLimitClock: () => t,
      profiles: 20,
      cohorts: 2,
      seed: 3,
      limits: { exportPerHour: 3, exportPerSecond: Infinity, queryPerHour: 5, hourWindowMs: HOUR },
    });
    const ids = seedEvents(emulator, { prefix: 'mw', count: 120, newestMs: T0 - 30 * MINUTE, days: 4, processingTimeMs: T0 - 20 * MINUTE });
    dir = await mkdtemp(path.join(os.tmpdir(), 'unattended-max-wait-'));
    const lakehouse = path.join(dir, 'lakehouse');
    const spec = parsePipelineSpec(JSON.stringify(SPEC), 'pipeline_spec.json');
    const run = async (): Promise<RunReport> => {
      // A new source per run, as a new process: it knows nothing of the calls of earlier runs.
      const source = createMixpanelSource(emulatorConfig(emulator!, { historicalDays: 4 }), {
        now: () => t,
        sleep: async (ms) => {
          sleeps.push(ms);
          t += ms;
        },
        limits: {
          export: { minTime: 0, maxConcurrent: 10, reservoir: 3, reservoirRefreshIntervalMs: HOUR },
          query: { minTime: 0, maxConcurrent: 5, reservoir: 5, reservoirRefreshIntervalMs: HOUR },
        },
      });
      try {
        return await runPipeline({ spec, source, lakehouse, stateDir: path.join(dir!, 'state'), env: {}, logger: captureLogger(), now: () => t, maxWaitMs: 5 * MINUTE });
      } finally {
        await source.close?.();
      }
    };

    const first = await run();
    const status = Object.fromEntries(first.tables.map((r) => [r.table, r.status]));
    expect(status).toEqual({ events: 'deferred', engage: 'ok', cohorts: 'ok', cohort_members: 'deferred' });
    expect(first.status).toBe('deferred');
    expect(exitCodeForReport(first)).toBe(EXIT_DEFERRED);
    expect(sleeps).toEqual([]); // not a single wait, let alone one of an hour
    expect(emulator.log.entries.filter((e) => e.status === 429)).toEqual([]);
    // When to retry: when this run's first call of the family leaves the hourly window.
    const byTable = new Map(first.tables.map((r) => [r.table, r]));
    const exportsAt = emulator.log.forRoute('export').map((e) => e.atMs);
    expect(exportsAt).toHaveLength(3);
    expect(byTable.get('events')!.retryAt).toBe(new Date(exportsAt[0]! + HOUR + 1).toISOString());
    expect(byTable.get('cohort_members')!.retryAt).toBe(new Date(T0 + HOUR + 1).toISOString());
    expect(byTable.get('events')!.warnings.join('\n')).toContain('raw export budget of 3 calls per hour');
    expect(formatSummary(first)).toContain(`the next try is due at ${byTable.get('cohort_members')!.retryAt}`);
    // The remaining budget, as this run counts it: cohorts was the 3rd of 5 Query calls (engage made 2).
    expect(emulator.log.forRoute('engage').filter((e) => e.params['filter_by_cohort'] === undefined)).toHaveLength(2);
    expect(byTable.get('cohorts')!.apiBudgetLeft).toBe(2);
    expect(byTable.get('events')!.apiBudgetLeft).toBe(0);

    // Committed work is kept: the three slices read (the oldest dates), each event once.
    const partial = await readEventsTable(lakehouse);
    expect(byTable.get('events')!.commits).toBe(3);
    expect(partial.rows).toBeGreaterThan(0);
    expect(partial.rows).toBeLessThan(ids.length);
    expect(partial.distinctKeys).toBe(partial.rows);
    expect(await readCohortMembers(lakehouse)).toEqual([]);

    t = T0 + HOUR + MINUTE;
    const second = await run();
    expect(second.tables.map((r) => [r.table, r.status])).toEqual([
      ['events', 'ok'],
      ['engage', 'ok'],
      ['cohorts', 'not-due'],
      ['cohort_members', 'ok'],
    ]);
    expect(exitCodeForReport(second)).toBe(EXIT_OK);
    expect(sleeps).toEqual([]);
    expect(emulator.log.entries.filter((e) => e.status === 429)).toEqual([]);
    const events = await readEventsTable(lakehouse);
    expect(events.insertIds).toEqual([...ids].sort());
    expect(events.rows).toBe(ids.length);
    expect(events.distinctKeys).toBe(ids.length);
    const members = emulatorCohortMembers(emulator);
    expect(members.length).toBeGreaterThan(0);
    expect(await readCohortMembers(lakehouse)).toEqual(members);
  });
});

describe('--max-wait with a 429 from Mixpanel (the real CLI)', () => {
  it('a run that would wait 59 minutes exits 75 within seconds and says when to retry; the next run completes', async () => {
    expect.hasAssertions();
    let shift = 0;
    emulator = await startEmulator({ profiles: 10, cohorts: 2, seed: 4, rateLimitClock: () => Date.now() + shift, limits: { queryPerHour: 4 } });
    const now = Date.now();
    const ids = seedEvents(emulator, { prefix: 'cli', count: 60, newestMs: now - 30 * MINUTE, days: 2, processingTimeMs: now - 20 * MINUTE });
    dir = await mkdtemp(path.join(os.tmpdir(), 'unattended-max-wait-cli-'));
    const spec = path.join(dir, 'pipeline_spec.json');
    await writeFile(spec, JSON.stringify({ connection_name: 'unattended', objects: [{ table: { source_table: 'events' } }, { table: { source_table: 'cohort_members' } }] }));
    const env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '3' };

    // Another tool on the same project used 3 of the 4 Query calls of this hour.
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${emulator.url}/api/query/cohorts/list`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${emulator.project.apiSecret}:`).toString('base64')}` } });
      expect(response.status).toBe(200);
    }
    const started = Date.now();
    const cli = startCli(runArgs(dir, spec), env);
    const first = await cli.exited;
    const elapsed = Date.now() - started;
    expect(first.code, cli.stderr()).toBe(EXIT_DEFERRED);
    expect(elapsed).toBeLessThan(60_000); // not the hour it would have slept (loose: this is about not waiting)
    const throttled = emulator.log.entries.filter((e) => e.status === 429);
    expect(throttled.map((e) => e.route)).toEqual(['engage']);
    const retry = /cohort_members: .*HTTP 429, hourly budget\): it can be called again in (?:1 h|59 min) \(at ([^)]+)\).*the next try is due at (\S+), after --max-wait/.exec(cli.stdout());
    expect(retry, cli.stdout()).not.toBeNull();
    expect(Date.parse(retry![1]!) - started).toBeGreaterThan(58 * MINUTE);
    expect(Date.parse(retry![2]!.replace(/[,;]$/, '')) - started).toBeGreaterThan(58 * MINUTE);
    expect(cli.stdout()).toMatch(/events\s+ok/);
    expect(cli.stdout()).toMatch(/cohort_members\s+deferred/);
    const closing = /^run deferred \(exit 75\): cohort_members would have waited past --max-wait; committed work is kept; retry at (\S+) \(in (\d+) min\)/m.exec(cli.stdout());
    expect(closing, cli.stdout()).not.toBeNull();
    expect(closing![1]).toBe(retry![2]!.replace(/[,;]$/, ''));
    expect(Number(closing![2])).toBeGreaterThanOrEqual(59);
    const kept = await readEventsTable(path.join(dir, 'lakehouse'));
    expect(kept.insertIds).toEqual([...ids].sort());

    shift = HOUR; // an hour later, as Mixpanel's window sees it
    const next = startCli(runArgs(dir, spec), env);
    const second = await next.exited;
    expect(second.code, next.stderr()).toBe(EXIT_OK);
    expect(emulator.log.entries.filter((e) => e.status === 429)).toHaveLength(1);
    expect(await readCohortMembers(path.join(dir, 'lakehouse'))).toEqual(emulatorCohortMembers(emulator));
    const events = await readEventsTable(path.join(dir, 'lakehouse'));
    expect(events.insertIds).toEqual([...ids].sort());
    expect(events.distinctKeys).toBe(events.rows);
  });
});

