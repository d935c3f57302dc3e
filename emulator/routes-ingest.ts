/**
 * Ingestion: `/import` (authenticated, strict validation), `/track`, `/engage`, `/groups` (token in the
 * payload) in every encoding SDKs send: form `data=` (base64 or JSON, `+` turned into spaces tolerated),
 * JSON body, NDJSON, `text/plain` beacons, GET `?data=`, gzip; one object or an array.
 */
import type { Call } from './call.js';
import { ingestionError, sendJson, sendText } from './call.js';
import type { ProjectStore } from './store.js';
import { PROFILE_OPERATIONS, storedEvent, timeToMs } from './store.js';
import { isRecord, numberValue, parseJson, stringifyJson } from './json.js';

export const MAX_RECORDS = 2000;
const MIN_TIME_MS = Date.UTC(1971, 0, 1);
const BANNED_DISTINCT_IDS = new Set(['00000000-0000-0000-0000-000000000000', 'anon', 'anonymous', 'nil', 'none', 'null', 'n/a', 'na', 'undefined', 'unknown', '<nil>', '0', '-1', 'true', 'false', '[]', '{}']);
const INSERT_ID_RE = /^[A-Za-z0-9-]{1,36}$/;
export const MAX_EVENT_BYTES = 1024 * 1024;
export const MAX_EVENT_PROPERTIES = 255;

/** Mixpanel's per-event limits: < 1 MB of JSON and < 255 properties. */
function eventLimitProblem(props: Record<string, unknown>): string | undefined {
  const count = Object.keys(props).length;
  if (count > MAX_EVENT_PROPERTIES) return `'properties' is invalid: ${count} properties; an event may have at most ${MAX_EVENT_PROPERTIES}`;
  if (Buffer.byteLength(stringifyJson(props)) > MAX_EVENT_BYTES) return "'properties' is invalid: the event exceeds 1 MB";
  return undefined;
}

export type Decoded = { readonly ok: true; readonly items: unknown[] } | { readonly ok: false; readonly message: string };

function decodeDataValue(raw: string): unknown {
  const t = raw.trim();
  if (t.startsWith('{') || t.startsWith('[')) return parseJson(t);
  const b64 = t.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  return parseJson(Buffer.from(b64, 'base64').toString('utf8'));
}

