/**
 * Decode a copy of an SDK ingestion body into one JSON text per record, in every encoding the SDKs send:
 * form `data=` as base64 (standard, URL-safe, or with `+` turned into spaces) or raw JSON, a JSON body, NDJSON,
 * a `text/plain` sendBeacon body (`data=…`), `Content-Encoding: gzip`/`deflate`, GET `?data=`; a single object
 * or an array. Pure: bytes in, record texts out; numbers keep their exact source text (lossless).
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/** Inflated bodies beyond this are refused (a zip bomb must not take the proxy down). */
export const MAX_INFLATED_BYTES = 32 * 1024 * 1024;

export interface IngestRequest {
  readonly method: string;
  /** The raw query string without `?` (may be empty). */
  readonly query: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  readonly body: Buffer;
}

export type DecodeResult = { readonly ok: true; readonly records: readonly string[] } | { readonly ok: false; readonly reason: string };

function exactNumber(text: string): LosslessNumber {
  return new LosslessNumber(text);
}

/** Parse JSON keeping every number's text, so re-serialising gives the numbers exactly as sent. */
function parseExact(text: string): unknown {
  return losslessParse(text, null, exactNumber);
}

function serialise(value: unknown): string {
  const text = losslessStringify(value);
  if (text === undefined) throw new SyntaxError('value has no JSON form');
  return text;
}

function looksLikeJson(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

/** A `data` value: raw JSON, or base64 of JSON (standard or URL-safe; `+` may have become a space). */
function decodeDataValue(raw: string): unknown {
  const t = raw.trim();
  if (looksLikeJson(t)) return parseExact(t);
  const b64 = t.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length === 0) throw new SyntaxError('data is neither JSON nor base64');
  return parseExact(Buffer.from(b64, 'base64').toString('utf8'));
}

function inflate(body: Buffer, encoding: string): Buffer {
  const enc = encoding.trim().toLowerCase();
  if (enc === '' || enc === 'identity' || body.length === 0) return body;
  if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  if (enc === 'deflate') return inflateSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  throw new SyntaxError(`unsupported Content-Encoding ${JSON.stringify(encoding)}`);
}

function fromBody(text: string, contentType: string): unknown {
  const type = contentType.toLowerCase();
  if (type.includes('application/x-ndjson')) {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(parseExact);
  }
  if (type.includes('application/json') || looksLikeJson(text)) return parseExact(text);
  // Form or sendBeacon text/plain: `data=<base64 or JSON>` among other fields.
  const data = new URLSearchParams(text).get('data');
  if (data === null) throw new SyntaxError('no data field in the body (expected data=<base64 or JSON>)');
  return decodeDataValue(data);
}

/** The records of one `/track`, `/engage` or `/groups` request, or why they cannot be read. */
export function decodeIngestBody(req: IngestRequest): DecodeResult {
  try {
    const body = inflate(req.body, req.contentEncoding);
    const text = body.toString('utf8');
    let value: unknown;
    if (text.trim().length > 0) {
      value = fromBody(text, req.contentType);
    } else {
      const queryData = new URLSearchParams(req.query).get('data');
      if (queryData === null) return { ok: false, reason: 'empty body and no data query parameter' };
      value = decodeDataValue(queryData);
    }
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    return { ok: true, records: items.map(serialise) };
  } catch (error) {
    return { ok: false, reason: `cannot decode the body: ${error instanceof Error ? error.message : String(error)}` };
  }
}
