/** One HTTP request as the route handlers see it, plus the response helpers and Mixpanel's error bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { EmulatorRoute, LogEntry } from './types.js';
import type { HostInfo } from './hosts.js';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly host: string;
  readonly hostInfo: HostInfo | undefined;
  /** Path as received, without query. */
  readonly rawPath: string;
  /** Path + query as received (the `request` field of query errors). */
  readonly requestText: string;
  readonly route: EmulatorRoute;
  readonly query: URLSearchParams;
  /** Decompressed body (empty for GET). */
  readonly body: Buffer;
  readonly contentType: string;
  /** Query string + form body + JSON object body, merged (later wins). */
  readonly params: Record<string, string>;
  readonly entry: LogEntry;
}

export class BodyTooLarge extends Error {}

/** Read (and gunzip) the request body, refusing more than `max` bytes either way. */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > max) tooLarge = true;
    else chunks.push(b);
  }
  if (tooLarge) throw new BodyTooLarge(`request exceeds max limit of ${max} bytes`);
  const raw = Buffer.concat(chunks);
  const enc = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (enc.includes('gzip') && raw.length > 0) {
    try {
      return gunzipSync(raw, { maxOutputLength: max });
    } catch (e) {
      if (e instanceof RangeError) throw new BodyTooLarge(`request exceeds max limit of ${max} bytes`);
      throw e;
    }
  }
  return raw;
}

/** Parameters from the form or JSON body (query-family endpoints). */
export function bodyParams(body: Buffer, contentType: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (body.length === 0) return out;
  const text = body.toString('utf8');
  if (contentType.includes('application/json') || (/^\s*\{/.test(text) && !contentType.includes('form'))) {
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const [k, val] of Object.entries(v)) out[k] = typeof val === 'string' ? val : JSON.stringify(val);
      }
    } catch {
      // not JSON: fall through to form parsing
    }
    if (Object.keys(out).length > 0) return out;
  }
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

function finish(c: Call, status: number): void {
  c.entry.status = status;
}

export function sendJson(c: Call, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  sendText(c, status, text, 'application/json', headers);
}

export function sendText(c: Call, status: number, text: string, contentType = 'text/plain; charset=utf-8', headers: Readonly<Record<string, string>> = {}): void {
  if (c.res.headersSent || c.res.destroyed) return;
  finish(c, status);
  const buf = Buffer.from(text, 'utf8');
  c.res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(buf.length), ...headers });
  c.res.end(buf);
}

/** Query-API family error body: `{"request": "<path?query>", "error": "<message>"}`. */
export function queryError(c: Call, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(c, status, { request: c.requestText, error: message }, headers);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}

/** Ingestion (strict) error body: `{"code": N, "error": "...", "status": "..."}`. */
export function ingestionError(c: Call, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(c, status, { code: status, error: message, status: statusText(status) }, headers);
}

export const DEFAULT_FAULT_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Invalid credentials',
  402: "Your project's plan does not include API access. Upgrade your plan to use this endpoint.",
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Project exceeded rate limits. Please retry the request with exponential backoff.',
  500: 'Internal server error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
