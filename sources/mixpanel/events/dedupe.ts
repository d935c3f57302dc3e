/**
 * `dedupe_key`: Mixpanel's own dedupe identity (event name, distinct_id, time in whole seconds, `$insert_id`),
 * hashed to a stable 32-hex-character key. Events without `$insert_id` hash their canonical JSON (keys sorted,
 * numbers exact) instead.
 */
import { hash as oneShotHash } from 'node:crypto';
import { stringifyJson } from '../json.js';

function hash(text: string): string {
  return oneShotHash('sha256', text, 'hex').slice(0, 32);
}

/** Key of an event with an `$insert_id`. `distinctId` is the JSON text of the raw value (null when absent). */
export function dedupeKey(event: string | null, distinctIdJson: string | null, timeSeconds: number | null, insertId: string): string {
  // The text of JSON.stringify([event, distinctIdJson, timeSeconds, insertId]), without the array.
  const e = event === null ? 'null' : JSON.stringify(event);
  const d = distinctIdJson === null ? 'null' : JSON.stringify(distinctIdJson);
  const t = timeSeconds === null ? 'null' : JSON.stringify(timeSeconds);
  return hash(`v1\u0000[${e},${d},${t},${JSON.stringify(insertId)}]`);
}

/** JSON with object keys sorted at every level (numbers written exactly). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return stringifyJson(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof (value as { isLosslessNumber?: unknown }).isLosslessNumber === 'boolean') return stringifyJson(value);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

/** Key of an event without `$insert_id`: its canonical JSON. */
export function contentKey(line: unknown): string {
  return hash(`v1-content\u0000${canonicalJson(line)}`);
}
