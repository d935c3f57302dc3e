/**
 * A tiny loopback Mixpanel server for the bench: serving costs (almost) nothing, so the connector process is what
 * is measured. It answers
 * - `GET /api/2.0/export` by streaming the pre-generated day files of the requested dates (gzip copies when the
 *   client accepts gzip; `pipeline()` gives backpressure), filtered by the `mp_processing_time_ms` bounds of
 *   `where` (whole files are skipped or streamed; a file cut by a bound is filtered line by line);
 * - `GET|POST /api/query/engage` (and `/api/2.0/engage`) with pages of 1000 from the pre-rendered profiles,
 *   `session_id` paging, and the `$last_seen` lower bound of `where`.
 * Every request is logged (path, status, bytes, ms) so the bench can count API calls per run.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { join } from 'node:path';
import { DAY_MS, dayFilePath, dayStartMs, profileLastSeenMs, type DayFile, type EventsDataset, type ProfilesDataset } from './dataset.js';
import { exportBounds, lastSeenLowerBound, type ExportBounds } from './where-bounds.js';

export const ENGAGE_PAGE_SIZE = 1000;

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  readonly params: Readonly<Record<string, string>>;
}

export interface BenchServer {
  readonly url: string;
  /** Requests answered since the last `resetLog()`. */
  readonly log: readonly RequestRecord[];
  resetLog(): void;
  setEvents(dataset: EventsDataset | null): void;
  setProfiles(dataset: ProfilesDataset | null): Promise<void>;
  close(): Promise<void>;
}

export interface BenchServerOptions {
  /** Serve the gzip copies when the client sends `Accept-Encoding: gzip` (default true, like Mixpanel). */
  readonly gzip?: boolean;
}

interface ProfilesState {
  readonly dataset: ProfilesDataset;
  readonly file: FileHandle;
  readonly offsets: Uint32Array;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Query string, form body and JSON body merged (Mixpanel accepts all three on engage). */
async function requestParams(req: IncomingMessage, url: URL): Promise<Record<string, string>> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (req.method === 'POST') {
    const body = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    if (type.includes('application/json') && body.trim() !== '') {
      const parsed = JSON.parse(body) as unknown;
      if (typeof parsed === 'object' && parsed !== null) {
        for (const [k, v] of Object.entries(parsed)) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    } else {
      for (const [k, v] of new URLSearchParams(body)) params[k] = v;
    }
  }
  return params;
}

type Range = { readonly lowerExclusive: number | null; readonly upperInclusive: number | null };

function inRange(r: Range, value: number): boolean {
  return (r.lowerExclusive === null || value > r.lowerExclusive) && (r.upperInclusive === null || value <= r.upperInclusive);
}

/** Does [min, max] lie entirely inside / entirely outside the range? */
function cover(r: Range, min: number, max: number): 'all' | 'none' | 'some' {
  if ((r.lowerExclusive !== null && max <= r.lowerExclusive) || (r.upperInclusive !== null && min > r.upperInclusive)) return 'none';
  if (inRange(r, min) && inRange(r, max)) return 'all';
  return 'some';
}

/** How much of a day file the `where` selects: all of it, none, or some lines (filtered one by one). */
export function fileCoverage(file: DayFile, bounds: ExportBounds): 'all' | 'none' | 'some' {
  const processing = cover(bounds, file.minProcessingMs, file.maxProcessingMs);
  const start = dayStartMs(file.date);
  const time = cover(bounds.time, start, start + DAY_MS - 1);
  if (processing === 'none' || time === 'none') return 'none';
  return processing === 'all' && time === 'all' ? 'all' : 'some';
}

/** Keeps the lines inside the processing-time and event-time bounds. */
function lineFilter(bounds: ExportBounds): Transform {
  let tail = '';
  const keep = (line: string): boolean => {
    const p = /"mp_processing_time_ms":(\d+)/.exec(line);
    const t = /"time":(\d+)/.exec(line);
    return (p === null || inRange(bounds, Number(p[1]))) && (t === null || inRange(bounds.time, Number(t[1])));
  };
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      const lines = (tail + chunk.toString('utf8')).split('\n');
      tail = lines.pop() ?? '';
      const out = lines.filter(keep);
      done(null, out.length > 0 ? out.join('\n') + '\n' : undefined);
    },
    flush(done: TransformCallback) {
      done(null, tail !== '' && keep(tail) ? tail + '\n' : undefined);
    },
  });
}

