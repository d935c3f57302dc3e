/** Dates and zones as Mixpanel reads them. */
import { DateTime, IANAZone } from 'luxon';

export const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `yyyy-mm-dd` → true when it names a real calendar date. */
export function isValidDate(text: string): boolean {
  const m = DATE_RE.exec(text);
  if (m === null) return false;
  const d = DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }, { zone: 'UTC' });
  return d.isValid;
}

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** Epoch ms of 00:00 of `date` in `zone`. */
export function dayStartMs(date: string, zone: string): number {
  return DateTime.fromISO(date, { zone }).startOf('day').toMillis();
}

/** Epoch ms of 00:00 of the day after `date` in `zone`. */
export function dayEndMs(date: string, zone: string): number {
  return DateTime.fromISO(date, { zone }).startOf('day').plus({ days: 1 }).toMillis();
}

/** The calendar date of `ms` in `zone`. */
export function dateIn(ms: number, zone: string): string {
  if (zone === 'UTC') return new Date(ms).toISOString().slice(0, 10);
  return DateTime.fromMillis(ms, { zone }).toISODate() ?? new Date(ms).toISOString().slice(0, 10);
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC), Mixpanel's profile date format. */
export function mixpanelDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** `YYYY-MM-DD HH:MM:SS` (UTC), the cohorts list `created` format. */
export function cohortCreated(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Parse `YYYY-MM-DDTHH:MM:SS` (or with a space) as a wall clock in `zone`; NaN when malformed. */
export function parseWallClock(text: string, zone: string): number {
  const normalised = text.trim().replace(' ', 'T');
  const d = DateTime.fromISO(normalised, { zone });
  return d.isValid ? d.toMillis() : Number.NaN;
}

/**
 * UTC offset (ms) of `zone` at instant `ms`. Cached per zone and hour: offsets change on hour boundaries
 * in every zone the emulator is used with.
 */
export function makeOffsetLookup(zone: string): (ms: number) => number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return () => 0;
  const iana = IANAZone.create(zone);
  const cache = new Map<number, number>();
  return (ms: number): number => {
    const hour = Math.floor(ms / 3_600_000);
    let off = cache.get(hour);
    if (off === undefined) {
      off = iana.offset(ms) * 60_000;
      if (cache.size > 100_000) cache.clear();
      cache.set(hour, off);
    }
    return off;
  };
}
