/**
 * Singer mode end to end against the emulator: the tap README's config.json unchanged, Singer-valid output, a
 * second run from the emitted STATE that fetches only new data (emulator log), a late event the tap would drop,
 * and a run interrupted mid-stream that resumes where it stopped (currently_syncing + the stream's bookmark).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallTooLargeError, TransientError, type LakeflowSource } from '../../../connector-spec/index.js';
import { startEmulator, NO_RATE_LIMITS, type Emulator } from '../../../emulator/index.js';
import { lastState, recordsOf, runSinger, singerProblems, tempDir, writeJson } from './testing.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0); // 2026-11-20 12:00 UTC
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The example config.json of the pipelinewise-tap-mixpanel README, byte for byte. */
const README_CONFIG = `{
    "api_secret": "YOUR_API_SECRET",
    "date_window_size": "30",
    "attribution_window": "5",
    "project_timezone": "US/Pacific",
    "select_properties_by_default": "true",
    "denest_properties": "true",
    "start_date": "2019-01-01T00:00:00Z",
    "user_agent": "tap-mixpanel <api_user_email@your_company.com>"
}
`;

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function emulatorAt(clock: { ms: number }, options: { eventsPerDay?: number; profiles?: number; cohorts?: number } = {}): Promise<Emulator> {
  emu = await startEmulator({ now: () => clock.ms, limits: NO_RATE_LIMITS, eventsPerDay: options.eventsPerDay ?? 0, days: 3, profiles: options.profiles ?? 0, cohorts: options.cohorts ?? 0, projects: [{ apiSecret: 'YOUR_API_SECRET' }] });
  return emu;
}

/**
 * Wraps a source so that revenue's calls from the second on yield their first batch and then throw `error()`, `times`
 * times in all (the retries that follow read normally).
 */
function breakRevenueCalls(times: number, error: () => Error): { wrap: (source: LakeflowSource) => LakeflowSource; count: () => number } {
  let broken = 0;
  const wrap = (source: LakeflowSource): LakeflowSource => {
    let calls = 0;
    return {
      ...source,
      readTable(table, cursor, options) {
        const read = source.readTable(table, cursor, options);
        if (table !== 'revenue' || ++calls < 2 || broken >= times) return read;
        return (async function* () {
          const first = await read.next();
          if (!first.done) yield first.value;
          broken++;
          throw error();
        })();
      },
    };
  };
  return { wrap, count: () => broken };
}

/** The days the revenue stream prints from 2026-11-11 to the emulator's today, each once. */
const REVENUE_DAYS = ['2026-11-11', '2026-11-12', '2026-11-13', '2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20'];

/** One Singer run of the revenue stream alone, 5-day windows from 2026-11-11, through `wrap`. */
async function runRevenue(wrap: (source: LakeflowSource) => LakeflowSource): Promise<Awaited<ReturnType<typeof runSinger>>> {
  const clock = { ms: T0 };
  const em = await emulatorAt(clock);
  const dir = await tempDir();
  const config = await writeJson(dir, 'config.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-11T00:00:00Z', date_window_size: '5' });
  const catalog = await writeJson(dir, 'catalog.json', { streams: [{ tap_stream_id: 'revenue', metadata: [{ breadcrumb: [], metadata: { selected: true } }] }] });
  return runSinger(em, () => clock.ms, { config, catalog }, wrap);
}

