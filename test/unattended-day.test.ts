/**
 * A simulated day of the shipped `pipeline_spec.json` run every 15 minutes (issue 18 Deliver 3 and Acceptance):
 * 96 runs of the real runner and source against the emulator enforcing Mixpanel's real budgets (60 Query-API calls
 * and 60 exports per rolling hour, 3 exports per second, 5 concurrent queries). The clock of the runner, the source
 * and the emulator's windows jumps 15 minutes before each run (and otherwise follows real time, so the per-second
 * window still works); between runs new events arrive, a few profiles change and a cohort's members change.
 *
 * Every run completes (exit 0) with no 429 and no pacing wait; after every run the events table holds every event
 * the run could see (processed before run start − safety_lag) exactly once; the busiest rolling hour stays well
 * inside 60 Query calls; and each table ran as often as its `every` says (the arithmetic of the README).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIXPANEL_LIMITS, startEmulator, type Emulator } from '../emulator/index.js';
import { exitCodeForReport, parsePipelineSpec, runPipeline, type PipelineSpec, type RunReport } from '../runner/index.js';
import { REPO_ROOT } from '../runner/testing/cli-child.js';
import { captureLogger } from '../runner/testing/harness.js';
import { createMixpanelSource } from '../sources/mixpanel/index.js';
import { emulatorConfig } from '../sources/mixpanel/testing/emulator-source.js';
import { DAY, HOUR, MINUTE, readEventsTable, seedEvents } from './helpers/unattended.js';

/** The day starts now (the tables' commit timestamps are real time) at a minute past the quarter hour. */
const T0 = Math.floor(Date.now() / (15 * MINUTE)) * 15 * MINUTE + MINUTE;
const RUNS = 96;
const COHORTS = 16;
/** The events option default: a run reads what Mixpanel processed up to its start minus this. */
const SAFETY_LAG = 10 * MINUTE;
const QUERY_ROUTES = new Set(['engage', 'cohorts', 'funnels', 'funnels-list', 'annotations', 'engage-revenue']);

