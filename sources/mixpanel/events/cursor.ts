/**
 * The events cursor (versioned JSON, fixed key order, see docs/ARCHITECTURE.md "events: the incremental model"):
 * `{ v: 1, start_date, watermark_ms, max_date_read, pending: null | { upper_ms, slices: [{ from, to, lower_ms, hours? }] } }`.
 * Open/closed ends: a slice reads `lower_ms < mp_processing_time_ms ≤ upper_ms` (no lower bound when `lower_ms` is
 * null) for event dates `from..to` inclusive, and when `hours` = [h0, h1], event times in [h0:00, h1:00) of that day.
 */
import { ConfigError, isStartCursor, type Cursor } from '../../../connector-spec/index.js';
import { isDate } from './dates.js';

export interface Slice {
  readonly from: string;
  readonly to: string;
  readonly lower_ms: number | null;
  readonly hours?: readonly [number, number];
}

export interface Pending {
  readonly upper_ms: number;
  readonly slices: readonly Slice[];
}

export interface EventsCursor {
  readonly v: 1;
  readonly start_date: string;
  readonly watermark_ms: number | null;
  readonly max_date_read: string | null;
  readonly pending: Pending | null;
}

function bad(why: string): ConfigError {
  return new ConfigError(`The events cursor is not understood (${why}): reset the table's state (run with --full-refresh)`, {
    code: 'MP_EVENTS_CURSOR_INVALID',
    context: { table: 'events' },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function msOrNull(value: unknown, name: string): number | null {
  if (value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw bad(`${name} must be an integer or null`);
}

function date(value: unknown, name: string): string {
  if (typeof value === 'string' && isDate(value)) return value;
  throw bad(`${name} must be a YYYY-MM-DD date`);
}

function parseSlice(value: unknown): Slice {
  if (!isObject(value)) throw bad('a pending slice is not an object');
  const from = date(value['from'], 'slice.from');
  const to = date(value['to'], 'slice.to');
  if (from > to) throw bad('slice.from is after slice.to');
  const lower = msOrNull(value['lower_ms'], 'slice.lower_ms');
  const hours = value['hours'];
  if (hours === undefined) return slice(from, to, lower);
  if (!Array.isArray(hours) || hours.length !== 2 || !hours.every((h) => Number.isInteger(h)) || !(0 <= hours[0] && hours[0] < hours[1] && hours[1] <= 24) || from !== to) {
    throw bad('slice.hours must be [h0, h1] with 0 ≤ h0 < h1 ≤ 24 on a one-day slice');
  }
  return slice(from, to, lower, [hours[0] as number, hours[1] as number]);
}

/** A slice with its keys in the fixed order. */
export function slice(from: string, to: string, lower_ms: number | null, hours?: readonly [number, number]): Slice {
  return hours === undefined ? { from, to, lower_ms } : { from, to, lower_ms, hours: [hours[0], hours[1]] };
}

/** Parse a cursor from the host; `null` for a start cursor (`null`, `{}`). */
export function parseEventsCursor(cursor: Cursor): EventsCursor | null {
  if (isStartCursor(cursor)) return null;
  if (!isObject(cursor)) throw bad('not an object');
  if (cursor['v'] !== 1) throw bad(`version ${JSON.stringify(cursor['v'])}, expected 1`);
  const start_date = date(cursor['start_date'], 'start_date');
  const watermark_ms = msOrNull(cursor['watermark_ms'], 'watermark_ms');
  const mdr = cursor['max_date_read'];
  const max_date_read = mdr === null ? null : date(mdr, 'max_date_read');
  const pendingRaw = cursor['pending'];
  let pending: Pending | null = null;
  if (pendingRaw !== null) {
    if (!isObject(pendingRaw)) throw bad('pending must be an object or null');
    const upper = msOrNull(pendingRaw['upper_ms'], 'pending.upper_ms');
    if (upper === null) throw bad('pending.upper_ms must be an integer');
    const slices = pendingRaw['slices'];
    if (!Array.isArray(slices) || slices.length === 0) throw bad('pending.slices must be a non-empty array');
    pending = { upper_ms: upper, slices: slices.map(parseSlice) };
  }
  return eventsCursor(start_date, watermark_ms, max_date_read, pending);
}

/** A cursor with its keys in the fixed order (Spark compares cursors as JSON text). */
export function eventsCursor(start_date: string, watermark_ms: number | null, max_date_read: string | null, pending: Pending | null): EventsCursor {
  return {
    v: 1,
    start_date,
    watermark_ms,
    max_date_read,
    pending: pending === null ? null : { upper_ms: pending.upper_ms, slices: pending.slices.map((s) => slice(s.from, s.to, s.lower_ms, s.hours)) },
  };
}

/** The cursor as a plain JSON value. */
export function cursorJson(cursor: EventsCursor): Cursor {
  return JSON.parse(JSON.stringify(cursor)) as Cursor;
}
