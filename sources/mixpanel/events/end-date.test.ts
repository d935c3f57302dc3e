import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type Cursor } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator, type IngestEvent } from '../../../emulator/index.js';
import { driveTable, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';
import { eventsCursor, slice } from './cursor.js';
import { parseEventsOptions } from './options.js';
import { planRun } from './plan.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };
const at = (iso: string): number => Date.parse(iso);
const opts = (o: Record<string, string> = {}) => parseEventsOptions({ safety_lag: '0', ...o });

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function ev(id: string, timeMs: number): IngestEvent {
  return { event: 'E', properties: { time: timeMs, distinct_id: `user-${id}`, $insert_id: id } };
}

const ids = (rows: Row[]): string[] => rows.map((r) => String(r['insert_id'])).sort();

describe('events end_date (emulator over loopback)', () => {
  it('reads no date after end_date, catches late events up to it, then converges to the same cursor; removing it loses nothing', async () => {
    expect.hasAssertions();
    let clock = T0;
    const now = (): number => clock;
    emulator = await startEmulator({ now, limits: NO_LIMITS });
    const data = emulator.data;
    data.importEvents(
      [ev('d05', at('2024-06-05T10:00:00Z')), ev('last-ms', at('2024-06-07T23:59:59.999Z')), ev('first-after', at('2024-06-08T00:00:00Z')), ev('d09', at('2024-06-09T08:00:00Z'))],
      { processingTimeMs: T0 - HOUR },
    );
    const options = { safety_lag: '0', start_date: '2024-06-01', end_date: '2024-06-07', lookback_days: '5', window_days: '3' };
    const source = (): ReturnType<typeof emulatorSource> => emulatorSource(emulator!, { now });

    const run1 = await driveTable(source(), 'events', null, { tableOptions: options });
    expect(ids(run1.rows)).toEqual(['d05', 'last-ms']);
    const exports = emulator.log.forRoute('export');
    expect(exports.length).toBeGreaterThan(0);
    for (const call of exports) expect(call.params['to_date']! <= '2024-06-07').toBe(true);
    expect(run1.cursor).toMatchObject({ start_date: '2024-06-01', watermark_ms: T0, max_date_read: '2024-06-07', pending: null });

    // A late event on a date ≤ end_date (inside lookback_days) is caught once; one after end_date is not read.
    data.importEvents([ev('late-06', at('2024-06-06T09:00:00Z')), ev('late-09', at('2024-06-09T09:00:00Z'))], { processingTimeMs: T0 + HOUR });
    clock = T0 + 6 * HOUR;
    const run2 = await driveTable(source(), 'events', run1.cursor, { tableOptions: options });
    expect(ids(run2.rows)).toEqual(['late-06']);
    expect(run2.cursor).toMatchObject({ watermark_ms: T0 + 6 * HOUR, max_date_read: '2024-06-07' });

    // Still inside the re-scan window (date(W) − 5 days = 06-05 ≤ end_date): one empty re-scan, the watermark moves.
    clock = T0 + 3 * DAY;
    const run3 = await driveTable(source(), 'events', run2.cursor, { tableOptions: options });
    expect(run3.rows).toEqual([]);
    expect(run3.cursor).toMatchObject({ watermark_ms: T0 + 3 * DAY, max_date_read: '2024-06-07' });

    // date(W) − lookback_days (06-08) is past end_date: complete. Same cursor, no batches, no API call.
    clock = T0 + 4 * DAY;
    const before = emulator.log.forRoute('export').length;
    const run4 = await driveTable(source(), 'events', run3.cursor, { tableOptions: options });
    expect(run4.rows).toEqual([]);
    expect(run4.calls).toBe(1);
    expect(run4.cursor).toEqual(run3.cursor);
    expect(emulator.log.forRoute('export').length).toBe(before);
    clock = T0 + 40 * DAY;
    const run5 = await driveTable(source(), 'events', run4.cursor, { tableOptions: options });
    expect(run5.cursor).toEqual(run3.cursor);
    expect(run5.calls).toBe(1);

    // Without end_date the dates after max_date_read were never read: read in full now, nothing lost.
    clock = T0 + 4 * DAY;
    const { end_date: _dropped, ...open } = options;
    const run6 = await driveTable(source(), 'events', run4.cursor, { tableOptions: open });
    expect(ids(run6.rows)).toEqual(['d09', 'first-after', 'late-09']);
    const all = [...run1.rows, ...run2.rows, ...run6.rows].map((r) => r['dedupe_key']);
    expect(new Set(all).size).toBe(all.length);
  });

  it('validates end_date synchronously', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    const source = emulatorSource(emulator, { now: () => T0 });
    const call = (o: Record<string, string>): unknown => source.readTable('events', null as Cursor, { tableOptions: o });
    expect(() => call({ end_date: '2024-02-30' })).toThrow(ConfigError);
    expect(() => call({ end_date: '2024-06-01', start_date: '2024-06-02' })).toThrow(/end_date of events must be on or after start_date \(2024-06-02\)/);
    expect(() => call({ end_date: '2024-06-02', start_date: '2024-06-02' })).not.toThrow();
  });
});

