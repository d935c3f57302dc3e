import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import { driveTable } from '../testing/driver.js';
import { createMixpanelSource } from '../source.js';
import { FAST_LIMITS, emulatorConfig, emulatorSource } from '../testing/emulator-source.js';

const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const iso = (ms: unknown): string => new Date(ms as number).toISOString();

describe('legacy projects (time stored as project-local wall clock)', () => {
  it('US/Pacific: DST days convert to the exact UTC instant, the overlap is flagged, nothing is dropped', async () => {
    expect.hasAssertions();
    const T = Date.parse('2024-11-05T12:00:00Z');
    emulator = await startEmulator({ now: () => T, limits: NO_LIMITS, projects: [{ timezone: 'US/Pacific', legacyLocalTime: true }] });
    const utc = ['2024-03-10T09:59:59Z', '2024-03-10T10:00:00Z', '2024-11-03T08:30:00Z', '2024-11-03T09:30:00Z', '2024-11-03T10:00:00Z'].map(Date.parse);
    utc.forEach((t, i) => emulator!.data.importEvents([{ event: 'E', properties: { time: t, distinct_id: 'u', $insert_id: `e${i}` } }], { processingTimeMs: t + 5_000 }));
    const source = emulatorSource(emulator, { now: () => T, config: { projectTimezone: 'US/Pacific', legacyLocalTime: true } });
    const run = await driveTable(source, 'events', null, { tableOptions: { safety_lag: '0', start_date: '2024-03-01' } });
    const rows = [...run.rows].sort((a, b) => String(a['insert_id']).localeCompare(String(b['insert_id'])));
    expect(rows.map((r) => [r['insert_id'], iso(r['time']), r['time_flag']])).toEqual([
      ['e0', '2024-03-10T09:59:59.000Z', null],
      ['e1', '2024-03-10T10:00:00.000Z', null],
      ['e2', '2024-11-03T08:30:00.000Z', 'dst_ambiguous'],
      ['e3', '2024-11-03T09:30:00.000Z', 'dst_ambiguous'],
      ['e4', '2024-11-03T10:00:00.000Z', null],
    ]);
    // The raw value is the wall clock read as UTC: 01:59:59, 03:00:00, 01:30, 01:30, 02:00 local.
    expect(rows.map((r) => iso(Number(r['time_raw'])).slice(0, 19))).toEqual(['2024-03-10T01:59:59', '2024-03-10T03:00:00', '2024-11-03T01:30:00', '2024-11-03T01:30:00', '2024-11-03T02:00:00']);
  });

  it('Asia/Kolkata: slices are project-local days, whose boundaries fall at 18:30Z', async () => {
    expect.hasAssertions();
    const T = Date.parse('2024-06-10T12:00:00Z');
    emulator = await startEmulator({ now: () => T, limits: NO_LIMITS, projects: [{ timezone: 'Asia/Kolkata', legacyLocalTime: true }] });
    const before = Date.parse('2024-06-08T18:29:59Z');
    const after = Date.parse('2024-06-08T18:30:00Z');
    emulator.data.importEvents(
      [
        { event: 'E', properties: { time: before, distinct_id: 'u', $insert_id: 'before' } },
        { event: 'E', properties: { time: after, distinct_id: 'u', $insert_id: 'after' } },
      ],
      { processingTimeMs: T - 3_600_000 },
    );
    const source = emulatorSource(emulator, { now: () => T, config: { projectTimezone: 'Asia/Kolkata', legacyLocalTime: true, historicalDays: 3 } });
    const run = await driveTable(source, 'events', null, { tableOptions: { safety_lag: '0', window_days: '1' } });
    const calls = emulator.log.forRoute('export');
    // today in Kolkata at 12:00Z is 2024-06-10 (17:30 local): days 06-07 … 06-10, one call each.
    expect(calls.map((c) => c.params['from_date'])).toEqual(['2024-06-07', '2024-06-08', '2024-06-09', '2024-06-10']);
    expect(run.committed.map((c) => c.rows.map((r) => r['insert_id']))).toEqual([[], ['before'], ['after'], [], []]);
    const byId = new Map(run.rows.map((r) => [r['insert_id'], r]));
    expect(iso(byId.get('before')!['time'])).toBe('2024-06-08T18:29:59.000Z');
    expect(iso(byId.get('after')!['time'])).toBe('2024-06-08T18:30:00.000Z');
    expect(byId.get('after')!['event_date']).toBe('2024-06-08');
  });

  it('flags (log + counter, not a run warning) a project configured as UTC that looks legacy; a backfill does not trip it', async () => {
    expect.hasAssertions();
    const T = Date.parse('2024-06-10T12:00:00Z');
    emulator = await startEmulator({ now: () => T, limits: NO_LIMITS, eventsPerDay: 200, days: 2, projects: [{ timezone: 'US/Pacific', legacyLocalTime: true }] });
    const warned: string[] = [];
    const logger = { debug() {}, info() {}, warn: (msg: string) => void warned.push(msg), error() {} };
    const stats = { apiCalls: 0, retries: 0, rateLimitWaits: 0, rateLimitWaitMs: 0, warnings: [] as string[], missing: [] as string[], counters: {} as Record<string, number> };
    const misconfigured = createMixpanelSource(emulatorConfig(emulator, { projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 2 }), { now: () => T, logger, limits: FAST_LIMITS });
    await driveTable(misconfigured, 'events', null, { tableOptions: { safety_lag: '0' }, stats });
    expect(warned[0]).toBe(
      'Most events have time exactly 7 h behind mp_processing_time_ms: the project looks like a legacy (pre-2023) project storing local time. Set MIXPANEL_LEGACY_LOCAL_TIME=true and MIXPANEL_PROJECT_TIMEZONE to its timezone.',
    );
    expect(stats.counters['events.legacy_time_suspected']).toBeGreaterThanOrEqual(1);
    expect(stats.warnings).toEqual([]);

    // A UTC project backfilled through /import: events from the last days, all processed now.
    const utc = await startEmulator({ now: () => T, limits: NO_LIMITS });
    try {
      utc.data.importEvents(
        Array.from({ length: 300 }, (_, i) => ({ event: 'Backfill', properties: { time: T - 3 * 86_400_000 + i * 600_000, distinct_id: 'u', $insert_id: `b${i}` } })),
        { processingTimeMs: T - 1000 },
      );
      const quiet: string[] = [];
      const backfilled = createMixpanelSource(emulatorConfig(utc, { historicalDays: 4 }), { now: () => T, logger: { ...logger, warn: (m: string) => void quiet.push(m) }, limits: FAST_LIMITS });
      const run = await driveTable(backfilled, 'events', null, { tableOptions: { safety_lag: '0' } });
      expect(run.rows).toHaveLength(300);
      expect(quiet).toEqual([]);
    } finally {
      await utc.close();
    }
  });
});
