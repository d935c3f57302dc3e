/**
 * Sanity check for projects configured as UTC (peer-lessons §7.4): a legacy (pre-2023) project stores `time` as
 * the local wall clock, so `mp_processing_time_ms − time` is a whole zone offset plus a short processing delay for
 * nearly every event. Backfills (`/import` of old events) give long but scattered delays and must not trip it.
 */
const HALF_HOUR = 30 * 60_000;
/** Processing delay allowed on top of the offset. */
const MAX_DELAY = 12 * 60_000;
/** Offsets beyond ±14 h do not exist. */
const MAX_BUCKET = 28;

/** A tally as plain data (it crosses a worker boundary). */
export interface ZoneShiftState {
  readonly compared: number;
  readonly buckets: readonly (readonly [number, number])[];
}

export class ZoneShiftTally {
  compared = 0;
  private readonly buckets = new Map<number, number>();

  state(): ZoneShiftState {
    return { compared: this.compared, buckets: [...this.buckets] };
  }

  /** Add another tally (a chunk of the same slice). */
  merge(other: ZoneShiftState): void {
    this.compared += other.compared;
    for (const [bucket, count] of other.buckets) this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + count);
  }

  /** `delayMs` = mp_processing_time_ms − time (both as exported). */
  add(delayMs: number): void {
    this.compared++;
    const bucket = Math.floor(delayMs / HALF_HOUR);
    if (bucket === 0 || Math.abs(bucket) > MAX_BUCKET) return;
    if (delayMs - bucket * HALF_HOUR > MAX_DELAY) return;
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
  }

  /** The offset (hours, positive = `time` behind processing) when ≥ 80% of ≥ 100 events share it, else null. */
  verdict(): number | null {
    if (this.compared < 100) return null;
    for (const [bucket, count] of this.buckets) if (count >= this.compared * 0.8) return bucket / 2;
    return null;
  }
}

export function legacyTimeMessage(offsetHours: number): string {
  return (
    `Most events have time exactly ${Math.abs(offsetHours)} h ${offsetHours > 0 ? 'behind' : 'ahead of'} mp_processing_time_ms: the project looks like a ` +
    'legacy (pre-2023) project storing local time. Set MIXPANEL_LEGACY_LOCAL_TIME=true and MIXPANEL_PROJECT_TIMEZONE to its timezone.'
  );
}
