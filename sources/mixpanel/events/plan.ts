/**
 * Pure planning of the events incremental model: which slices a run reads, how a failing slice splits, and the
 * `where` expression of a slice. No clock, no I/O: every instant comes in as an argument.
 */
import { addDays, dateInZone, daysInRange, maxDate, minDate } from './dates.js';
import { slice, type EventsCursor, type Slice } from './cursor.js';
import type { EventsOptions } from './options.js';

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

/** What the next run reads (when nothing is pending). */
export function planRun(input: PlanInput): Plan {
  const { cursor, options, zone } = input;
  const upperMs = input.runStartMs - options.safetyLagMs;
  const watermark = cursor?.watermark_ms ?? null;
  if (watermark !== null && upperMs <= watermark) return { kind: 'up_to_date' };
  const today = dateInZone(upperMs, zone);
  // The first run reaches historicalDays back from today, or from end_date when that is earlier.
  const startDate = cursor?.start_date ?? options.startDate ?? addDays(options.endDate === undefined ? today : minDate(today, options.endDate), -input.historicalDays);
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
 * bounds as wall-clock datetimes. The first hour of the day has no lower and the last no upper event-time bound
 * (`from_date`/`to_date` bound the day), and adjacent slices share the same boundary text: so the parts tile the
 * day exactly whichever zone Mixpanel reads `datetime("…")` in.
 */
export function sliceWhere(s: Slice, upperMs: number, userWhere: string | undefined): string {
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
