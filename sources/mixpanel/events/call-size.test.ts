/**
 * max_events_per_call: the pure re-plan (part sizes from the events seen, parts that tile the slice exactly), and,
 * against the emulator, calls that stay within the limit while the table ends up equal to an unlimited read,
 * whether the export body comes in time order or shuffled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Table, TimestampMillisecond, vectorFromArray } from 'apache-arrow';
import { CallTooLargeError, ConfigError, emptyReadStats } from '../../../connector-spec/index.js';
import { NO_RATE_LIMITS, startEmulator, type Emulator, type IngestEvent } from '../../../emulator/index.js';
import { driveTable, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';
import { EventHourTally, FILL, isOneHour, overflowPartSize, projectedEvents, replanned, resliced, shrunkPartSize, type PartSize } from './call-size.js';
import { slice, type Slice } from './cursor.js';
import { addDays, daysInRange } from './dates.js';
import { parseEventsOptions } from './options.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every (date, hour) a list of slices covers, in order; throws on an overlap. */
function hoursCovered(slices: readonly Slice[]): string[] {
  const out: string[] = [];
  for (const s of slices) {
    for (let d = s.from; d <= s.to; d = addDays(d, 1)) {
      const [h0, h1] = s.hours ?? [0, 24];
      for (let h = h0; h < h1; h++) out.push(`${d}T${String(h).padStart(2, '0')}`);
    }
  }
  if (new Set(out).size !== out.length) throw new Error(`overlapping slices: ${JSON.stringify(slices)}`);
  return out;
}

