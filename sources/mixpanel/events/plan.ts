/**
 * Pure planning of the events incremental model: which slices a run reads, how a failing slice splits, and the
 * `where` expression of a slice. No clock, no I/O: every instant comes in as an argument.
 */
import { addDays, dateInZone, daysInRange, maxDate, minDate, utcDateOfLocalMidnight } from './dates.js';
import { slice, type EventsCursor, type Slice } from './cursor.js';
import type { CanonicalWhere, EventsOptions } from './options.js';

export interface PlanInput {
  readonly cursor: EventsCursor | null;
  readonly runStartMs: number;
  readonly options: EventsOptions;
  /** 'UTC', or the project zone for legacy projects. */
  readonly zone: string;
  readonly historicalDays: number;
}

export type Plan =
  | { readonly kind: 'up_to_date' }
  | { readonly kind: 'read'; readonly startDate: string; readonly upperMs: number; readonly slices: readonly Slice[]; readonly lastDate: string | null };

/** Split [from, to] into chunks of at most `windowDays`, all with the same lower bound. */
function chunks(from: string, to: string, lower: number | null, windowDays: number): Slice[] {
  const out: Slice[] = [];
  for (let d = from; d <= to; d = addDays(d, windowDays)) out.push(slice(d, minDate(to, addDays(d, windowDays - 1)), lower));
  return out;
}

/**
 * The last event date a plan may read with `end_date` set: `end_date`, or `max_date_read` when dates after
 * `end_date` were already read (end_date lowered later). Those dates keep being re-scanned for late events
 * (processing-time filtered: no duplicate) instead of being dropped, so raising end_date again loses nothing.
 */
export function lastEventDate(endDate: string | undefined, maxRead: string | null): string | undefined {
  if (endDate === undefined) return undefined;
  return maxRead === null ? endDate : maxDate(endDate, maxRead);
}

/** The first event date a read from a null cursor covers: `start_date`, else `historical_days` before today (or before end_date, when earlier). */
export function firstReadDate(options: EventsOptions, today: string, historicalDays: number): string {
  return options.startDate ?? addDays(options.endDate === undefined ? today : minDate(today, options.endDate), -historicalDays);
}

/** What a read from a null cursor (a first run, a `--full-refresh`) would re-read. */
export interface FreshRead {
  /** First event date read, in the interpreting zone. */
  readonly from: string;
  /** The `event_date` partition (UTC) of the first instant read: `from` itself for UTC projects. */
  readonly partitionFrom: string;
  /** Last event date read (`end_date`), or null: up to today. */
  readonly to: string | null;
  /** Where `from` comes from, for messages: "start_date 2024-01-01" or "MIXPANEL_HISTORICAL_DAYS=30 before 2026-11-20". */
  readonly reason: string;
}

export function freshRead(input: Omit<PlanInput, 'cursor'>): FreshRead {
  const { options, zone } = input;
  const today = dateInZone(input.runStartMs - options.safetyLagMs, zone);
  const from = firstReadDate(options, today, input.historicalDays);
  const anchor = options.endDate === undefined ? today : minDate(today, options.endDate);
  return {
    from,
    partitionFrom: utcDateOfLocalMidnight(from, zone),
    to: options.endDate ?? null,
    reason: options.startDate !== undefined ? `start_date ${options.startDate}` : `MIXPANEL_HISTORICAL_DAYS=${input.historicalDays} before ${anchor}`,
  };
}

function fullRefreshRereads(table: string, fresh: FreshRead): string {
  return `a full refresh (--full-refresh ${table}) re-reads ${fresh.from}..${fresh.to ?? 'today'} (${fresh.reason})`;
}

/**
 * Dates the options ask for that the stored cursor will never read (a `start_date` moved before the date the
 * cursor began at): knowingly missing from the table (`ReadStats.missing`, exit 3) until a full refresh, which
 * the message names. None for a start cursor.
 */
export function cursorDriftMissing(table: string, cursor: EventsCursor | null, options: EventsOptions, fresh: FreshRead): string[] {
  const start = options.startDate;
  if (cursor === null || start === undefined || start >= cursor.start_date) return [];
  return [
    `${table}: start_date ${start} is before ${cursor.start_date}, the date this table's cursor began at: incremental runs never read ${start}..${addDays(cursor.start_date, -1)}. To load them, ${fullRefreshRereads(table, fresh)}.`,
  ];
}

/**
 * Options changed since the stored cursor began that leave rows the options no longer ask for in the table (the
 * cursor keeps the `start_date` it began with, and dates already read stay read): one warning each (information),
 * naming `--full-refresh <table>` and what a full refresh would re-read. None for a start cursor (a fresh read
 * honours every option). A `start_date` moved earlier is `cursorDriftMissing`.
 */
export function cursorDriftWarnings(table: string, cursor: EventsCursor | null, options: EventsOptions, fresh: FreshRead): string[] {
  if (cursor === null) return [];
  const warnings: string[] = [];
  const rereads = fullRefreshRereads(table, fresh);
  const start = options.startDate;
  if (start !== undefined && start > cursor.start_date) {
    warnings.push(
      `${table}: start_date ${start} is after ${cursor.start_date}, the date this table's cursor began at: rows from ${cursor.start_date}..${addDays(start, -1)} stay in the table. To drop them, ${rereads}.`,
    );
  }
  const end = options.endDate;
  if (end !== undefined && cursor.max_date_read !== null && end < cursor.max_date_read) {
    warnings.push(
      `${table}: end_date ${end} is before ${cursor.max_date_read}, the last date already read: rows dated ${addDays(end, 1)}..${cursor.max_date_read} stay in the table and those dates stay watched for late events. To drop them, ${rereads}.`,
    );
  }
  return warnings;
}

