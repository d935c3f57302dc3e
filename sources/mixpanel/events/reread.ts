/**
 * `rereadCursor` for events (`mixpanel-lakeflow repair events`): the table lost the data files of some `event_date`
 * partitions, so the host removed them from its log and asks for a cursor that reads those dates again. The answer
 * is the stored cursor with slices put in front of its plan that read those dates *in full*: no lower
 * processing-time bound, the upper bound of the plan in progress (the watermark when nothing is pending). Then the
 * cursor goes on as before: the pending slices, if any, and the next run's plan from the same watermark. So every
 * event of those dates that was in the table is read again, and nothing else is lost or skipped; rows still present
 * (other files of a partition, events the pending slices read too) merge by `dedupe_key`.
 *
 * Partitions are UTC dates. Export dates are UTC too, except for legacy projects (project-zone dates): there a UTC
 * date spans the zone dates before and after it, so those are read as well. Dates are kept to the cursor's
 * `start_date` (nothing before it was ever read) and to the last date of the plan's upper bound.
 */
import type { Cursor } from '../../../connector-spec/index.js';
import { cursorJson, eventsCursor, parseEventsCursor, slice, type Slice } from './cursor.js';
import { addDays, dateInZone, isDate, maxDate } from './dates.js';

export interface RereadInput {
  readonly cursor: Cursor;
  /** `event_date` partition values (UTC dates) whose rows must be read again. */
  readonly dates: readonly string[];
  /** 'UTC', or the project zone for legacy projects. */
  readonly zone: string;
  /** Most event days per slice (`window_days`). */
  readonly windowDays: number;
}

/** Export dates (in `zone`) that cover the given UTC dates, sorted and unique. */
function exportDates(utcDates: readonly string[], zone: string): string[] {
  const out = new Set<string>();
  for (const d of utcDates) {
    if (zone === 'UTC') out.add(d);
    else for (const delta of [-1, 0, 1]) out.add(addDays(d, delta));
  }
  return [...out].sort();
}

/** Consecutive dates as slices of at most `windowDays` days, with no lower processing-time bound. */
function fullSlices(dates: readonly string[], windowDays: number): Slice[] {
  const slices: Slice[] = [];
  let from: string | undefined;
  let to: string | undefined;
  const flush = (): void => {
    if (from !== undefined && to !== undefined) slices.push(slice(from, to, null));
  };
  for (const d of dates) {
    if (from !== undefined && to !== undefined && d === addDays(to, 1) && addDays(from, windowDays - 1) >= d) {
      to = d;
      continue;
    }
    flush();
    from = d;
    to = d;
  }
  flush();
  return slices;
}

/**
 * The cursor that re-reads `dates` in full and then continues as `cursor` would; `undefined` when the cursor is a
 * start cursor (a read from the start covers every date anyway) or no date falls in what the table ever read.
 */
export function rereadEventsCursor(input: RereadInput): Cursor | undefined {
  const cursor = parseEventsCursor(input.cursor);
  if (cursor === null) return undefined;
  const upper = cursor.pending?.upper_ms ?? cursor.watermark_ms;
  if (upper === null) return undefined;
  const last = cursor.max_date_read === null ? dateInZone(upper, input.zone) : maxDate(cursor.max_date_read, dateInZone(upper, input.zone));
  const dates = exportDates(input.dates.filter(isDate), input.zone).filter((d) => d >= cursor.start_date && d <= last);
  if (dates.length === 0) return undefined;
  const reread = fullSlices(dates, Math.max(1, input.windowDays));
  const pending = { upper_ms: upper, slices: [...reread, ...(cursor.pending?.slices ?? [])] };
  return cursorJson(eventsCursor(cursor.start_date, cursor.watermark_ms, cursor.max_date_read, pending));
}