describe('planRun with end_date', () => {
  it('first run: history counts back from end_date when it is in the past; slices stop at end_date', () => {
    const plan = planRun({ cursor: null, runStartMs: at('2024-05-20T12:00:00Z'), options: opts({ end_date: '2024-05-10', window_days: '3' }), zone: 'UTC', historicalDays: 5 });
    expect(plan).toEqual({
      kind: 'read',
      startDate: '2024-05-05',
      upperMs: at('2024-05-20T12:00:00Z'),
      lastDate: '2024-05-10',
      slices: [slice('2024-05-05', '2024-05-07', null), slice('2024-05-08', '2024-05-10', null)],
    });
  });

  it('an end_date in the future reads up to today', () => {
    const plan = planRun({ cursor: null, runStartMs: at('2024-05-20T12:00:00Z'), options: opts({ end_date: '2024-12-31', start_date: '2024-05-19' }), zone: 'UTC', historicalDays: 5 });
    expect(plan).toMatchObject({ kind: 'read', lastDate: '2024-05-20', slices: [slice('2024-05-19', '2024-05-20', null)] });
  });

  it('an end_date lowered below dates already read keeps watching those dates (no loss, no date after them)', () => {
    const w = at('2024-05-20T12:00:00Z');
    const plan = planRun({ cursor: eventsCursor('2024-05-01', w, '2024-05-20', null), runStartMs: w + DAY, options: opts({ end_date: '2024-05-15', lookback_days: '3' }), zone: 'UTC', historicalDays: 5 });
    expect(plan).toMatchObject({ kind: 'read', lastDate: '2024-05-20', slices: [slice('2024-05-17', '2024-05-20', w)] });
  });

  it('attribution_window mode: re-reads up to end_date until the window has passed it, then is up to date', () => {
    const cursorAt = (w: number): ReturnType<typeof eventsCursor> => eventsCursor('2024-05-01', w, '2024-05-10', null);
    const options = opts({ end_date: '2024-05-10', incremental_mode: 'attribution_window', attribution_window: '2' });
    const inside = at('2024-05-12T06:00:00Z');
    expect(planRun({ cursor: cursorAt(inside), runStartMs: inside + HOUR, options, zone: 'UTC', historicalDays: 5 })).toMatchObject({
      kind: 'read',
      slices: [slice('2024-05-08', '2024-05-10', null)],
    });
    const past = at('2024-05-13T06:00:00Z');
    expect(planRun({ cursor: cursorAt(past), runStartMs: past + DAY, options, zone: 'UTC', historicalDays: 5 })).toEqual({ kind: 'up_to_date' });
  });

  it('legacy projects judge "past end_date" by the watermark date in the project zone', () => {
    // 2024-05-16T05:00Z is still 05-15 in US/Pacific: 05-15 − 5 = 05-10 is not past end_date.
    const w = at('2024-05-16T05:00:00Z');
    const options = opts({ end_date: '2024-05-10', lookback_days: '5' });
    const cursor = eventsCursor('2024-05-01', w, '2024-05-10', null);
    expect(planRun({ cursor, runStartMs: w + HOUR, options, zone: 'US/Pacific', historicalDays: 5 })).toMatchObject({ kind: 'read', slices: [slice('2024-05-10', '2024-05-10', w)] });
    expect(planRun({ cursor, runStartMs: w + HOUR, options, zone: 'UTC', historicalDays: 5 })).toEqual({ kind: 'up_to_date' });
  });
});
