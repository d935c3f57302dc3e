/**
 * Keeping one events call within `max_events_per_call` (a bound on a call's memory and staging disk): a tally of
 * the event hours a slice has read so far, and, when a slice reads past the limit, the smaller plan that replaces
 * it. Pure apart from the tally's counters.
 *
 * The export's line order is not documented, so the estimate does not rely on it. The busiest day (or hour) among
 * the rows read so far is a lower bound of that day's events whatever the order; parts are sized so that such a
 * day fits in `FILL` of the limit, and a part is at most half the slice that overflowed, so a plan shrinks on every
 * overflow, even when the rows read were spread thinly over the slice (a shuffled body). Hours are counted in UTC;
 * for a project on legacy local time a day's count is then off by the zone offset's hours, which only shifts the
 * estimate (the next overflow corrects it).
 */
import type { RecordBatch } from 'apache-arrow';
import { slice, type Slice } from './cursor.js';
import { addDays, dateOfDayNumber, dayNumber, daysInRange } from './dates.js';

/** Share of the limit a part is sized to hold, for the busiest day or hour seen. */
export const FILL = 0.8;

/** A slice checks its projected size each time it has read another quarter of the limit (`projectedEvents`). */
export const PROJECTION_STEP = 0.25;

const HOUR_MS = 3_600_000;

/** Events read per UTC hour of event time (`time`; rows without one are not counted). */
export class EventHourTally {
  readonly #hours = new Map<number, number>();
  #latest = Number.NEGATIVE_INFINITY;

  add(batch: RecordBatch): void {
    const time = batch.getChild('time');
    if (!time) return;
    for (const data of time.data) {
      const values = data.values as BigInt64Array;
      // The 64-bit milliseconds as two 32-bit words (little-endian), read without a BigInt per row.
      const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
      const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
      // Rows of one hour usually come together: count runs, one map update per run.
      let hour = Number.NaN;
      let run = 0;
      for (let r = 0; r < data.length; r++) {
        const i = data.offset + r;
        if (bitmap && ((bitmap[i >> 3]! >> (i & 7)) & 1) === 0) continue;
        const ms = words[2 * r + 1]! * 4_294_967_296 + (words[2 * r]! >>> 0);
        const h = Math.floor(ms / HOUR_MS);
        if (h === hour) {
          run++;
          continue;
        }
        if (run > 0) this.#count(hour, run);
        hour = h;
        run = 1;
      }
      if (run > 0) this.#count(hour, run);
    }
  }

  #count(hour: number, n: number): void {
    this.#hours.set(hour, (this.#hours.get(hour) ?? 0) + n);
    if (hour > this.#latest) this.#latest = hour;
  }

  /** The latest hour counted (hours since the epoch, UTC), or null before any. */
  latestHour(): number | null {
    return this.#hours.size === 0 ? null : this.#latest;
  }

  /** Most events counted in one hour. */
  busiestHour(): number {
    let most = 0;
    for (const n of this.#hours.values()) most = Math.max(most, n);
    return most;
  }

  /** Per UTC day number: the events counted, and the most counted in one of its hours. */
  #days(): Map<number, { total: number; busiest: number }> {
    const days = new Map<number, { total: number; busiest: number }>();
    for (const [hour, n] of this.#hours) {
      const day = Math.floor(hour / 24);
      const d = days.get(day) ?? { total: 0, busiest: 0 };
      d.total += n;
      d.busiest = Math.max(d.busiest, n);
      days.set(day, d);
    }
    return days;
  }

