/**
 * The cursor of the date-keyed report tables (funnels, revenue): versioned JSON with a fixed key order.
 *
 *   { "v": 1, "start_date": "YYYY-MM-DD", "watermark_ms": W | null, "done": { "<series id>": "YYYY-MM-DD" },
 *     "pending": null | { "upper_ms": U, "to": "YYYY-MM-DD", "queue": [ { "id", "name", "from" } ] } }
 *
 * A pass starts when the run's start U is after W: every series (one funnel; revenue has one series) is queued
 * from `max(start_date, done[id] − attribution_window)` (a series never read starts at `start_date`) to `to` =
 * today(U) in the project zone. Each call reads one date window of the queue's first series. When the queue is
 * empty: W = U, `done[id] = to` for every series read, `pending = null`. Dates are closed on both ends.
 */
import { ConfigError, isStartCursor, type Cursor } from '../../../connector-spec/index.js';
import { isDate } from '../events/dates.js';

export type QueueEntry = {
  readonly id: string;
  readonly name: string | null;
  readonly from: string;
};

export type ReportPending = {
  readonly upper_ms: number;
  readonly to: string;
  readonly queue: readonly QueueEntry[];
};

export type ReportCursor = {
  readonly v: 1;
  readonly start_date: string;
  readonly watermark_ms: number | null;
  readonly done: Readonly<Record<string, string>>;
  readonly pending: ReportPending | null;
};

function bad(table: string, why: string): ConfigError {
  return new ConfigError(`table ${table}: the stored cursor is not understood (${why}); reset the table's state (run with --full-refresh)`, {
    code: 'MP_BAD_CURSOR',
    context: { table },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function date(value: unknown, name: string, table: string): string {
  if (typeof value === 'string' && isDate(value)) return value;
  throw bad(table, `${name} must be a YYYY-MM-DD date`);
}

function ms(value: unknown, name: string, table: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw bad(table, `${name} must be an integer`);
}

/** Build a cursor with its keys in the fixed order (`done` sorted by id). */
export function reportCursor(start_date: string, watermark_ms: number | null, done: Readonly<Record<string, string>>, pending: ReportPending | null): ReportCursor {
  const sorted: Record<string, string> = {};
  for (const id of Object.keys(done).sort()) sorted[id] = done[id]!;
  const p = pending === null ? null : { upper_ms: pending.upper_ms, to: pending.to, queue: pending.queue.map((e) => ({ id: e.id, name: e.name, from: e.from })) };
  return { v: 1, start_date, watermark_ms, done: sorted, pending: p };
}

/** Parse the host's cursor; `null` for a start cursor (`null`, `{}`). Throws ConfigError synchronously. */
export function parseReportCursor(cursor: Cursor, table: string): ReportCursor | null {
  if (isStartCursor(cursor)) return null;
  if (!isObject(cursor)) throw bad(table, 'not an object');
  if (cursor['v'] !== 1) throw bad(table, `version ${JSON.stringify(cursor['v'])}, expected 1`);
  const start = date(cursor['start_date'], 'start_date', table);
  const w = cursor['watermark_ms'] === null ? null : ms(cursor['watermark_ms'], 'watermark_ms', table);
  const doneRaw = cursor['done'];
  if (!isObject(doneRaw)) throw bad(table, 'done must be an object');
  const done: Record<string, string> = {};
  for (const [id, d] of Object.entries(doneRaw)) done[id] = date(d, `done.${id}`, table);
  const p = cursor['pending'];
  let pending: ReportPending | null = null;
  if (p !== null) {
    if (!isObject(p) || !Array.isArray(p['queue'])) throw bad(table, 'pending must be null or {upper_ms, to, queue}');
    const to = date(p['to'], 'pending.to', table);
    const queue = (p['queue'] as unknown[]).map((e): QueueEntry => {
      if (!isObject(e) || typeof e['id'] !== 'string' || !(e['name'] === null || typeof e['name'] === 'string')) throw bad(table, 'a queue entry must be {id, name, from}');
      return { id: e['id'], name: e['name'] as string | null, from: date(e['from'], 'queue.from', table) };
    });
    pending = { upper_ms: ms(p['upper_ms'], 'pending.upper_ms', table), to, queue };
  }
  return reportCursor(start, w, done, pending);
}
