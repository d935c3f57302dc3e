/**
 * Spool line → rows of the three tables. Pure. Numbers are parsed keeping their exact text, so `properties`,
 * `payload` and `raw` hold the JSON as the SDK sent it (key order and number text kept; `$` kept).
 * Typed columns come from their real places only: the event name from `event`, never from a property.
 */
import { LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { contentKey, dedupeKey } from '../mixpanel/index.js';

export const PROFILE_OPERATIONS: readonly string[] = ['$set', '$set_once', '$add', '$append', '$union', '$remove', '$unset', '$delete'];
export const GROUP_OPERATIONS: readonly string[] = ['$set', '$set_once', '$union', '$remove', '$unset', '$delete'];

export interface LineCommon {
  readonly endpoint: 'track' | 'engage' | 'groups';
  readonly receivedAtMs: number;
  readonly receivedDate: string;
  readonly clientIp: string | null;
  readonly requestId: string;
  readonly index: number | null;
  readonly upstreamStatus: number | null;
  /** Mixpanel's verdict on this record; null when unknown (and on lines written before the verdict existed). */
  readonly upstreamAccepted: boolean | null;
  readonly upstreamError: string | null;
}

export type ParsedLine =
  | { readonly kind: 'record'; readonly common: LineCommon; readonly record: unknown }
  | { readonly kind: 'undecodable'; readonly common: LineCommon; readonly reason: string }
  | { readonly kind: 'invalid'; readonly problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}

function exact(text: string): LosslessNumber {
  return new LosslessNumber(text);
}

export function jsonText(value: unknown): string {
  return losslessStringify(value) ?? 'null';
}

function num(value: unknown): number | null {
  if (value instanceof LosslessNumber) {
    const n = Number(value.toString());
    return Number.isFinite(n) ? n : null;
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A string, or the JSON text of a number (ids sent as numbers stay exact). */
function idText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof LosslessNumber) return value.toString();
  return null;
}

/** Seconds (SDKs send float seconds) or milliseconds → epoch ms. */
export function timeToMs(value: number): number {
  return Math.abs(value) >= 1e11 ? Math.round(value) : Math.round(value * 1000);
}

/** One spool line, validated. A line that is not the spool format is `invalid` (reported, never guessed at). */
export function parseSpoolLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = losslessParse(text, null, exact);
  } catch (error) {
    return { kind: 'invalid', problem: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (!isRecord(value) || num(value['v']) !== 1) return { kind: 'invalid', problem: 'not a version 1 spool line' };
  const endpoint = value['endpoint'];
  const receivedAt = str(value['received_at']);
  const requestId = str(value['request_id']);
  if ((endpoint !== 'track' && endpoint !== 'engage' && endpoint !== 'groups') || receivedAt === null || requestId === null) {
    return { kind: 'invalid', problem: 'endpoint, received_at or request_id missing' };
  }
  const receivedAtMs = Date.parse(receivedAt);
  if (!Number.isFinite(receivedAtMs)) return { kind: 'invalid', problem: `received_at ${receivedAt} is not a timestamp` };
  const common: LineCommon = {
    endpoint,
    receivedAtMs,
    receivedDate: new Date(receivedAtMs).toISOString().slice(0, 10),
    clientIp: str(value['client_ip']),
    requestId,
    index: num(value['index']),
    upstreamStatus: num(value['upstream_status']),
    upstreamAccepted: typeof value['upstream_accepted'] === 'boolean' ? value['upstream_accepted'] : null,
    upstreamError: str(value['upstream_error']),
  };
  const undecodable = value['undecodable'];
  if (isRecord(undecodable)) return { kind: 'undecodable', common, reason: str(undecodable['reason']) ?? 'unknown' };
  if (!('record' in value)) return { kind: 'invalid', problem: 'neither record nor undecodable' };
  return { kind: 'record', common, record: value['record'] };
}

export interface EventRow {
  readonly row_id: string;
  readonly dedupe_key: string;
  readonly event: string | null;
  readonly time_utc: number | null;
  readonly time_raw: number | null;
  readonly distinct_id: string | null;
  readonly device_id: string | null;
  readonly user_id: string | null;
  readonly insert_id: string | null;
  readonly token: string | null;
  readonly lib: string | null;
  readonly properties: string | null;
}

/** `/track` record → row (null when the record is not an object). Same `dedupe_key` rule as `events`. */
export function eventRow(common: LineCommon, record: unknown): EventRow | null {
  if (!isRecord(record)) return null;
  const props = isRecord(record['properties']) ? record['properties'] : null;
  const event = str(record['event']);
  const timeRaw = props === null ? null : num(props['time']);
  const timeMs = timeRaw === null ? null : timeToMs(timeRaw);
  const insertId = props === null ? null : str(props['$insert_id']);
  const distinct = props === null ? undefined : props['distinct_id'];
  const key =
    insertId !== null
      ? dedupeKey(event, distinct === undefined ? null : jsonText(distinct), timeMs === null ? null : Math.floor(timeMs / 1000), insertId)
      : contentKey(record);
  return {
    row_id: `${common.requestId}/${common.index ?? 0}`,
    dedupe_key: key,
    event,
    time_utc: timeMs,
    time_raw: timeRaw,
    distinct_id: props === null ? null : idText(distinct),
    device_id: props === null ? null : idText(props['$device_id']),
    user_id: props === null ? null : idText(props['$user_id']),
    insert_id: insertId,
    token: props === null ? null : str(props['token']),
    lib: props === null ? null : str(props['mp_lib']),
    properties: props === null ? (record['properties'] === undefined ? null : jsonText(record['properties'])) : jsonText(props),
  };
}

export interface UpdateRow {
  readonly row_id: string;
  readonly dedupe_key: string;
  readonly operation: string | null;
  readonly payload: string | null;
  readonly time_utc: number | null;
  readonly token: string | null;
  readonly raw: string;
}

/**
 * `/engage` or `/groups` record → one row per operation it carries (a record with none gives one row with a
 * null operation, so nothing is dropped). `dedupe_key` hashes the whole update: an SDK retry of a batch gives
 * the same key (two identical updates sent separately do too).
 */
export function updateRows(common: LineCommon, record: unknown, operations: readonly string[]): UpdateRow[] {
  if (!isRecord(record)) return [];
  const raw = jsonText(record);
  const time = num(record['$time']);
  const base = { time_utc: time === null ? null : timeToMs(time), token: str(record['$token']), raw };
  const ops = operations.filter((op) => op in record);
  const id = `${common.requestId}/${common.index ?? 0}`;
  if (ops.length === 0) return [{ ...base, row_id: id, dedupe_key: contentKey({ endpoint: common.endpoint, record }), operation: null, payload: null }];
  return ops.map((op) => ({
    ...base,
    row_id: `${id}/${op}`,
    dedupe_key: contentKey({ endpoint: common.endpoint, operation: op, record }),
    operation: op,
    payload: jsonText(record[op]),
  }));
}

/** Profile-specific columns of an `/engage` record. */
export function profileColumns(record: unknown): { distinct_id: string | null; device_id: string | null; user_id: string | null; ip: string | null; ignore_time: boolean | null } {
  if (!isRecord(record)) return { distinct_id: null, device_id: null, user_id: null, ip: null, ignore_time: null };
  const ip = record['$ip'];
  const ignore = record['$ignore_time'];
  return {
    distinct_id: idText(record['$distinct_id']),
    device_id: idText(record['$device_id']),
    user_id: idText(record['$user_id']),
    ip: ip === undefined || ip === null ? null : typeof ip === 'string' ? ip : jsonText(ip),
    ignore_time: ignore === undefined ? null : ignore === true || ignore === 'true',
  };
}

/** Group-specific columns of a `/groups` record. */
export function groupColumns(record: unknown): { group_key: string | null; group_id: string | null } {
  if (!isRecord(record)) return { group_key: null, group_id: null };
  return { group_key: str(record['$group_key']), group_id: idText(record['$group_id']) };
}