/** What the next run reads (when nothing is pending). */
export function planRun(input: PlanInput): Plan {
  const { cursor, options, zone } = input;
  const upperMs = input.runStartMs - options.safetyLagMs;
  const watermark = cursor?.watermark_ms ?? null;
  if (watermark !== null && upperMs <= watermark) return { kind: 'up_to_date' };
  const today = dateInZone(upperMs, zone);
  // The first run reaches historicalDays back from today, or from end_date when that is earlier.
  const startDate = cursor?.start_date ?? firstReadDate(options, today, input.historicalDays);
  const maxRead = cursor?.max_date_read ?? null;
  const end = lastEventDate(options.endDate, maxRead);
  let from = startDate;
  if (watermark !== null) {
    if (options.mode === 'processing_watermark') from = maxDate(startDate, addDays(dateInZone(watermark, zone), -options.lookbackDays));
    else from = maxDate(startDate, addDays(maxRead ?? today, -options.attributionWindowDays));
  }
  const to = end === undefined ? today : minDate(today, end);
  if (end !== undefined && watermark !== null) {
    // end_date: once nothing up to it is re-scanned any more, the table is complete: same cursor, no call.
    const horizon = options.mode === 'processing_watermark' ? options.lookbackDays : options.attributionWindowDays;
    if (from > to || addDays(dateInZone(watermark, zone), -horizon) > end) return { kind: 'up_to_date' };
  }
  if (from > to) return { kind: 'read', startDate, upperMs, slices: [], lastDate: null };
  let slices: Slice[];
  if (options.mode === 'attribution_window' || watermark === null || maxRead === null) {
    slices = chunks(from, to, null, options.windowDays);
  } else {
    // Dates already read once: only events processed after the watermark. Dates never read: everything ≤ upper.
    slices = [];
    const seenTo = minDate(to, maxRead);
    if (from <= seenTo) slices.push(...chunks(from, seenTo, watermark, options.windowDays));
    const freshFrom = maxDate(from, addDays(maxRead, 1));
    if (freshFrom <= to) slices.push(...chunks(freshFrom, to, null, options.windowDays));
  }
  return { kind: 'read', startDate, upperMs, slices, lastDate: to };
}

/** The parts a failing slice is replaced by (their union equals it), or null when it cannot split further. */
export function splitSlice(s: Slice): Slice[] | null {
  const days = daysInRange(s.from, s.to);
  if (days > 1) {
    const mid = addDays(s.from, Math.floor((days - 1) / 2));
    return [slice(s.from, mid, s.lower_ms), slice(addDays(mid, 1), s.to, s.lower_ms)];
  }
  if (s.hours === undefined) {
    return Array.from({ length: 24 }, (_, h) => slice(s.from, s.to, s.lower_ms, [h, h + 1]));
  }
  const [h0, h1] = s.hours;
  if (h1 - h0 <= 1) return null;
  const mid = h0 + Math.floor((h1 - h0) / 2);
  return [slice(s.from, s.to, s.lower_ms, [h0, mid]), slice(s.from, s.to, s.lower_ms, [mid, h1])];
}

/** A stable identity of a slice within one pending plan (for failure counting). */
export function sliceKey(s: Slice, upperMs: number): string {
  return JSON.stringify([s.from, s.to, s.lower_ms, s.hours ?? null, upperMs]);
}

function wallClock(date: string, hour: number): string {
  const d = hour === 24 ? addDays(date, 1) : date;
  const h = hour === 24 ? 0 : hour;
  return `${d}T${String(h).padStart(2, '0')}:00:00`;
}

/**
 * The export `where` of a slice: the user filter AND processing-time bounds AND (for hour slices) event-time
 * bounds as wall-clock datetimes. The user filter is the re-serialised parse tree (`CanonicalWhere`), AND-ed as one
 * parenthesised term: nothing the user wrote can close that parenthesis, so every bound always applies. The first hour of the day has no lower and the last no upper event-time bound
 * (`from_date`/`to_date` bound the day), and adjacent slices share the same boundary text: so the parts tile the
 * day exactly whichever zone Mixpanel reads `datetime("…")` in.
 */
export function sliceWhere(s: Slice, upperMs: number, userWhere: CanonicalWhere | undefined): string {
  const parts: string[] = [];
  if (userWhere !== undefined) parts.push(`(${userWhere})`);
  if (s.lower_ms !== null) parts.push(`properties["mp_processing_time_ms"] > ${s.lower_ms}`);
  parts.push(`properties["mp_processing_time_ms"] <= ${upperMs}`);
  if (s.hours !== undefined) {
    if (s.hours[0] > 0) parts.push(`properties["$time"] >= datetime("${wallClock(s.from, s.hours[0])}")`);
    if (s.hours[1] < 24) parts.push(`properties["$time"] < datetime("${wallClock(s.from, s.hours[1])}")`);
  }
  return parts.join(' and ');
}
