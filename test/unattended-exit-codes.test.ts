/**
 * Exit codes a scheduler can act on (issue 18 Deliver 2), with the real source against the emulator:
 * - a run whose faults were all recovered exits 0: an Engage session that expired (during a rate-limit wait that
 *   ended within --max-wait) and was restarted, a retried 5xx, cohort joins and leaves; they are information in
 *   the report (`warnings`, counters, the snapshot diff), and nothing is `missing`;
 * - a cohort whose data group was deleted is knowingly missing: the real CLI exits 3 and names the cohort in its
 *   output and in the run report, and the other cohorts' members are all there.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { EXIT_INCOMPLETE, EXIT_OK, exitCodeForReport, parsePipelineSpec, runPipeline, type RunReport } from '../runner/index.js';
import { captureLogger } from '../runner/testing/harness.js';
import { createMixpanelSource } from '../sources/mixpanel/index.js';
import { emulatorConfig } from '../sources/mixpanel/testing/emulator-source.js';
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

const SPEC = {
  connection_name: 'unattended',
  objects: [{ table: { source_table: 'events' } }, { table: { source_table: 'engage' } }, { table: { source_table: 'cohorts' } }, { table: { source_table: 'cohort_members' } }],
};

describe('recovered faults are information: exit 0', () => {
  it('an Engage session that expired during a 429 wait and was restarted, a retried 5xx, cohort joins and leaves', async () => {
    expect.hasAssertions();
    let t = T0;
    const sleeps: number[] = [];
    // Engage sessions live 60 s of the emulator's clock; the fake clock moves only when the client sleeps.
    emulator = await startEmulator({ now: () => t, rateLimitClock: () => t, profiles: 1500, cohorts: 2, seed: 9, engageSessionTtlMs: MINUTE });
    const ids = seedEvents(emulator, { prefix: 'rec', count: 50, newestMs: T0 - 30 * MINUTE, days: 2, processingTimeMs: T0 - 20 * MINUTE });
    dir = await mkdtemp(path.join(os.tmpdir(), 'unattended-exit-'));
    const lakehouse = path.join(dir, 'lakehouse');
    const spec = parsePipelineSpec(JSON.stringify(SPEC), 'pipeline_spec.json');
    const run = async (): Promise<RunReport> => {
      const source = createMixpanelSource(emulatorConfig(emulator!, { historicalDays: 3 }), {
        now: () => t,
        sleep: async (ms) => {
          sleeps.push(ms);
          t += ms;
        },
        limits: { backoffBaseMs: 1_000, backoffCapMs: 2_000 },
      });
      try {
        return await runPipeline({ spec, source, lakehouse, stateDir: path.join(dir!, 'state'), env: {}, logger: captureLogger(), now: () => t, maxWaitMs: 5 * MINUTE });
      } finally {
        await source.close?.();
      }
    };

    // Page 1 of the first (full) engage scan: a 429 asking for 90 s; the session (60 s) expires meanwhile.
    const throttled = emulator.faults.add({
      route: 'engage',
      action: { kind: 'status', status: 429, retryAfterSeconds: 90, body: { error: 'Too many requests' } },
      when: (p) => p['page'] === '1' && p['filter_by_cohort'] === undefined,
    });
    const failed = emulator.faults.status('export', 503, { times: 1 });
    const first = await run();
    expect(throttled.fired).toBe(1);
    expect(failed.fired).toBe(1);
    expect(sleeps).toContain(90_000);
    expect(first.tables.map((r) => [r.table, r.status])).toEqual([
      ['events', 'ok'],
      ['engage', 'ok'],
      ['cohorts', 'ok'],
      ['cohort_members', 'ok'],
    ]);
    expect(first.status).toBe('ok');
    expect(exitCodeForReport(first)).toBe(EXIT_OK);
    const engage = first.tables.find((r) => r.table === 'engage')!;
    expect(engage.warnings.join('\n')).toMatch(/the Engage session expired on page 1; the scan restarted from page 0/);
    expect(engage.counters['engage.engage_session_restarts']).toBe(1);
    expect(engage.rateLimitWaits).toBe(1);
    expect(first.tables.find((r) => r.table === 'events')!.retries).toBe(1);
    expect(first.tables.flatMap((r) => r.missing)).toEqual([]);
    // The restart delivered every profile once.
    const { query, deltaScan } = await import('../runner/testing/duckdb.js');
    const [profiles] = await query(`SELECT count(*) AS n, count(DISTINCT distinct_id) AS ids FROM ${await deltaScan(lakehouse, 'engage')}`);
    expect(profiles).toEqual({ n: '1500', ids: '1500' });
    expect((await readEventsTable(lakehouse)).insertIds).toEqual([...ids].sort());

    // Cohort joins and leaves are information too.
    const [cohort] = emulator.data.listCohorts();
    const before = emulator.data.getCohortMembers(cohort!.id);
    const joined = emulator.data.listProfiles().map((p) => p.distinctId).find((id) => !before.includes(id))!;
    emulator.data.setCohortMembers(cohort!.id, [...before.slice(1), joined]);
    t += HOUR;
    const second = await run();
    expect(second.status).toBe('ok');
    expect(exitCodeForReport(second)).toBe(EXIT_OK);
    const diff = second.tables.find((r) => r.table === 'cohort_members')!.snapshotDiff!;
    expect(diff.groups[String(cohort!.id)]).toEqual({ added: 1, removed: 1 });
    expect(await readCohortMembers(lakehouse)).toEqual(emulatorCohortMembers(emulator));
  });
});

describe('knowingly missing: exit 3', () => {
  it('a cohort whose data group was deleted: the CLI exits 3 naming the cohort, and the other cohorts are complete', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ profiles: 40, cohorts: 3, seed: 11 });
    const [, orphan] = emulator.data.listCohorts();
    emulator.data.deleteCohortDataGroup(orphan!.id);
    dir = await mkdtemp(path.join(os.tmpdir(), 'unattended-exit3-'));
    const spec = path.join(dir, 'pipeline_spec.json');
    await writeFile(spec, JSON.stringify({ connection_name: 'unattended', objects: [{ table: { source_table: 'cohort_members' } }] }));
    const cli = startCli(runArgs(dir, spec), { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret });
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(EXIT_INCOMPLETE);
    const named = `cohort ${orphan!.id} (${orphan!.name}) skipped: Mixpanel answered 404`;
    expect(cli.stdout()).toMatch(/cohort_members\s+ok/);
    expect(cli.stdout()).toContain(`run incomplete (exit 3): knowingly missing`);
    expect(cli.stdout()).toContain(`missing cohort_members: cohort_members: ${named}`);
    const reportFile = /report: (\S+\.json)/.exec(cli.stdout())![1]!;
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as RunReport;
    expect(report.status).toBe('incomplete');
    expect(report.tables[0]!.missing).toEqual([expect.stringContaining(named)]);
    expect(report.tables[0]!.warnings.join('\n')).not.toContain(named);
    const others = emulatorCohortMembers(emulator).filter((m) => !m.startsWith(`${orphan!.id}:`));
    expect(others.length).toBeGreaterThan(0);
    expect(await readCohortMembers(path.join(dir, 'lakehouse'))).toEqual(others);
  });
});