/** The records of an ingestion request, whatever the encoding. */
export function decodePayload(c: Call): Decoded {
  try {
    let value: unknown;
    const text = c.body.toString('utf8');
    const queryData = c.query.get('data');
    if (c.contentType.includes('application/x-ndjson')) {
      value = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => parseJson(l));
    } else if (c.contentType.includes('application/json') || /^\s*[[{]/.test(text)) {
      value = parseJson(text);
    } else if (text.length > 0) {
      const form = new URLSearchParams(text);
      const data = form.get('data');
      if (data === null) return { ok: false, message: 'no data in the request body (expected data=<base64 or JSON>)' };
      value = decodeDataValue(data);
    } else if (queryData !== null) {
      value = decodeDataValue(queryData);
    } else {
      return { ok: false, message: 'no data in the request' };
    }
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    return { ok: true, items };
  } catch (e) {
    return { ok: false, message: `unable to parse request body: ${e instanceof Error ? e.message : String(e)}` };
  }
}

interface FailedRecord {
  readonly index: number;
  readonly $insert_id: string;
  readonly field: string;
  readonly message: string;
}

/** Strict validation of one `/import` record; returns the failure or the normalised time (ms). */
function validateImportRecord(item: unknown, index: number, nowMs: number, strict: boolean): FailedRecord | { readonly timeMs: number; readonly event: string; readonly props: Record<string, unknown> } {
  const fail = (field: string, message: string, insertId = ''): FailedRecord => ({ index, $insert_id: insertId, field, message });
  if (!isRecord(item)) return fail('', 'record must be a JSON object with "event" and "properties"');
  const props = item['properties'];
  const insertRaw = isRecord(props) ? props['$insert_id'] : undefined;
  const insertId = typeof insertRaw === 'string' ? insertRaw : '';
  if (typeof item['event'] !== 'string' || item['event'] === '') return fail('event', "'event' must be a non-empty string", insertId);
  if (!isRecord(props)) return fail('properties', "'properties' must be a JSON object", insertId);
  const limit = eventLimitProblem(props);
  if (limit !== undefined) return fail('properties', limit, insertId);
  const time = numberValue(props['time']);
  if (time === undefined) return fail('properties.time', "'properties.time' is invalid: must be specified as seconds since epoch", insertId);
  let timeMs = timeToMs(time);
  if (timeMs < MIN_TIME_MS) return fail('properties.time', "'properties.time' is invalid: must be after 1971-01-01", insertId);
  if (timeMs > nowMs + 3_600_000) return fail('properties.time', "'properties.time' is invalid: must not be more than 1 hour in the future", insertId);
  if (timeMs > nowMs) timeMs = nowMs;
  if (strict) {
    const did = props['distinct_id'];
    if (did === undefined) return fail('properties.distinct_id', "'properties.distinct_id' is required (use \"\" for events not tied to a user)", insertId);
    if (typeof did !== 'string') return fail('properties.distinct_id', "'properties.distinct_id' is invalid: must be a string", insertId);
    if (BANNED_DISTINCT_IDS.has(did.toLowerCase())) return fail('properties.distinct_id', `'properties.distinct_id' is invalid: ${JSON.stringify(did)} is not allowed`, insertId);
    if (insertRaw === undefined) return fail('properties.$insert_id', "'properties.$insert_id' is required", insertId);
    if (typeof insertRaw !== 'string' || !INSERT_ID_RE.test(insertRaw)) return fail('properties.$insert_id', "'properties.$insert_id' is invalid: must be 1-36 characters of [A-Za-z0-9-]", insertId);
  }
  return { timeMs, event: item['event'], props };
}

function endpointName(c: Call): string {
  return c.hostInfo === undefined ? 'api.mixpanel.com' : c.host.replace(/:\d+$/, '');
}

/** `/import`: strict=1 → JSON bodies; otherwise the legacy `1`/`0` (or verbose) answer. */
export function serveImport(c: Call, store: ProjectStore, nowMs: number): void {
  const strict = c.params['strict'] === '1' || c.params['strict'] === 'true';
  const decoded = decodePayload(c);
  if (!decoded.ok) {
    if (strict) return ingestionError(c, 400, decoded.message);
    return answer(c, false, decoded.message);
  }
  if (decoded.items.length > MAX_RECORDS) {
    if (strict) return ingestionError(c, 400, `request contains ${decoded.items.length} records; the maximum is ${MAX_RECORDS} per request`);
    return answer(c, false, `too many records (max ${MAX_RECORDS})`);
  }
  const failed: FailedRecord[] = [];
  let imported = 0;
  decoded.items.forEach((item, index) => {
    const v = validateImportRecord(item, index, nowMs, strict);
    if ('field' in v) {
      failed.push(v);
      return;
    }
    const props: Record<string, unknown> = { ...v.props, time: v.timeMs };
    store.addEvent(storedEvent(v.event, props, nowMs, { $import: true, $mp_api_endpoint: endpointName(c), $mp_api_timestamp_ms: nowMs }));
    imported++;
  });
  if (!strict) return answer(c, imported > 0, failed[0]?.message);
  if (failed.length > 0) {
    return sendJson(c, 400, {
      code: 400,
      error: 'some data points in the request failed validation',
      failed_records: failed,
      num_records_imported: imported,
      status: 'Bad Request',
    });
  }
  sendJson(c, 200, { code: 200, num_records_imported: imported, status: 'OK' });
}

const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The `/track`-style answer: `1`/`0`, verbose JSON, JSONP callback or a 1×1 gif. */
function answer(c: Call, ok: boolean, error: string | undefined): void {
  const verbose = c.params['verbose'] === '1' || c.params['verbose'] === '2';
  const callback = c.params['callback'];
  if (c.params['img'] === '1') {
    c.entry.status = 200;
    c.res.writeHead(200, { 'Content-Type': 'image/gif', 'Content-Length': String(GIF.length) });
    c.res.end(GIF);
    return;
  }
  const payload = verbose ? JSON.stringify({ status: ok ? 1 : 0, error: ok ? null : (error ?? 'invalid data') }) : ok ? '1' : '0';
  if (callback !== undefined && callback !== '') return sendText(c, 200, `${callback}(${payload});`, 'text/javascript');
  // Undocumented verbose=2: real errors with HTTP 400 (where verbose=1 answers 200).
  if (verbose) return sendText(c, !ok && c.params['verbose'] === '2' ? 400 : 200, payload, 'application/json');
  sendText(c, 200, payload, 'text/plain');
}

export interface IngestTarget {
  /** The project of a token, if it lives in the request's region. */
  projectForToken(token: string, c: Call): ProjectStore | undefined;
  readonly nowMs: number;
}

/** Mixpanel's answer for a record without a token (seen in the wild as `{"status": 0, "error": "token, missing or empty"}`). */
export const TOKEN_MISSING = 'token, missing or empty';

/**
 * A record whose token matches no project here (or a project of another region) is dropped while the request is
 * still answered `1`: Mixpanel matches tokens to projects after the request cycle, so `1` never meant the token
 * was valid (ingestion spec: "This does not signify a valid project token"; mixpanel-node#59). The drop is
 * counted on the request's log entry, so the CLI and tests can say so instead of losing it silently.
 */
function countDropped(c: Call): void {
  c.entry.droppedForToken = (c.entry.droppedForToken ?? 0) + 1;
}

/** `/track`: events with `properties.token`. */
export function serveTrack(c: Call, target: IngestTarget): void {
  const decoded = decodePayload(c);
  if (!decoded.ok) return answer(c, false, decoded.message);
  if (decoded.items.length > MAX_RECORDS) return answer(c, false, `too many events (max ${MAX_RECORDS})`);
  let valid = 0;
  let lastError: string | undefined;
  for (const item of decoded.items) {
    if (!isRecord(item) || typeof item['event'] !== 'string' || item['event'] === '') {
      lastError = 'event name is missing or empty';
      continue;
    }
    const props = isRecord(item['properties']) ? item['properties'] : {};
    const limit = eventLimitProblem(props);
    if (limit !== undefined) {
      lastError = limit;
      continue;
    }
    const time = numberValue(props['time']);
    const timeMs = time === undefined ? target.nowMs : Math.min(timeToMs(time), target.nowMs);
    if (timeMs < target.nowMs - 5 * 86_400_000) {
      lastError = '/track only accepts events from the last 5 days; use /import for older events';
      continue;
    }
    const token = typeof props['token'] === 'string' ? props['token'] : '';
    if (token === '') {
      lastError = TOKEN_MISSING;
      continue;
    }
    valid++;
    const store = target.projectForToken(token, c);
    if (store === undefined) {
      countDropped(c); // Mixpanel answers 1 for an unknown token too, and drops the event
      continue;
    }
    store.addEvent(storedEvent(item['event'], { ...props, time: timeMs }, target.nowMs, { $mp_api_endpoint: endpointName(c), $mp_api_timestamp_ms: target.nowMs }));
  }
  answer(c, valid > 0, lastError);
}

function operationOf(update: Record<string, unknown>): { op: string; value: unknown } | undefined {
  const ops = PROFILE_OPERATIONS.filter((o) => o in update);
  if (ops.length !== 1) return undefined;
  const op = ops[0] as string;
  return { op, value: update[op] };
}

/**
 * The loop `/engage` and `/groups` share: decode, enforce the batch limit, apply each update object, and answer
 * `1` when one or more were valid (the last error otherwise). `apply` returns an error message or undefined.
 */
function serveUpdates(c: Call, apply: (item: Record<string, unknown>) => string | undefined): void {
  const decoded = decodePayload(c);
  if (!decoded.ok) return answer(c, false, decoded.message);
  if (decoded.items.length > MAX_RECORDS) return answer(c, false, `too many updates (max ${MAX_RECORDS})`);
  let valid = 0;
  let lastError: string | undefined;
  for (const item of decoded.items) {
    const error = isRecord(item) ? apply(item) : 'update must be a JSON object';
    if (error === undefined) valid++;
    else lastError = error;
  }
  answer(c, valid > 0, lastError);
}

/** `/engage`: user profile updates with `$token` and `$distinct_id`. */
export function serveEngageIngest(c: Call, target: IngestTarget): void {
  serveUpdates(c, (item) => {
    const did = item['$distinct_id'];
    if (typeof did !== 'string' || did === '') return 'Engage API error: $distinct_id, missing or empty';
    const op = operationOf(item);
    if (op === undefined) {
      return 'Engage API error: exactly one operation ($set, $set_once, $add, $append, $union, $remove, $unset, $delete) is required';
    }
    const token = typeof item['$token'] === 'string' ? item['$token'] : '';
    if (token === '') return `Engage API error: $${TOKEN_MISSING}`;
    const store = target.projectForToken(token, c);
    if (store === undefined) {
      countDropped(c);
      return undefined;
    }
    const ignoreTime = item['$ignore_time'] === true || item['$ignore_time'] === 'true';
    const err = store.applyProfileOperation(did, op.op, op.value, ignoreTime);
    return err === undefined ? undefined : `Engage API error: ${err}`;
  });
}

/** `/groups`: group profile updates with `$token`, `$group_key`, `$group_id`. */
export function serveGroups(c: Call, target: IngestTarget): void {
  serveUpdates(c, (item) => {
    const key = item['$group_key'];
    const gid = item['$group_id'];
    if (typeof key !== 'string' || key === '' || (typeof gid !== 'string' && typeof gid !== 'number') || gid === '') {
      return 'Groups API error: $group_key and $group_id are required';
    }
    const op = operationOf(item);
    if (op === undefined || ['$add', '$append'].includes(op.op)) {
      return 'Groups API error: exactly one operation ($set, $set_once, $unset, $remove, $union, $delete) is required';
    }
    const token = typeof item['$token'] === 'string' ? item['$token'] : '';
    if (token === '') return `Groups API error: $${TOKEN_MISSING}`;
    const store = target.projectForToken(token, c);
    if (store === undefined) {
      countDropped(c);
      return undefined;
    }
    const err = store.applyGroupOperation(store.dataGroupIdForKey(key), String(gid), op.op, op.value);
    return err === undefined ? undefined : `Groups API error: ${err}`;
  });
}