describe('the re-plan of a call over max_events_per_call (pure)', () => {
  it('the tally counts events per hour and per UTC day from the time column, nulls left out', () => {
    const tally = new EventHourTally();
    const t = Date.UTC(2024, 5, 1);
    const time = vectorFromArray([t + 5 * HOUR, null, t + 5 * HOUR + 59 * 60_000, t + 23 * HOUR, t + DAY + HOUR, null, null, null], new TimestampMillisecond('UTC'));
    tally.add(new Table({ time }).batches[0]!);
    tally.add(new Table({ time: vectorFromArray([t + 6 * HOUR], new TimestampMillisecond('UTC')) }).batches[0]!);
    expect(tally.busiestHour()).toBe(2);
    expect(tally.busiestDay()).toBe(4);
    expect(tally.latestHour()).toBe((t + DAY + HOUR) / HOUR);
    expect(new EventHourTally().latestHour()).toBeNull();
  });

  it('a projection: the rows read × the slice hours ÷ the hours from its start to the latest seen, never below the rows', () => {
    const tenDays = slice('2024-06-01', '2024-06-10', 0);
    const start = Date.UTC(2024, 5, 1) / HOUR;
    // 60 of 240 hours covered (to 2024-06-03 11:00): four times the rows, 10 an hour.
    expect(projectedEvents(tenDays, 600, start + 59)).toEqual({ total: 2400, perHour: 10 });
    expect(projectedEvents(tenDays, 600, null)).toEqual({ total: 600, perHour: 2.5 });
    // A body in no order soon shows an hour near (or past) the end: the projection is the rows read.
    expect(projectedEvents(tenDays, 600, start + 239).total).toBe(600);
    expect(projectedEvents(tenDays, 600, start + 400).total).toBe(600);
    const hours = slice('2024-06-01', '2024-06-01', 0, [6, 12]);
    expect(projectedEvents(hours, 90, start + 8)).toEqual({ total: 180, perHour: 30 });
  });

  it('a slice ended early within its first day is sized from the rate it read, not from that partial day', () => {
    // 30 days; 1.25M events read in the first 10 hours of a project with 3M a day; limit 5M.
    const month = slice('2024-06-01', '2024-06-30', 0);
    const tally = new EventHourTally();
    const t = Date.UTC(2024, 5, 1);
    tally.add(new Table({ time: vectorFromArray(Array.from({ length: 1000 }, (_, i) => t + Math.floor((i / 1000) * 10 * HOUR)), new TimestampMillisecond('UTC')) }).batches[0]!);
    const scale = 1250; // the tally holds 1,000 rows standing for 1.25M: counts and rates scale alike
    const projected = projectedEvents(month, 1000, tally.latestHour());
    expect(projected.total).toBe(72_000);
    const limit = 5_000_000 / scale;
    // The partial day alone (1.25M) would give 3-day parts of ~9M events, each ended and cut again.
    expect(overflowPartSize(month, limit, tally, null)).toEqual({ unit: 'day', size: 3 });
    expect(overflowPartSize(month, limit, tally, projected)).toEqual({ unit: 'day', size: 1 });
    // One day ended early: hours sized from the rate (100 an hour here), never above half the day.
    const day = slice('2024-06-01', '2024-06-01', 0);
    expect(overflowPartSize(day, limit, tally, projectedEvents(day, 1000, tally.latestHour()))).toEqual({ unit: 'hour', size: 12 });
  });

  it('a call ended early while reading a day projected over 80% of the limit cuts that day into hours at once', () => {
    // The bench's 5M-event day: the first slice spans it and the next (nearly empty) day; 1.25M of its events were
    // read in its first 6 hours when the projection ended the call; limit 5M.
    const scale = 1250;
    const limit = 5_000_000 / scale;
    const twoDays = slice('2024-06-01', '2024-06-02', 0);
    const tally = new EventHourTally();
    const t = Date.UTC(2024, 5, 1);
    tally.add(new Table({ time: vectorFromArray(Array.from({ length: 1000 }, (_, i) => t + Math.floor((i / 1000) * 6 * HOUR)), new TimestampMillisecond('UTC')) }).batches[0]!);
    const projected = projectedEvents(twoDays, 1000, tally.latestHour());
    expect(projected.perHour * 24).toBeGreaterThan(FILL * limit); // the day alone: ~5M
    // Counted, the day holds 1.25M: not crowded. At the rate of its 6 hours read, it is; its busiest hour is at
    // least that rate.
    expect([...tally.crowdedDays(FILL * limit)]).toEqual([]);
    const crowded = tally.crowdedDays(FILL * limit, true);
    expect([...crowded]).toEqual([['2024-06-01', Math.max(tally.busiestHour(), 1000 / 6)]]);
    const size = overflowPartSize(twoDays, limit, tally, projected)!;
    expect(size).toEqual({ unit: 'day', size: 1 });
    // Without the projected day the re-plan reads the day whole: a second call ended early, then hours.
    expect(replanned([twoDays], size, limit, tally.crowdedDays(FILL * limit))).toEqual([slice('2024-06-01', '2024-06-01', 0), slice('2024-06-02', '2024-06-02', 0)]);
    const parts = replanned([twoDays], size, limit, crowded);
    expect(parts).toEqual([slice('2024-06-01', '2024-06-01', 0, [0, 12]), slice('2024-06-01', '2024-06-01', 0, [12, 24]), slice('2024-06-02', '2024-06-02', 0)]);
    expect(hoursCovered(parts)).toEqual(hoursCovered([twoDays]));
    // A rate that fits the day (1.25M in its first 10 hours: 3M a day) leaves it whole.
    const slower = new EventHourTally();
    slower.add(new Table({ time: vectorFromArray(Array.from({ length: 1000 }, (_, i) => t + Math.floor((i / 1000) * 10 * HOUR)), new TimestampMillisecond('UTC')) }).batches[0]!);
    expect([...slower.crowdedDays(FILL * limit, true)]).toEqual([]);
    // The rate is the day's own: hours of the slice before it (quiet) do not dilute it.
    const late = new EventHourTally();
    late.add(new Table({ time: vectorFromArray([t - 20 * HOUR, ...Array.from({ length: 999 }, (_, i) => t + Math.floor((i / 999) * 6 * HOUR))], new TimestampMillisecond('UTC')) }).batches[0]!);
    expect([...late.crowdedDays(FILL * limit, true).keys()]).toEqual(['2024-06-01']);
  });

  it('parts hold the busiest day seen in 80% of the limit, and are at most half the slice', () => {
    const month = slice('2024-06-01', '2024-06-30', null);
    // A body in time order: 5 full days of 1M read before the limit → 4-day parts (4M ≤ 0.8 × 5M).
    expect(shrunkPartSize(month, 5_000_000, 1_000_000, 50_000)).toEqual({ unit: 'day', size: 4 });
    // A shuffled body: the 5M rows read are spread over 30 days → the estimate says 24 days; half the slice wins.
    expect(shrunkPartSize(month, 5_000_000, 5_000_000 / 30, 7_000)).toEqual({ unit: 'day', size: 15 });
    // A day seen with more than 80% of the limit: one-day parts (a day is cut into hours once it overflows alone).
    expect(shrunkPartSize(month, 5_000_000, 4_500_000, 300_000)).toEqual({ unit: 'day', size: 1 });
    // A day: hours for the busiest hour seen (130 → 6 hours; 300k → 13, capped at half the day).
    expect(shrunkPartSize(slice('2024-06-01', '2024-06-01', null), 5_000_000, 4_500_000, 300_000)).toEqual({ unit: 'hour', size: 12 });
    expect(shrunkPartSize(slice('2024-06-01', '2024-06-01', null), 1000, 1001, 130)).toEqual({ unit: 'hour', size: 6 });
    expect(shrunkPartSize(slice('2024-06-01', '2024-06-01', null, [6, 9]), 1000, 1001, 10)).toEqual({ unit: 'hour', size: 2 });
    expect(shrunkPartSize(slice('2024-06-01', '2024-06-01', null, [6, 7]), 1000, 1001, 1001)).toBeNull();
    expect(isOneHour(slice('2024-06-01', '2024-06-01', null, [6, 7]))).toBe(true);
    expect(isOneHour(slice('2024-06-01', '2024-06-01', null))).toBe(false);
    expect(FILL).toBe(0.8);
  });

  it('every re-plan tiles the same hours in the same order, keeps lower_ms, and cuts every slice larger than the part', () => {
    const plans: Slice[][] = [
      [slice('2024-01-01', '2024-01-30', null), slice('2024-01-31', '2024-02-04', 99)],
      [slice('2024-03-05', '2024-03-05', 7, [3, 24]), slice('2024-03-06', '2024-03-08', 7)],
      [slice('2023-12-30', '2024-01-02', null)],
    ];
    const sizes: PartSize[] = [1, 2, 3, 7, 31].map((size) => ({ unit: 'day', size }) as PartSize).concat([1, 2, 5, 12].map((size) => ({ unit: 'hour', size }) as PartSize));
    for (const plan of plans) {
      for (const size of sizes) {
        const parts = resliced(plan, size);
        expect(hoursCovered(parts)).toEqual(hoursCovered(plan));
        for (const part of parts) {
          const from = plan.find((s) => s.from <= part.from && part.to <= s.to)!;
          expect(part.lower_ms).toBe(from.lower_ms);
          if (size.unit === 'day') expect(daysInRange(part.from, part.to)).toBeLessThanOrEqual(size.size);
          else {
            expect(part.from).toBe(part.to);
            const [h0, h1] = part.hours ?? [0, 24];
            expect(h1 - h0 <= size.size || (part.hours === undefined && 24 <= size.size)).toBe(true);
          }
        }
      }
    }
    expect(resliced([slice('2024-01-01', '2024-01-10', null)], { unit: 'day', size: 4 })).toEqual([
      slice('2024-01-01', '2024-01-04', null),
      slice('2024-01-05', '2024-01-08', null),
      slice('2024-01-09', '2024-01-10', null),
    ]);
    expect(resliced([slice('2024-01-01', '2024-01-01', 5, [3, 24])], { unit: 'hour', size: 8 })).toEqual([
      slice('2024-01-01', '2024-01-01', 5, [3, 11]),
      slice('2024-01-01', '2024-01-01', 5, [11, 19]),
      slice('2024-01-01', '2024-01-01', 5, [19, 24]),
    ]);
  });

  it('a day size re-plans every slice of the plan; an hour size only the day that overflowed', () => {
    const plan = [slice('2024-01-01', '2024-01-06', null), slice('2024-01-07', '2024-01-09', 3), slice('2024-01-10', '2024-01-10', 3)];
    expect(replanned(plan, { unit: 'day', size: 2 }, 1000)).toEqual([
      slice('2024-01-01', '2024-01-02', null),
      slice('2024-01-03', '2024-01-04', null),
      slice('2024-01-05', '2024-01-06', null),
      slice('2024-01-07', '2024-01-08', 3),
      slice('2024-01-09', '2024-01-09', 3),
      slice('2024-01-10', '2024-01-10', 3),
    ]);
    const day = [slice('2024-01-10', '2024-01-10', 3), slice('2024-01-11', '2024-01-11', 3)];
    expect(replanned(day, { unit: 'hour', size: 12 }, 1000, new Map([['2024-01-11', 900]]))).toEqual([slice('2024-01-10', '2024-01-10', 3, [0, 12]), slice('2024-01-10', '2024-01-10', 3, [12, 24]), day[1]]);
  });

  it('days already seen over 80% of the limit are cut into hours at once, sized from their busiest hour', () => {
    const tally = new EventHourTally();
    const d1 = Date.UTC(2024, 0, 2);
    const times: number[] = [];
    for (let i = 0; i < 900; i++) times.push(d1 + Math.floor(i / 100) * HOUR + i); // 2024-01-02: 9 hours of 100
    for (let i = 0; i < 101; i++) times.push(d1 + DAY + i * 60_000); // 2024-01-03: 101 events
    tally.add(new Table({ time: vectorFromArray(times, new TimestampMillisecond('UTC')) }).batches[0]!);
    const crowded = tally.crowdedDays(FILL * 1000);
    expect([...crowded]).toEqual([['2024-01-02', 100]]);
    const plan = [slice('2024-01-01', '2024-01-04', null), slice('2024-01-05', '2024-01-06', null)];
    const size = shrunkPartSize(plan[0]!, 1000, tally.busiestDay(), tally.busiestHour())!;
    expect(size).toEqual({ unit: 'day', size: 1 });
    const hours = (h0: number, h1: number): Slice => slice('2024-01-02', '2024-01-02', null, [h0, h1]);
    expect(replanned(plan, size, 1000, crowded)).toEqual([
      slice('2024-01-01', '2024-01-01', null),
      hours(0, 8),
      hours(8, 16),
      hours(16, 24),
      slice('2024-01-03', '2024-01-03', null),
      slice('2024-01-04', '2024-01-04', null),
      slice('2024-01-05', '2024-01-05', null),
      slice('2024-01-06', '2024-01-06', null),
    ]);
    expect(hoursCovered(replanned(plan, size, 1000, crowded))).toEqual(hoursCovered(plan));
  });

  it('max_events_per_call: default 5,000,000, 0 = no limit, anything else that is not a whole number is refused by name', () => {
    expect(parseEventsOptions({}).maxEventsPerCall).toBe(5_000_000);
    expect(parseEventsOptions({ max_events_per_call: '0' }).maxEventsPerCall).toBeNull();
    expect(parseEventsOptions({ max_events_per_call: ' 250000 ' }).maxEventsPerCall).toBe(250_000);
    for (const bad of ['-1', '1e6', 'lots', '2.5']) {
      expect(() => parseEventsOptions({ max_events_per_call: bad })).toThrow(ConfigError);
      expect(() => parseEventsOptions({ max_events_per_call: bad })).toThrow(/max_events_per_call/);
    }
  });
});

