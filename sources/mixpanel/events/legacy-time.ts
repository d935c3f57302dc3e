/**
 * Legacy projects (created before 2023-01-01) store `time` as the project-local wall clock read as if it were UTC.
 * Converting back needs the IANA zone: a wall-clock time in the spring-forward gap does not exist (mapped forward
 * with the offset before the change, flagged `dst_gap`), one in the fall-back overlap exists twice (the candidate
 * ≤ `mp_processing_time_ms` closest to it wins, flagged `dst_ambiguous`). Never `fromObject`/`fromISO` with a zone:
 * their pick depends on today's date. Offsets come from `IANAZone.offset` and are cached per 15 wall-clock minutes
 * (every transition since 1970 falls on a quarter hour).
 */
import { IANAZone } from 'luxon';

export type TimeFlag = null | 'dst_gap' | 'dst_ambiguous';

const MINUTE = 60_000;
const DAY = 86_400_000;
const BUCKET = 15 * MINUTE;

interface Resolution {
  /** Offsets (minutes) whose instant shows this wall clock: 1 normally, 2 in an overlap, 0 in a gap. */
  readonly offsets: readonly number[];
  /** For a gap: the offset before the change. */
  readonly gapOffset: number;
}

export class LegacyClock {
  private readonly zone: IANAZone;
  private readonly cache = new Map<number, Resolution>();
  /** Flag of the last `toUtc` call. */
  flag: TimeFlag = null;

  constructor(zoneName: string) {
    const zone = IANAZone.create(zoneName);
    if (!zone.isValid) throw new RangeError(`invalid IANA zone ${zoneName}`);
    this.zone = zone;
  }

  private resolve(wallMs: number): Resolution {
    const bucket = Math.floor(wallMs / BUCKET);
    let r = this.cache.get(bucket);
    if (r === undefined) {
      const probe = bucket * BUCKET;
      const before = this.zone.offset(probe - DAY);
      const after = this.zone.offset(probe + DAY);
      const offsets: number[] = [];
      for (const o of before === after ? [before] : [before, after]) {
        if (this.zone.offset(probe - o * MINUTE) === o && !offsets.includes(o)) offsets.push(o);
      }
      if (offsets.length === 0) {
        // A quarter-hour bucket with no change inside a day of offsets: try the offset at the probe itself.
        const here = this.zone.offset(probe);
        if (this.zone.offset(probe - here * MINUTE) === here) offsets.push(here);
      }
      r = { offsets, gapOffset: before };
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(bucket, r);
    }
    return r;
  }

  /**
   * Wall-clock ms (local time read as UTC) → true UTC ms. `processingMs` (true UTC) breaks the tie in an overlap.
   * Sets `flag`.
   */
  toUtc(wallMs: number, processingMs: number | null): number {
    const { offsets, gapOffset } = this.resolve(wallMs);
    if (offsets.length === 1) {
      this.flag = null;
      return wallMs - offsets[0]! * MINUTE;
    }
    if (offsets.length === 0) {
      this.flag = 'dst_gap';
      return wallMs - gapOffset * MINUTE;
    }
    this.flag = 'dst_ambiguous';
    const candidates = offsets.map((o) => wallMs - o * MINUTE).sort((a, b) => a - b);
    if (processingMs !== null) {
      let best: number | undefined;
      for (const c of candidates) if (c <= processingMs) best = c;
      if (best !== undefined) return best;
    }
    return candidates[0]!;
  }
}
