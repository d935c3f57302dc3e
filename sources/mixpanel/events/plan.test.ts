import { describe, expect, it } from 'vitest';
import { eventsCursor, slice } from './cursor.js';
import { parseEventsOptions, userWhere } from './options.js';
import { planRun, sliceWhere, splitSlice } from './plan.js';

const at = (iso: string): number => Date.parse(iso);
const opts = (o: Record<string, string> = {}) => parseEventsOptions({ safety_lag: '0', ...o });

describe('planRun', () => {
  it('first run: start_date = today − historical_days, no lower bound, chunks of window_days', () => {
    const plan = planRun({ cursor: null, runStartMs: at('2024-05-20T12:00:00Z'), options: opts({ window_days: '4' }), zone: 'UTC', historicalDays: 9 });
    expect(plan).toEqual({
      kind: 'read',
      startDate: '2024-05-11',
      upperMs: at('2024-05-20T12:00:00Z'),
      lastDate: '2024-05-20',
      slices: [slice('2024-05-11', '2024-05-14', null), slice('2024-05-15', '2024-05-18', null), slice('2024-05-19', '2024-05-20', null)],
    });
  });

  it('later run: dates already read get lower = watermark, new dates none; lookback from date(W)', () => {
    const w = at('2024-05-20T12:00:00Z');
    const cursor = eventsCursor('2024-05-01', w, '2024-05-20', null);
    const plan = planRun({ cursor, runStartMs: at('2024-05-21T01:00:00Z'), options: opts({ lookback_days: '3', safety_lag: '10' }), zone: 'UTC', historicalDays: 30 });
    expect(plan).toEqual({
      kind: 'read',
      startDate: '2024-05-01',
      upperMs: at('2024-05-21T00:50:00Z'),
      lastDate: '2024-05-21',
      slices: [slice('2024-05-17', '2024-05-20', w), slice('2024-05-21', '2024-05-21', null)],
    });
  });

  it('is up to date when upper ≤ watermark', () => {
    const w = at('2024-05-20T12:00:00Z');
    expect(planRun({ cursor: eventsCursor('2024-05-01', w, '2024-05-20', null), runStartMs: w + 5 * 60_000, options: opts({ safety_lag: '10' }), zone: 'UTC', historicalDays: 30 })).toEqual({ kind: 'up_to_date' });
  });

  it('attribution_window mode re-reads the last N days with no lower bound', () => {
    const w = at('2024-05-20T12:00:00Z');
    const plan = planRun({ cursor: eventsCursor('2024-05-01', w, '2024-05-20', null), runStartMs: at('2024-05-21T01:00:00Z'), options: opts({ incremental_mode: 'attribution_window', attribution_window: '2' }), zone: 'UTC', historicalDays: 30 });
    expect(plan.kind === 'read' && plan.slices).toEqual([slice('2024-05-18', '2024-05-21', null)]);
  });

  it('computes today in the interpreting zone (Asia/Kolkata days start at 18:30Z)', () => {
    const before = planRun({ cursor: null, runStartMs: at('2024-05-20T18:29:59Z'), options: opts(), zone: 'Asia/Kolkata', historicalDays: 1 });
    const after = planRun({ cursor: null, runStartMs: at('2024-05-20T18:30:00Z'), options: opts(), zone: 'Asia/Kolkata', historicalDays: 1 });
    expect(before.kind === 'read' && before.lastDate).toBe('2024-05-20');
    expect(after.kind === 'read' && after.lastDate).toBe('2024-05-21');
    const utc = planRun({ cursor: null, runStartMs: at('2024-05-20T23:59:59Z'), options: opts(), zone: 'UTC', historicalDays: 1 });
    expect(utc.kind === 'read' && utc.lastDate).toBe('2024-05-20');
  });

  it('start_date option overrides historical_days on the first run only', () => {
    const plan = planRun({ cursor: null, runStartMs: at('2024-05-20T12:00:00Z'), options: opts({ start_date: '2024-05-18' }), zone: 'UTC', historicalDays: 30 });
    expect(plan.kind === 'read' && plan.startDate).toBe('2024-05-18');
  });
});

describe('splitSlice and sliceWhere', () => {
  it('splits days in halves, then one day into 24 hours, then hours in halves', () => {
    expect(splitSlice(slice('2024-05-01', '2024-05-05', 7))).toEqual([slice('2024-05-01', '2024-05-03', 7), slice('2024-05-04', '2024-05-05', 7)]);
    const hours = splitSlice(slice('2024-05-01', '2024-05-01', null));
    expect(hours).toHaveLength(24);
    expect(hours?.[0]).toEqual(slice('2024-05-01', '2024-05-01', null, [0, 1]));
    expect(hours?.[23]).toEqual(slice('2024-05-01', '2024-05-01', null, [23, 24]));
    expect(splitSlice(slice('2024-05-01', '2024-05-01', null, [0, 4]))).toEqual([slice('2024-05-01', '2024-05-01', null, [0, 2]), slice('2024-05-01', '2024-05-01', null, [2, 4])]);
    expect(splitSlice(slice('2024-05-01', '2024-05-01', null, [5, 6]))).toBeNull();
  });

  it('writes open-lower / closed-upper processing bounds, the user filter and hour bounds', () => {
    expect(sliceWhere(slice('2024-05-01', '2024-05-01', 100, [22, 23]), 200, userWhere('properties["$os"]=="iOS"'))).toBe(
      '(properties["$os"] == "iOS") and properties["mp_processing_time_ms"] > 100 and properties["mp_processing_time_ms"] <= 200 and ' +
        'properties["$time"] >= datetime("2024-05-01T22:00:00") and properties["$time"] < datetime("2024-05-01T23:00:00")',
    );
    // The day's first and last hours are open-ended (from/to bound the day): the tiling holds in any zone.
    expect(sliceWhere(slice('2024-05-01', '2024-05-01', null, [0, 1]), 200, undefined)).toBe('properties["mp_processing_time_ms"] <= 200 and properties["$time"] < datetime("2024-05-01T01:00:00")');
    expect(sliceWhere(slice('2024-05-01', '2024-05-01', null, [23, 24]), 200, undefined)).toBe('properties["mp_processing_time_ms"] <= 200 and properties["$time"] >= datetime("2024-05-01T23:00:00")');
    expect(sliceWhere(slice('2024-05-01', '2024-05-02', null), 200, undefined)).toBe('properties["mp_processing_time_ms"] <= 200');
  });
});

describe('parseEventsOptions', () => {
  it('rejects bad values naming the option', () => {
    expect(() => parseEventsOptions({ lookback_days: 'five' })).toThrow(/lookback_days/);
    expect(() => parseEventsOptions({ incremental_mode: 'tap' })).toThrow(/processing_watermark or attribution_window/);
    expect(() => parseEventsOptions({ start_date: '2024-13-01' })).toThrow(/start_date/);
    expect(() => parseEventsOptions({ export_events: '[1]' })).toThrow(/export_events/);
    expect(parseEventsOptions({ export_events: 'a, b' }).exportEvents).toEqual(['a', 'b']);
    expect(parseEventsOptions({ export_events: '["a,b","c"]' }).exportEvents).toEqual(['a,b', 'c']);
  });
});
