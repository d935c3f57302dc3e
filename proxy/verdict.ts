/**
 * What Mixpanel said about each record of a request, read from its answer. HTTP 200 does not mean accepted:
 * `/track`, `/engage` and `/groups` answer 200 with `0` or `{"status":0,"error":"…"}` for a rejected batch (over
 * 2,000 records, an update with two operations, …). The answer forms (mixpanel-api-notes.md §6):
 * - `1` / `0` (text/plain), or JSONP `cb(1)`;
 * - verbose: `{"status":1,"error":null}` / `{"status":0,"error":"…"}`;
 * - `/import`: `{"code":200,"num_records_imported":N,"status":"OK"}`, or
 *   `{"code":400,"failed_records":[{"index":i,"message":"…"}],…}` (the others were imported);
 * - errors: `{"error":"…","status":"error"}` (401/403), any other non-2xx status.
 * `/track`'s answer is per request: `1` means Mixpanel took the batch (it does not check the token), `0` that it
 * refused it, so every record of the request gets that verdict. `accepted` is null when the answer says
 * nothing (a pixel gif, an unknown body) or when it is unknown whether the request arrived (a timeout).
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export interface RecordVerdict {
  /** true: Mixpanel accepted the record; false: it refused it (or never got it); null: unknown. */
  readonly accepted: boolean | null;
  /** Why not: Mixpanel's error text, the HTTP status, or why the upstream was unreachable. */
  readonly error: string | null;
}

/** The upstream's answer as the proxy got it. */
export type UpstreamAnswer =
  | { readonly ok: true; readonly status: number; readonly headers: readonly (readonly [string, string])[]; readonly body: Buffer }
  | { readonly ok: false; readonly timeout: boolean; readonly error: string };

/** Connection errors that mean the request never reached the upstream. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_ERROR_CHARS = 500;

function header(answer: { readonly headers: readonly (readonly [string, string])[] }, name: string): string {
  return answer.headers.find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
}

/** The answer's text, decompressed when the upstream compressed it (the SDK may send Accept-Encoding). */
function answerText(body: Buffer, encoding: string): string | undefined {
  const e = encoding.trim().toLowerCase();
  try {
    const raw = e === 'gzip' || e === 'x-gzip' ? gunzipSync(body, { maxOutputLength: MAX_ANSWER_BYTES }) : e === 'deflate' ? inflateSync(body, { maxOutputLength: MAX_ANSWER_BYTES }) : e === 'br' ? brotliDecompressSync(body, { maxOutputLength: MAX_ANSWER_BYTES }) : e === '' || e === 'identity' ? body : undefined;
    if (raw === undefined || raw.length > MAX_ANSWER_BYTES) return undefined;
    return raw.toString('utf8');
  } catch {
    return undefined;
  }
}

function clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `cb(…);` → `…` (the JSONP form `callback=` asks for). */
function unwrapJsonp(text: string): string {
  const m = /^\s*[A-Za-z_$][\w$.]*\s*\(([\s\S]*)\)\s*;?\s*$/.exec(text);
  return m === null ? text : m[1]!;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const all = (count: number, v: RecordVerdict): RecordVerdict[] => Array.from({ length: count }, () => v);

/** The verdict on each of the request's `count` records (decoded order), from the upstream's answer. */
export function recordVerdicts(answer: UpstreamAnswer, count: number): RecordVerdict[] {
  if (!answer.ok) {
    if (answer.timeout) return all(count, { accepted: null, error: `no answer from Mixpanel (${answer.error}); it may or may not have the records` });
    return all(count, { accepted: NOT_SENT.has(answer.error) ? false : null, error: `Mixpanel unreachable: ${answer.error}` });
  }
  const contentType = header(answer, 'content-type').toLowerCase();
  const text = contentType.startsWith('image/') ? undefined : answerText(answer.body, header(answer, 'content-encoding'));
  const value = text === undefined ? undefined : parse(unwrapJsonp(text).trim());
  const success = answer.status >= 200 && answer.status < 300;

  // `/import`: per-record failures by index, whatever the HTTP status (400 with the valid rows imported).
  if (isRecord(value) && Array.isArray(value['failed_records'])) {
    const failed = new Map<number, string>();
    for (const f of value['failed_records']) {
      if (!isRecord(f) || typeof f['index'] !== 'number') continue;
      const field = typeof f['field'] === 'string' && f['field'] !== '' ? `${f['field']}: ` : '';
      failed.set(f['index'], clip(`${field}${typeof f['message'] === 'string' ? f['message'] : 'failed validation'}`));
    }
    const importedSome = typeof value['num_records_imported'] === 'number' ? value['num_records_imported'] > 0 : success;
    const rest: RecordVerdict = importedSome ? { accepted: true, error: null } : { accepted: false, error: clip(typeof value['error'] === 'string' ? value['error'] : 'nothing was imported') };
    return Array.from({ length: count }, (_, i) => {
      const message = failed.get(i);
      return message === undefined ? rest : { accepted: false, error: message };
    });
  }

  if (!success) {
    const detail = isRecord(value) && typeof value['error'] === 'string' ? `: ${clip(value['error'])}` : '';
    return all(count, { accepted: false, error: `HTTP ${answer.status}${detail}` });
  }
  if (value === 1 || value === '1') return all(count, { accepted: true, error: null });
  if (value === 0 || value === '0') return all(count, { accepted: false, error: 'Mixpanel answered 0 (nothing in the request was valid; ask with verbose=1 for the reason)' });
  if (isRecord(value)) {
    const status = value['status'];
    const error = typeof value['error'] === 'string' && value['error'] !== '' ? clip(value['error']) : null;
    if (status === 1 || status === '1' || (typeof status === 'string' && status.toUpperCase() === 'OK')) return all(count, { accepted: true, error: null });
    if (status === 0 || status === '0' || status === 'error' || (typeof status === 'string' && error !== null)) return all(count, { accepted: false, error: error ?? 'Mixpanel answered status 0' });
  }
  // A pixel gif (img=1), an empty or unknown body: the answer does not say.
  return all(count, { accepted: null, error: null });
}