describe('a day of 15-minute runs of the shipped pipeline_spec.json', () => {
  let emulator: Emulator;
  let dir: string;
  let spec: PipelineSpec;
  const realStart = Date.now();
  let shift = 0;
  /** Epoch ms of the simulated day: T0 + 15 min per run so far + the real time since the test began. */
  const clock = (): number => T0 + shift + (Date.now() - realStart);

  beforeAll(async () => {
    const text = await readFile(path.join(REPO_ROOT, 'pipeline_spec.json'), 'utf8');
    spec = parsePipelineSpec(text, 'pipeline_spec.json');
    emulator = await startEmulator({ now: clock, rateLimitClock: clock, profiles: 100, cohorts: COHORTS, seed: 21, limits: MIXPANEL_LIMITS });
    dir = await mkdtemp(path.join(os.tmpdir(), 'unattended-day-'));
  });
  afterAll(async () => {
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('completes every run with no 429 and no pacing wait, each event exactly once after every run, well inside 60 Query calls an hour', async () => {
    expect.hasAssertions();
    const lakehouse = path.join(dir, 'lakehouse');
    const seeded: { readonly id: string; readonly processedMs: number }[] = [];
    const seed = (prefix: string, count: number, days: number): void => {
      const processedMs = clock() - MINUTE;
      for (const id of seedEvents(emulator, { prefix, count, newestMs: clock() - 2 * MINUTE, days, processingTimeMs: processedMs })) seeded.push({ id, processedMs });
    };
    seed('history', 200, 1.5);
    const sleeps: number[] = [];
    const reports: RunReport[] = [];
    for (let run = 0; run < RUNS; run++) {
      if (run > 0) {
        shift += 15 * MINUTE;
        seed(`r${run}`, 6, run % 8 === 0 ? 1.5 : 0.01); // every 2 hours some late events, dated up to 36 hours back
        const profiles = emulator.data.listProfiles();
        for (let i = 0; i < 3; i++) emulator.data.updateProfile(profiles[(run * 7 + i) % profiles.length]!.distinctId, { $set: { plan: `p${run}` } });
        const cohort = emulator.data.listCohorts()[run % COHORTS]!;
        const members = emulator.data.getCohortMembers(cohort.id);
        emulator.data.setCohortMembers(cohort.id, [...members.slice(1), profiles[run % profiles.length]!.distinctId]);
      }
      // A new source per run, as a new process; Mixpanel's default limits on the client.
      const source = createMixpanelSource(emulatorConfig(emulator, { historicalDays: 2 }), {
        now: clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          await new Promise((r) => setTimeout(r, Math.min(ms, 50)));
        },
      });
      let report: RunReport;
      try {
        report = await runPipeline({ spec, source, lakehouse, stateDir: path.join(dir, 'state'), env: {}, logger: captureLogger(), now: clock });
      } finally {
        await source.close?.();
      }
      reports.push(report);
      expect(report.status, `run ${run}: ${JSON.stringify(report.tables.map((t) => [t.table, t.status, t.error?.message]))}`).toBe('ok');
      expect(exitCodeForReport(report)).toBe(0);
      const startedMs = Date.parse(report.startedAt);
      const expected = seeded.filter((e) => e.processedMs <= startedMs - SAFETY_LAG).map((e) => e.id).sort();
      const table = await readEventsTable(lakehouse);
      expect(table.rows, `run ${run}`).toBe(expected.length);
      expect(table.distinctKeys, `run ${run}`).toBe(expected.length);
      expect(table.insertIds, `run ${run}`).toEqual(expected);
    }

    expect(emulator.log.entries.filter((e) => e.status === 429)).toEqual([]);
    expect(sleeps).toEqual([]);
    expect(reports.flatMap((r) => r.tables.map((t) => t.rateLimitWaits + t.retries))).toEqual(Array(reports.length * spec.objects.length).fill(0));
    expect(reports.every((r) => r.tables.every((t) => t.warnings.length === 0 && t.missing.length === 0))).toBe(true);

    // How often each table ran (its `every`) and what it cost: the README arithmetic.
    const ran = (table: string): RunReport['tables'] => reports.flatMap((r) => r.tables.filter((t) => t.table === table && t.status === 'ok'));
    const everyOf = (table: string): number | undefined => spec.objects.find((o) => o.destinationTable === table)?.everyMs;
    for (const object of spec.objects) {
      const every = object.everyMs ?? 15 * MINUTE;
      expect(ran(object.destinationTable).length, object.destinationTable).toBe(Math.ceil(DAY / Math.max(every, 15 * MINUTE)));
    }
    expect(everyOf('cohorts')).toBeDefined();
    expect(everyOf('cohort_members')).toBeDefined();
    const membersRuns = ran('cohort_members');
    expect(membersRuns.every((t) => t.apiCalls === 1 + COHORTS)).toBe(true);
    expect(ran('cohorts').every((t) => t.apiCalls === 1)).toBe(true);
    expect(Math.max(...ran('engage').map((t) => t.apiCalls))).toBeLessThanOrEqual(2);

    // The busiest rolling hour of Query-API calls, as Mixpanel's window counts them.
    const queryTimes = emulator.log.entries.filter((e) => QUERY_ROUTES.has(e.route) && e.params['session_id'] === undefined).map((e) => e.atMs);
    let busiest = 0;
    for (let i = 0, j = 0; j < queryTimes.length; j++) {
      while (queryTimes[i]! <= queryTimes[j]! - HOUR) i++;
      busiest = Math.max(busiest, j - i + 1);
    }
    const exportTimes = emulator.log.forRoute('export').map((e) => e.atMs);
    let busiestExport = 0;
    for (let i = 0, j = 0; j < exportTimes.length; j++) {
      while (exportTimes[i]! <= exportTimes[j]! - HOUR) i++;
      busiestExport = Math.max(busiestExport, j - i + 1);
    }
    expect(busiest).toBeGreaterThan(COHORTS);
    expect(busiest).toBeLessThanOrEqual(30);
    expect(busiestExport).toBeLessThanOrEqual(10);
    // The figures for the README draft: calls per run of each table and the busiest hours.
    const perRun = (table: string): string => [...new Set(ran(table).map((t) => t.apiCalls))].sort((a, b) => a - b).join('/');
    process.stdout.write(
      `unattended day: query calls per run engage ${perRun('engage')}, cohorts ${perRun('cohorts')}, cohort_members ${perRun('cohort_members')}; exports per run events ${perRun('events')}; ` +
        `busiest rolling hour: ${busiest} query calls, ${busiestExport} exports; query calls in the day: ${queryTimes.length}\n`,
    );
  }, 240_000); // about 40 s of CPU (the runs 20 s, the DuckDB reads 13 s); generous for a loaded machine
});
