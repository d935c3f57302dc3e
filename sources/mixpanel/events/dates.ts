/**
 * Calendar dates (`YYYY-MM-DD`) as pure values: arithmetic on the proleptic calendar and "the date of an instant
 * in a zone" through luxon with an explicit zone. Nothing here reads the host's TZ or the clock.
 */
import { DateTime } from 'luxon';

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, or NaN when it is not a real date. */
export function dayNumber(date: string): number {
  const m = DATE.exec(date);
  if (!m) return Number.NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(ms);
  if (back.getUTCDate() !== Number(m[3]) || back.getUTCMonth() !== Number(m[2]) - 1) return Number.NaN;
  return ms / DAY_MS;
}

export function isDate(text: string): boolean {
  return !Number.isNaN(dayNumber(text));
}

export function dateOfDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return dateOfDayNumber(dayNumber(date) + days);
}

/** Inclusive number of days in [from, to] (0 when from > to). */
export function daysInRange(from: string, to: string): number {
  return Math.max(0, dayNumber(to) - dayNumber(from) + 1);
}

export function maxDate(a: string, b: string): string {
  return a >= b ? a : b;
}

export function minDate(a: string, b: string): string {
  return a <= b ? a : b;
}

/** The calendar date of an instant in an IANA zone ('UTC' for UTC). */
export function dateInZone(ms: number, zone: string): string {
  if (zone === 'UTC') return new Date(ms).toISOString().slice(0, 10);
  const date = DateTime.fromMillis(ms, { zone }).toISODate();
  if (date === null) throw new RangeError(`cannot compute the date of ${ms} in zone ${zone}`);
  return date;
}

/** The UTC date of the first instant of `date` in an IANA zone (`date` itself for UTC; the day before east of UTC). */
export function utcDateOfLocalMidnight(date: string, zone: string): string {
  if (zone === 'UTC') return date;
  const utc = DateTime.fromISO(date, { zone }).toUTC().toISODate();
  if (utc === null) throw new RangeError(`cannot compute the start of ${date} in zone ${zone}`);
  return utc;
}

/** UTC date (`YYYY-MM-DD`) of an epoch-ms instant, cached for runs of the same day (the hot path). */
export class UtcDateCache {
  private day = Number.NaN;
  private text = '';

  dateOf(ms: number): string {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    }
    return this.text;
  }
}