export async function startBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const gzipEnabled = options.gzip ?? true;
  let events: EventsDataset | null = null;
  let profiles: ProfilesState | null = null;
  let log: RequestRecord[] = [];
  let sessions = 0;

  async function exportRoute(req: IncomingMessage, res: ServerResponse, params: Record<string, string>): Promise<number> {
    if (events === null) throw new HttpError(404, 'bench server: no events dataset loaded');
    const from = params.from_date ?? '';
    const to = params.to_date ?? '';
    if (!DATE.test(from) || !DATE.test(to)) throw new HttpError(400, 'from_date and to_date must be yyyy-mm-dd');
    if (to < from) throw new HttpError(400, 'to_date cannot be before from_date');
    const bounds = exportBounds(params.where);
    if (bounds.unsupported !== null) throw new HttpError(400, `bench server: unsupported where expression: ${bounds.unsupported}`);
    const plan = events.files
      .filter((f) => f.date >= from && f.date <= to)
      .map((file) => ({ file, coverage: fileCoverage(file, bounds) }))
      .filter((p) => p.coverage !== 'none');
    // Like Mixpanel, an empty body is not gzipped (a zero-byte "gzip" body is not valid gzip).
    const gzip = plan.length > 0 && gzipEnabled && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const dir = events.dir;
    let bytes = 0;
    async function* body(): AsyncGenerator<Buffer> {
      for (const { file, coverage } of plan) {
        // Whole files are streamed as stored (concatenated gzip members are one valid gzip stream).
        const stream =
          coverage === 'all'
            ? createReadStream(dayFilePath(dir, file.date, gzip), { highWaterMark: 1 << 20 })
            : gzip
              ? createReadStream(dayFilePath(dir, file.date, false), { highWaterMark: 1 << 20 }).pipe(lineFilter(bounds)).pipe(createGzip({ level: 1 }))
              : createReadStream(dayFilePath(dir, file.date, false), { highWaterMark: 1 << 20 }).pipe(lineFilter(bounds));
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          yield chunk;
        }
      }
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    // pipeline() propagates backpressure from the socket to the file reads and ends the response.
    await pipeline(Readable.from(body(), { objectMode: false }), res);
    return bytes;
  }

  async function engageRoute(res: ServerResponse, params: Record<string, string>): Promise<number> {
    if (profiles === null) throw new HttpError(404, 'bench server: no profiles dataset loaded');
    const { dataset, file, offsets } = profiles;
    const page = Number(params.page ?? '0');
    if (!Number.isSafeInteger(page) || page < 0) throw new HttpError(400, 'page must be a non-negative integer');
    let sessionId = params.session_id;
    if (page > 0 && (sessionId === undefined || sessionId === '')) throw new HttpError(400, 'page > 0 requires session_id');
    if (sessionId === undefined || sessionId === '') sessionId = `bench-${++sessions}`;
    const bound = lastSeenLowerBound(params.where);
    if (bound.unsupported !== null) throw new HttpError(400, `bench server: unsupported where expression: ${bound.unsupported}`);
    // Profiles are stored in `$last_seen` order: the matching ones are a suffix starting at `first`.
    let first = 0;
    if (bound.lowerExclusive !== null) {
      let lo = 0;
      let hi = dataset.profiles;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (profileLastSeenMs(dataset, mid) > bound.lowerExclusive) hi = mid;
        else lo = mid + 1;
      }
      first = lo;
    }
    const total = dataset.profiles - first;
    const a = Math.min(dataset.profiles, first + page * ENGAGE_PAGE_SIZE);
    const b = Math.min(dataset.profiles, a + ENGAGE_PAGE_SIZE);
    const start = offsets[a]!;
    const length = b > a ? offsets[b]! - start - 1 : 0; // drop the trailing comma
    const results = Buffer.allocUnsafe(length);
    if (length > 0) await file.read(results, 0, length, start);
    const head = Buffer.from(`{"page":${page},"page_size":${ENGAGE_PAGE_SIZE},"session_id":"${sessionId}","status":"ok","total":${total},"results":[`);
    const tail = Buffer.from(']}');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': head.length + length + tail.length });
    res.write(head);
    res.write(results);
    res.end(tail);
    return head.length + length + tail.length;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://bench.local');
    const path = url.pathname.replace(/\/+$/, '');
    let status = 200;
    let bytes = 0;
    let params: Record<string, string> = {};
    try {
      params = await requestParams(req, url);
      if (!/^Basic \S+/.test(req.headers.authorization ?? '')) throw new HttpError(401, 'Authentication required: send HTTP Basic auth');
      if (path === '/api/2.0/export' && req.method === 'GET') bytes = await exportRoute(req, res, params);
      else if (path === '/api/query/engage' || path === '/api/2.0/engage') bytes = await engageRoute(res, params);
      else throw new HttpError(404, `bench server: no route ${req.method} ${path}`);
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) {
        const body = JSON.stringify({ request: url.pathname, error: message });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      } else {
        res.destroy(error instanceof Error ? error : undefined);
      }
    }
    const { where, from_date, to_date, page, session_id } = params;
    const kept = Object.fromEntries(Object.entries({ where, from_date, to_date, page, session_id }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    log.push({ method: req.method ?? '?', path, status, bytes, ms: performance.now() - started, params: kept });
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  async function closeProfiles(): Promise<void> {
    if (profiles !== null) await profiles.file.close();
    profiles = null;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    get log() {
      return log;
    },
    resetLog() {
      log = [];
    },
    setEvents(dataset) {
      events = dataset;
    },
    async setProfiles(dataset) {
      await closeProfiles();
      if (dataset === null) return;
      const raw = await readFile(join(dataset.dir, 'offsets.bin'));
      // Copy: a Buffer's byteOffset need not be 4-aligned.
      const offsets = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      profiles = { dataset, file: await open(join(dataset.dir, 'profiles.bin'), 'r'), offsets };
    },
    async close() {
      await closeProfiles();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