describe('singer mode', () => {
  it('runs the tap README config.json unchanged, prints valid Singer messages, and a second run from its STATE fetches only new data', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    const em = await emulatorAt(clock, { eventsPerDay: 12, profiles: 4, cohorts: 1 });
    const dir = await tempDir();
    const config = await writeJson(dir, 'config.json', README_CONFIG);
    const first = await runSinger(em, () => clock.ms, { config });
    expect(first.stderr).not.toContain('YOUR_API_SECRET');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toContain('"user_agent"');
    expect(singerProblems(first)).toEqual([]);
    const streams = [...new Set(first.messages.filter((m) => m.type === 'SCHEMA').map((m) => m.stream))];
    expect(streams).toEqual(['export', 'engage', 'funnels', 'annotations', 'cohorts', 'cohort_members', 'revenue']);
    // Everything processed up to the run start minus the events table's safety lag (10 minutes).
    const exported = em.data.exportEvents({ fromDate: '2019-01-01', toDate: '2026-11-20', nowMs: T0 - 10 * 60_000 });
    expect(exported.length).toBeGreaterThan(10);
    const events = recordsOf(first, 'export');
    expect(new Set(events.map((r) => r.mp_reserved_insert_id))).toEqual(new Set(exported.map((e) => e.properties.$insert_id)));
    expect(events.every((r) => typeof r.time === 'string' && typeof r.event === 'string' && !('$insert_id' in r))).toBe(true);
    expect(recordsOf(first, 'funnels').length).toBeGreaterThan(3 * 365);
    expect(recordsOf(first, 'revenue').some((r) => r.date === '$overall')).toBe(false);
    const state = lastState(first);
    expect(state.currently_syncing).toBeNull();
    expect(Object.keys(state.bookmarks).sort()).toEqual([...streams].sort());

    // Two hours later: one new event and one late event dated 3 days back (older than the bookmark, inside the
    // attribution window of 5 days). The tap drops the late one; Singer mode emits both, and nothing else.
    clock.ms = T0 + 2 * HOUR;
    em.data.importEvents([
      { event: 'New', properties: { time: T0 + HOUR, distinct_id: 'n1', $insert_id: 'new-1' } },
      { event: 'Late', properties: { time: T0 - 3 * DAY, distinct_id: 'l1', $insert_id: 'late-1' } },
    ], { processingTimeMs: T0 + HOUR });
    em.log.clear();
    const statePath = await writeJson(dir, 'state.json', state);
    const second = await runSinger(em, () => clock.ms, { config, state: statePath });
    expect(second.code, second.stderr).toBe(0);
    expect(singerProblems(second)).toEqual([]);
    const firstIds = new Set(events.map((r) => r.mp_reserved_insert_id));
    const secondIds = recordsOf(second, 'export').map((r) => r.mp_reserved_insert_id as string);
    expect(secondIds).toEqual(expect.arrayContaining(['late-1', 'new-1']));
    expect(secondIds.filter((id) => firstIds.has(id))).toEqual([]); // nothing the first run already emitted
    const visibleNow = new Set(em.data.exportEvents({ fromDate: '2026-11-10', toDate: '2026-11-20' }).map((e) => e.properties.$insert_id));
    expect(secondIds.every((id) => visibleNow.has(id))).toBe(true);
    const exportCalls = em.log.forRoute('export');
    expect(exportCalls.length).toBeGreaterThan(0);
    for (const call of exportCalls) {
      expect(call.params.from_date! >= '2026-11-15').toBe(true); // bookmark day minus the attribution window
      expect(call.params.where).toContain('mp_processing_time_ms');
    }
    // Funnels and revenue re-read only the attribution window, never the history from 2019.
    for (const call of [...em.log.forRoute('funnels'), ...em.log.forRoute('engage-revenue')]) expect(call.params.from_date).toBe('2026-11-15');
  });

  it('resumes a stream interrupted mid-way where it stopped (currently_syncing and its bookmark)', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    const em = await emulatorAt(clock);
    const dir = await tempDir();
    const config = await writeJson(dir, 'config.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-01T00:00:00Z', date_window_size: 7 });
    em.faults.add({ route: 'funnels', nth: 4, action: { kind: 'status', status: 400, body: { error: 'broken on purpose' } } });
    const first = await runSinger(em, () => clock.ms, { config });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('broken on purpose');
    const cut = lastState(first);
    expect(cut.currently_syncing).toBe('funnels');
    expect(singerProblems(first)).toEqual([]); // the failed run still ends with a STATE
    const before = recordsOf(first, 'funnels');
    expect(before).toHaveLength(20); // the first funnel's three windows (7 + 7 + 6 days), nothing of the failed 4th call
    const windowsBefore = em.log.forRoute('funnels').filter((e) => e.status === 200).map((e) => `${e.params.funnel_id}:${e.params.from_date}`);

    em.log.clear();
    const second = await runSinger(em, () => clock.ms, { config, state: await writeJson(dir, 'state.json', cut) });
    expect(second.code, second.stderr).toBe(0);
    expect(second.messages.find((m) => m.type === 'SCHEMA')?.stream).toBe('funnels');
    const windowsAfter = em.log.forRoute('funnels').map((e) => `${e.params.funnel_id}:${e.params.from_date}`);
    expect(windowsAfter.filter((w) => windowsBefore.includes(w))).toEqual([]);
    const keys = [...before, ...recordsOf(second, 'funnels')].map((r) => `${String(r.funnel_id)}/${String(r.date)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(3 * 20); // 3 funnels × 2026-11-01..2026-11-20
    // The interrupted stream first, then the ones after it, then (wrapping) the ones before it.
    expect(second.messages.filter((m) => m.type === 'SCHEMA').map((m) => m.stream)).toEqual(['funnels', 'annotations', 'cohorts', 'cohort_members', 'revenue', 'export', 'engage']);
    expect(em.log.forRoute('engage-revenue').length).toBeGreaterThan(0);
    expect(lastState(second).currently_syncing).toBeNull();
  });

  it('names $ properties mp_reserved_*, resolves a collision once and keeps it across runs, and keeps big integers exact', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    const em = await emulatorAt(clock);
    const dir = await tempDir();
    const config = await writeJson(dir, 'config.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-18T00:00:00Z', project_timezone: 'UTC', surprise: 1 });
    const catalog = await writeJson(dir, 'catalog.json', { streams: [{ tap_stream_id: 'export', schema: { properties: {} }, metadata: [{ breadcrumb: [], metadata: { selected: true } }] }] });
    em.data.importEvents([{ event: 'A', properties: { time: T0 - HOUR, distinct_id: 'a', $insert_id: 'a-1', $browser: 'Chrome', mp_reserved_plan: 'literal', big: 12345678901234567890n } }], { processingTimeMs: T0 - HOUR });
    const first = await runSinger(em, () => clock.ms, { config, catalog });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('unknown key "surprise" ignored');
    expect(new Set(first.messages.map((m) => m.stream).filter((s) => s !== undefined))).toEqual(new Set(['export']));
    expect(recordsOf(first, 'export')[0]).toMatchObject({ mp_reserved_insert_id: 'a-1', mp_reserved_browser: 'Chrome', mp_reserved_plan: 'literal' });
    expect(first.stdout).toContain('"big":12345678901234567890');

    clock.ms = T0 + HOUR;
    em.data.importEvents([{ event: 'B', properties: { time: T0, distinct_id: 'b', $insert_id: 'b-1', $plan: 'reserved', mp_reserved_plan: 'literal 2' } }], { processingTimeMs: T0 });
    const second = await runSinger(em, () => clock.ms, { config, catalog, state: await writeJson(dir, 'state.json', lastState(first)) });
    expect(second.code, second.stderr).toBe(0);
    expect(recordsOf(second, 'export')[0]).toMatchObject({ mp_reserved_plan: 'literal 2', mp_reserved_plan__2: 'reserved' });
    const naming = lastState(second).mp_naming['export']!;
    expect(naming['mp_reserved_plan']).toBe('mp_reserved_plan');
    expect(naming['$plan']).toBe('mp_reserved_plan__2');
    const schemaIndex = second.messages.findIndex((m) => m.type === 'SCHEMA' && 'mp_reserved_plan__2' in (m.schema?.properties ?? {}));
    const recordIndex = second.messages.findIndex((m) => m.type === 'RECORD');
    expect(schemaIndex).toBeGreaterThanOrEqual(0);
    expect(schemaIndex).toBeLessThan(recordIndex);
  });

  it('keeps custom properties as one object when denest_properties is false, and only flattens declared ones when select_properties_by_default is false', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    const em = await emulatorAt(clock);
    const dir = await tempDir();
    em.data.importEvents([{ event: 'A', properties: { time: T0 - HOUR, distinct_id: 'a', $insert_id: 'a-1', plan: 'pro', $custom: 1 } }], { processingTimeMs: T0 - HOUR });
    const catalog = await writeJson(dir, 'catalog.json', { streams: [{ tap_stream_id: 'export', schema: { properties: { plan: {} } }, metadata: [{ breadcrumb: [], metadata: { selected: true } }] }] });
    const nested = await runSinger(em, () => clock.ms, { config: await writeJson(dir, 'c1.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-19', denest_properties: false }), catalog });
    expect(recordsOf(nested, 'export')[0]).toMatchObject({ custom_properties: { plan: 'pro', $custom: 1 } });
    expect(recordsOf(nested, 'export')[0]).not.toHaveProperty('plan');
    const declared = await runSinger(em, () => clock.ms, { config: await writeJson(dir, 'c2.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-19', select_properties_by_default: 'false' }), catalog });
    expect(recordsOf(declared, 'export')[0]).toMatchObject({ plan: 'pro', custom_properties: { $custom: 1 } });
    expect(singerProblems(declared)).toEqual([]);
  });

  it('prints a call\'s records only when the call completed: a call that fails after yielding is retried and emits each row once', async () => {
    expect.hasAssertions();
    // The second call of revenue yields its batch, then breaks (as a reset after the first rows would).
    const cut = breakRevenueCalls(1, () => new TransientError('connection reset mid-slice', { code: 'TEST_RESET' }));
    const run = await runRevenue(cut.wrap);
    expect(run.code, run.stderr).toBe(0);
    expect(cut.count()).toBe(1);
    expect(run.stderr).toContain('retrying with the same bookmark');
    expect(recordsOf(run, 'revenue').map((r) => r.date)).toEqual(REVENUE_DAYS);
    expect(singerProblems(run)).toEqual([]);
  });

  it('a call over its source\'s size limit is read again at once with the same bookmark, beyond the failed-attempt budget', async () => {
    expect.hasAssertions();
    // The second call of revenue overflows 6 times (more than the 5 failed attempts a call may have), yielding first.
    const resized = breakRevenueCalls(6, () => new CallTooLargeError('more rows than one call may hold', { code: 'TEST_TOO_LARGE' }));
    const run = await runRevenue(resized.wrap);
    expect(run.code, run.stderr).toBe(0);
    expect(resized.count()).toBe(6);
    expect(run.stderr).toContain('more rows than one call may hold');
    expect(recordsOf(run, 'revenue').map((r) => r.date)).toEqual(REVENUE_DAYS);
    expect(singerProblems(run)).toEqual([]);
  });

  it('accepts a state written by the tap: a date bookmark restarts the stream at that date minus the attribution window', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    const em = await emulatorAt(clock);
    const dir = await tempDir();
    const config = await writeJson(dir, 'config.json', { api_secret: 'YOUR_API_SECRET', start_date: '2019-01-01T00:00:00Z', attribution_window: '2' });
    const catalog = await writeJson(dir, 'catalog.json', { streams: [{ tap_stream_id: 'revenue', schema: { selected: true, properties: {} }, metadata: [] }] });
    const state = await writeJson(dir, 'state.json', { currently_syncing: null, bookmarks: { revenue: '2026-11-18T18:23:53Z' } });
    const run = await runSinger(em, () => clock.ms, { config, catalog, state });
    expect(run.code, run.stderr).toBe(0);
    expect(em.log.forRoute('engage-revenue').map((e) => `${e.params.from_date}..${e.params.to_date}`)).toEqual(['2026-11-16..2026-11-20']);
    expect(recordsOf(run, 'revenue').map((r) => r.date)).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
    expect(lastState(run).bookmarks['revenue']).toMatchObject({ v: 1, done: { revenue: '2026-11-20' } });
  });

  it('--discover prints a catalog of the tap streams; bad config is exit 2 without the secret', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    const em = await emulatorAt(clock);
    const dir = await tempDir();
    const config = await writeJson(dir, 'config.json', README_CONFIG);
    const run = await runSinger(em, () => clock.ms, { config, discover: true });
    expect(run.code).toBe(0);
    const catalog = JSON.parse(run.stdout) as { streams: { tap_stream_id: string; key_properties: string[]; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[] };
    expect(catalog.streams.map((s) => s.tap_stream_id)).toEqual(['export', 'engage', 'funnels', 'annotations', 'cohorts', 'cohort_members', 'revenue']);
    expect(catalog.streams.find((s) => s.tap_stream_id === 'funnels')?.key_properties).toEqual(['funnel_id', 'date']);
    const browser = catalog.streams[0]!.metadata.find((m) => m.breadcrumb[1] === 'mp_reserved_browser');
    expect(browser?.metadata['mp-property']).toBe('$browser');
    const bad = await runSinger(em, () => clock.ms, { config: await writeJson(dir, 'bad.json', { api_secret: 'sekret-123', project_timezone: 'Mars/Base' }) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('project_timezone');
    expect(bad.stderr).not.toContain('sekret-123');
  });
});