  /**
   * Events an hour in the latest day counted, over its hours up to the latest one (0 before any). For a body in time
   * order ended early (`projectedEvents`), the rate of the day it was reading: quiet days before it do not dilute it.
   */
  latestDayRate(): number {
    if (this.#hours.size === 0) return 0;
    const day = Math.floor(this.#latest / 24);
    return this.#days().get(day)!.total / (this.#latest - day * 24 + 1);
  }

  /**
   * The UTC days counted with more than `threshold` events (each alone is more than a part may hold), with the most
   * events counted in one of their hours. `projectLatest` (a call ended early by its projection): the day it was
   * reading, the latest hour's, counts as `latestDayRate()` × 24 events, its busiest hour at least that rate, so a
   * day that will not fit is cut into hours now rather than read whole and ended again.
   */
  crowdedDays(threshold: number, projectLatest = false): Map<string, number> {
    const out = new Map<string, number>();
    const days = this.#days();
    for (const [day, d] of days) if (d.total > threshold) out.set(dateOfDayNumber(day), d.busiest);
    const rate = projectLatest ? this.latestDayRate() : 0;
    if (rate * 24 > threshold) {
      const day = Math.floor(this.#latest / 24);
      out.set(dateOfDayNumber(day), Math.max(days.get(day)!.busiest, rate));
    }
    return out;
  }

  /** Most events counted in one UTC day. */
  busiestDay(): number {
    let most = 0;
    for (const d of this.#days().values()) most = Math.max(most, d.total);
    return most;
  }
}

/** The UTC hours a slice spans: the first (hours since the epoch) and how many. */
export function sliceHours(s: Slice): { readonly first: number; readonly count: number } {
  const [h0, h1] = s.hours ?? [0, 24];
  return { first: dayNumber(s.from) * 24 + h0, count: s.hours ? h1 - h0 : daysInRange(s.from, s.to) * 24 };
}

/**
 * The events slice `s` would hold if the `rows` read so far were its earliest in event time: `rows` × its hours ÷ the
 * hours from its start to the latest hour seen, and an hourly rate for sizing its parts. For a body in time order this
 * estimates the whole slice early, quiet hours included. For a body in any other order, the latest hour seen is soon
 * near the slice's end, so the projection is about the rows read and never ends a call early. Over-projection
 * (traffic that falls within the slice) only costs a re-plan of a slice that would have fitted.
 */
export function projectedEvents(s: Slice, rows: number, latestHour: number | null): { readonly total: number; readonly perHour: number } {
  const { first, count } = sliceHours(s);
  const covered = latestHour === null ? count : Math.min(count, Math.max(1, latestHour - first + 1));
  return { total: (rows * count) / covered, perHour: rows / covered };
}

/** The largest part a re-plan cuts slices into: `size` days, or `size` hours of one day. */
export interface PartSize {
  readonly unit: 'day' | 'hour';
  readonly size: number;
}

/** Units (days or hours) expected to fit, between 1 and half of `span`. */
function fitting(limit: number, busiest: number, span: number): number {
  const fit = Math.floor((FILL * limit) / Math.max(1, busiest));
  return Math.max(1, Math.min(fit, Math.ceil(span / 2)));
}

/** A slice of one hour: the smallest there is. */
export function isOneHour(s: Slice): boolean {
  return s.hours !== undefined && s.hours[1] - s.hours[0] <= 1;
}

/**
 * The part size for a slice that read more than `limit` events (`busiestDay`/`busiestHour` from its tally), or
 * null when the slice is one hour and cannot be cut further.
 */
export function shrunkPartSize(s: Slice, limit: number, busiestDay: number, busiestHour: number): PartSize | null {
  const days = daysInRange(s.from, s.to);
  // A slice of several days is cut into days (down to one), so the sparse days around a dense one keep one export
  // call each (the export API allows 60 an hour); the dense days themselves go to hours in `replanned`.
  if (days > 1) return { unit: 'day', size: fitting(limit, busiestDay, days) };
  if (isOneHour(s)) return null;
  const [h0, h1] = s.hours ?? [0, 24];
  return { unit: 'hour', size: fitting(limit, busiestHour, h1 - h0) };
}

/**
 * The part size after slice `s` overflowed, from its tally. A slice ended early (`projected`) read only its first
 * hours, maybe a few of one day: its average rate per hour, and the rate of the day it was reading, are a floor for
 * its busiest day and hour, so a dense first day is not taken for a whole one.
 */
export function overflowPartSize(s: Slice, limit: number, tally: EventHourTally, projected: { readonly perHour: number } | null): PartSize | null {
  const perHour = projected ? Math.max(projected.perHour, tally.latestDayRate()) : 0;
  return shrunkPartSize(s, limit, Math.max(tally.busiestDay(), perHour * 24), Math.max(tally.busiestHour(), perHour));
}

/** One slice cut into parts of at most `size` (their union equals it, in order, with its `lower_ms`). */
function cut(s: Slice, size: PartSize): Slice[] {
  const out: Slice[] = [];
  if (size.unit === 'day') {
    if (daysInRange(s.from, s.to) <= size.size) return [s];
    for (let d = s.from; d <= s.to; d = addDays(d, size.size)) {
      const end = addDays(d, size.size - 1);
      out.push(slice(d, end < s.to ? end : s.to, s.lower_ms));
    }
    return out;
  }
  for (let n = dayNumber(s.from); n <= dayNumber(s.to); n++) {
    const day = dateOfDayNumber(n);
    const [h0, h1] = s.hours ?? [0, 24];
    if (h1 - h0 <= size.size) {
      out.push(s.hours === undefined ? slice(day, day, s.lower_ms) : slice(day, day, s.lower_ms, [h0, h1]));
      continue;
    }
    for (let h = h0; h < h1; h += size.size) out.push(slice(day, day, s.lower_ms, [h, Math.min(h1, h + size.size)]));
  }
  return out;
}

/** Slices with every one larger than `size` cut to it (the same events, in the same order). */
export function resliced(slices: readonly Slice[], size: PartSize): Slice[] {
  return slices.flatMap((s) => cut(s, size));
}

/**
 * The plan that replaces `slices` after its first one overflowed with part size `size`: a day size applies to
 * every slice of the plan (a backfill's density is learned once), an hour size only to the day that overflowed.
 * `crowded` (date → busiest hour seen, `EventHourTally.crowdedDays(FILL × limit)`) are days already seen to hold
 * more than a part may: they are cut into hours now rather than after overflowing alone.
 */
export function replanned(slices: readonly Slice[], size: PartSize, limit: number, crowded: ReadonlyMap<string, number> = new Map()): Slice[] {
  if (size.unit === 'hour') return [...resliced(slices.slice(0, 1), size), ...slices.slice(1)];
  return resliced(slices, size).flatMap((s) => {
    const busiest = crowded.get(s.from);
    if (busiest === undefined || s.from !== s.to || s.hours !== undefined) return [s];
    return cut(s, { unit: 'hour', size: fitting(limit, busiest, 24) });
  });
}

export function describePartSize(size: PartSize): string {
  return `${size.size} ${size.unit}${size.size === 1 ? '' : 's'}`;
}
