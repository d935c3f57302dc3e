/**
 * Datetimes of profile properties. Parsing is the source's one lenient parser (`properties.ts`): ISO with or
 * without `T`/zone (no zone = UTC), `YYYY-MM-DD`, epoch seconds or ms. Pure.
 */
import { parseLenientDatetime } from '../properties.js';

/** Epoch milliseconds (UTC) of a datetime value, or null when it is not one. */
export function parseProfileDatetime(value: unknown): number | null {
  return parseLenientDatetime(value);
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC, the form Mixpanel compares profile dates in (`where` bounds). */
export function formatWhereDatetime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