const T0 = Date.parse('2024-06-10T12:00:00Z');

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function keys(rows: readonly Row[]): string[] {
  return rows.map((r) => String(r['dedupe_key'])).sort();
}

function tooLarge(errors: readonly unknown[]): CallTooLargeError[] {
  for (const e of errors) expect(e).toBeInstanceOf(CallTooLargeError);
  return errors as CallTooLargeError[];
}

describe('max_events_per_call against the emulator', () => {
  it('a body in time order: one discarded call, then parts sized from it; every kept call within the limit, the same rows', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, eventsPerDay: 400, days: 6, seed: 4 });
    const source = () => emulatorSource(emulator!, { now: () => T0, config: { historicalDays: 7 } });
    const unlimited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '0' } });
    expect(unlimited.errors).toEqual([]);
    expect(unlimited.rows.length).toBeGreaterThan(2000);
    const stats = emptyReadStats();
    const limited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '1000' }, stats });
    expect(keys(limited.rows)).toEqual(keys(unlimited.rows));
    for (const call of limited.committed) expect(call.rows.length).toBeLessThanOrEqual(1000);
    const errors = tooLarge(limited.errors);
    expect(errors.map((e) => e.code)).toEqual(['MP_EVENTS_CALL_TOO_LARGE']);
    expect(errors[0]!.message).toMatch(/more than 1000 events in one call \(max_events_per_call\); the call was discarded and the slice is read again in \d+ parts of at most 2 days/);
    expect(limited.discardedRows).toBeLessThanOrEqual(1000 + 1000);
    expect(stats.counters['events.calls_resized']).toBe(1);
  });

  it('a body in time order read in small batches is ended at a quarter of the limit, its size projected, and re-planned from it', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, eventsPerDay: 400, days: 6, seed: 4 });
    const source = (config = {}) => emulatorSource(emulator!, { now: () => T0, config: { historicalDays: 7, parseWorkers: 0, ...config }, parseChunkBytes: 4 * 1024 });
    const unlimited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '0' } });
    const stats = emptyReadStats();
    const limited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '1000' }, stats });
    expect(keys(limited.rows)).toEqual(keys(unlimited.rows));
    for (const call of limited.committed) expect(call.rows.length).toBeLessThanOrEqual(1000);
    const errors = tooLarge(limited.errors);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^events \S+: about \d+ events projected from the first \d+ read, in time order: more than 1000 in one call \(max_events_per_call\); the call was discarded and the slice is read again in \d+ parts of at most 2 days$/),
    ]);
    // Ended once it had read a quarter of the limit (the batch that crossed it is not handed on), not at 1,000 lines.
    expect(limited.discardedRows).toBeGreaterThan(0);
    expect(limited.discardedRows).toBeLessThan(250);
    expect(stats.counters['events.calls_resized']).toBe(1);

    // A legacy local-time project's slices are not UTC days: no projection, the call ends at the limit.
    const legacy = await driveTable(source({ legacyLocalTime: true, projectTimezone: 'UTC' }), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '1000' } });
    expect(tooLarge(legacy.errors).map((e) => e.message)).toEqual([expect.stringMatching(/: more than 1000 events in one call \(max_events_per_call\)/)]);
    expect(legacy.discardedRows).toBeGreaterThan(900); // up to the batch that crossed 1,000
  });

  it('a call ended early while reading a day that will not fit cuts that day into hours in the same re-plan', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, seed: 5 });
    const day = Date.parse('2024-06-06T00:00:00Z'); // the first day of the first slice
    const events: IngestEvent[] = [];
    // 2,400 events over 2024-06-06 and 20 over the next day, in time order (the body comes in this order).
    for (let i = 0; i < 2400; i++) events.push({ event: 'Dense', properties: { time: day + Math.floor((i / 2400) * DAY), distinct_id: `u${i % 11}`, $insert_id: `dense-${i}` } });
    for (let i = 0; i < 20; i++) events.push({ event: 'Quiet', properties: { time: day + DAY + i * HOUR, distinct_id: 'q', $insert_id: `quiet-${i}` } });
    emulator.data.importEvents(events, { processingTimeMs: T0 - DAY });
    const source = () => emulatorSource(emulator!, { now: () => T0, config: { historicalDays: 4, parseWorkers: 0 }, parseChunkBytes: 4 * 1024 });
    const unlimited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '0' } });
    expect(unlimited.rows.length).toBe(2420);
    const stats = emptyReadStats();
    const limited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '2000' }, stats });
    expect(keys(limited.rows)).toEqual(keys(unlimited.rows));
    for (const call of limited.committed) expect(call.rows.length).toBeLessThanOrEqual(2000);
    // Ended at a quarter of the limit, ~5 hours into 2024-06-06: at that day's rate (~2,400) it would not fit 80% of
    // the limit, so the one re-plan reads it in hours; it is never read whole and ended a second time.
    expect(tooLarge(limited.errors).map((e) => e.message)).toEqual([
      expect.stringMatching(/^events 2024-06-06\.\.2024-06-10: about \d+ events projected from the first \d+ read, in time order: more than 2000 in one call \(max_events_per_call\); the call was discarded and the slice is read again in \d+ parts of at most 1 day, 2024-06-06 in hours$/),
    ]);
    expect(stats.counters['events.calls_resized']).toBe(1);
    expect(limited.discardedRows).toBeLessThan(1000);
  });

  it('a day over the limit is read in hours; a body in no order (ingested shuffled) still converges within the limit', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, seed: 9 });
    const day = Date.parse('2024-06-08T00:00:00Z');
    const events: IngestEvent[] = [];
    for (let i = 0; i < 2600; i++) {
      // 2,000 events on 2024-06-08, 600 spread over the two days around it; a scrambled order.
      const k = (i * 7919) % 2600;
      const time = k < 2000 ? day + Math.floor((k / 2000) * DAY) : day - DAY + Math.floor(((k - 2000) / 600) * 3 * DAY);
      events.push({ event: 'Viewed', properties: { time, distinct_id: `u${i % 13}`, $insert_id: `cs-${i}` } });
    }
    emulator.data.importEvents(events, { processingTimeMs: T0 - DAY });
    const source = (chunk?: number) => emulatorSource(emulator!, { now: () => T0, config: { historicalDays: 4, parseWorkers: 0 }, ...(chunk ? { parseChunkBytes: chunk } : {}) });
    const unlimited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '0' } });
    expect(unlimited.rows.length).toBe(2600);
    const limited = await driveTable(source(), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '500' } });
    expect(keys(limited.rows)).toEqual(keys(unlimited.rows));
    for (const call of limited.committed) expect(call.rows.length).toBeLessThanOrEqual(500);
    const errors = tooLarge(limited.errors);
    // The dense day is seen over 80% of the limit in the rows read: it goes to hours in the same re-plan.
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^events 2024-06-06\.\.2024-06-10: more than 500 events .* in \d+ parts of at most 1 day, 2024-06-08 in hours$/)]);
    const hourCalls = emulator.log.forRoute('export').filter((e) => e.status === 200 && (e.params['where'] ?? '').includes('$time'));
    expect(hourCalls.length).toBeGreaterThan(4);
    expect(hourCalls.every((e) => e.params['from_date'] === '2024-06-08')).toBe(true);

    // In small batches the size is projected every 125 lines: a body in no order is never ended early by it.
    const small = await driveTable(source(4 * 1024), 'events', null, { tableOptions: { safety_lag: '0', max_events_per_call: '500' } });
    expect(keys(small.rows)).toEqual(keys(unlimited.rows));
    for (const call of small.committed) expect(call.rows.length).toBeLessThanOrEqual(500);
    const messages = tooLarge(small.errors).map((e) => e.message);
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) expect(message).toMatch(/: more than 500 events in one call/);
  });

  it('a one-hour slice is read whole even over the limit (nothing smaller exists)', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, seed: 2 });
    const hour = Date.parse('2024-06-08T10:00:00Z');
    const events: IngestEvent[] = Array.from({ length: 300 }, (_, i) => ({ event: 'Burst', properties: { time: hour + i * 1000, distinct_id: 'u', $insert_id: `burst-${i}` } }));
    emulator.data.importEvents(events, { processingTimeMs: T0 - DAY });
    const source = emulatorSource(emulator, { now: () => T0, config: { historicalDays: 3 } });
    // One-day slices: the day overflows alone, and is cut into hours (its busiest hour seen is over 80 → 1 hour).
    const run = await driveTable(source, 'events', null, { tableOptions: { safety_lag: '0', window_days: '1', max_events_per_call: '100' } });
    expect(run.rows.length).toBe(300);
    expect(new Set(keys(run.rows)).size).toBe(300);
    const whole = run.committed.find((c) => c.rows.length === 300);
    expect(whole).toBeDefined();
    expect(tooLarge(run.errors).map((e) => e.message)).toEqual([expect.stringMatching(/^events 2024-06-08: more than 100 events .* in 24 parts of at most 1 hour$/)]);
  });
});
