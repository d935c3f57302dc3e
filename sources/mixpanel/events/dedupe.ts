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

function copyInto(out: Uint8Array, at: number, b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) out[at++] = b[i]!;
  return at;
}

/** Reused input of `dedupeKeyOfJsonTexts` (grown as needed), and its views from 0 by length (no view per key). */
let scratch = Buffer.allocUnsafe(512);
let views: Buffer[] = [];

function viewOf(length: number): Buffer {
  return (views[length] ??= scratch.subarray(0, length));
}

/**
 * `dedupeKey` for an event whose name, distinct_id and `$insert_id` are JSON string texts without a backslash in
 * `b` (each range includes its quotes), hashed from those bytes without making strings. Such a text is exactly
 * `JSON.stringify` of its value (a valid JSON string has no raw control character, and valid UTF-8 no lone
 * surrogate), so the hashed bytes are the UTF-8 of the text `dedupeKey` hashes. `eventFrom` < 0: the event name is
 * not a string (null); `distinctFrom` < 0: no distinct_id.
 */
export function dedupeKeyOfJsonTexts(
  b: Uint8Array,
  eventFrom: number,
  eventTo: number,
  distinctFrom: number,
  distinctTo: number,
  timeSeconds: number | null,
  insertFrom: number,
  insertTo: number,
): string {
  const need = 40 + (eventTo - eventFrom) + (distinctTo - distinctFrom) + (insertTo - insertFrom);
  if (scratch.length < need) {
    scratch = Buffer.allocUnsafe(need * 2);
    views = [];
  }
  const out = scratch;
  let at = out.write('v1\u0000[', 0, 'latin1');
  if (eventFrom < 0) at += out.write('null', at, 'latin1');
  else at = copyInto(out, at, b, eventFrom, eventTo);
  out[at++] = 0x2c;
  if (distinctFrom < 0) at += out.write('null', at, 'latin1');
  else {
    // JSON.stringify of the distinct_id's JSON text: its quotes escaped.
    at += out.write('"\\"', at, 'latin1');
    at = copyInto(out, at, b, distinctFrom + 1, distinctTo - 1);
    at += out.write('\\""', at, 'latin1');
  }
  out[at++] = 0x2c;
  at += out.write(timeSeconds === null ? 'null' : String(timeSeconds), at, 'latin1');
  out[at++] = 0x2c;
  at = copyInto(out, at, b, insertFrom, insertTo);
  out[at++] = 0x5d;
  return oneShotHash('sha256', viewOf(at), 'hex').slice(0, 32);
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
