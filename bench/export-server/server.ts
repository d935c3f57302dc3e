/**
 * A Mixpanel-compatible raw export server for the bench, written apart from the connector and the emulator: it
 * imports nothing of theirs (only `node:` modules and its own files), runs in its own process, and has its own
 * idea of how to write a body.
 *
 *   node bench/export-server/server.ts --data DIR [--cache DIR] [--skip REGEX] [--rate BYTES_PER_S] [--seed N]
 *                                      [--level N]
 *
 * - `GET /api/2.0/export?from_date&to_date[&where]` answers the lines of the `YYYY-MM-DD…jsonl` files of DIR whose
 *   date is in [from_date, to_date], files in name order, keeping the lines whose `mp_processing_time_ms` and
 *   `time` pass the `where` bounds (see where.ts: only that shape; anything else is a 400). Whole files come from
 *   the prepared raw-deflate segments (prepare.ts); a file cut by a bound is filtered line by line and compressed
 *   then. With `Accept-Encoding: gzip` the body is ONE gzip member made of those segments (its own block sizes and
 *   flush points), written through chunked transfer in irregular 7–60 KiB pieces as fast as the socket drains, or
 *   at `--rate` bytes/s. An empty answer is an empty body without gzip, as Mixpanel sends it.
 * - Basic auth must be present (any credentials); every other route is a 404 with a JSON error.
 * - `--skip REGEX`: files whose name matches are never served (the bench's "same data without the copies").
 *
 * On start it prints `LISTENING <port>`, and one `REQUEST {json}` line per answered request; it exits when its
 * stdin closes (its parent went away).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';
import { GZIP_HEADER, crc32Combine, deflateSegment, gzipTrailer, prepareDirectory, scanLines, xorshift, type IndexedFile } from './prepare.js';
import { coverage, inRange, parseWhere, type ExportFilter } from './where.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    cache: { type: 'string' },
    skip: { type: 'string' },
    rate: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    level: { type: 'string', default: '6' },
  },
});
if (values.data === undefined) throw new Error('--data DIR is required');
const rate = Number(values.rate);
const seed = Number(values.seed);
const level = Number(values.level);
const skip = values.skip === undefined ? null : new RegExp(values.skip);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const files = (await prepareDirectory(values.data, values.cache ?? join(values.data, '.export-server'), { level, seed, log: (t) => process.stderr.write(`export-server: ${t}\n`) })).filter(
  (f) => skip === null || !skip.test(f.name),
);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Piece = { readonly plain: number; readonly crc: number; readonly bytes: AsyncIterable<Buffer> | Buffer[] };

/** One file's contribution: the cached segments, or its kept lines (compressed now when gzip). */
async function pieceOf(file: IndexedFile, filter: ExportFilter, gzip: boolean): Promise<Piece | null> {
  const processing = coverage(filter.processing, file.minProcessing, file.maxProcessing);
  const time = coverage(filter.time, file.minTime, file.maxTime);
  if (processing === 'none' || time === 'none' || file.lines === 0) return null;
  if (processing === 'all' && time === 'all') {
    const path = gzip ? file.deflatePath : file.path;
    return { plain: file.bytes, crc: file.crc, bytes: createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer> };
  }
  const whole = await readFile(file.path);
  const kept: Buffer[] = [];
  scanLines(whole, (start, end, t, p) => {
    if ((p === null || inRange(filter.processing, p)) && (t === null || inRange(filter.time, t))) kept.push(whole.subarray(start, end));
  });
  if (kept.length === 0) return null;
  const plain = Buffer.concat(kept);
  return { plain: plain.length, crc: crc32(plain), bytes: [gzip ? deflateSegment(plain, level) : plain] };
}

let requestCount = 0;

/** Writes `bytes` in irregular 7–60 KiB pieces, honouring backpressure and the pacing rate. */
function pieceWriter(res: ServerResponse, requestSeed: number): { write(bytes: Buffer): Promise<void>; flush(): Promise<void>; readonly sent: number } {
  const size = xorshift(requestSeed);
  const started = performance.now();
  let sent = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let next = 7 * 1024 + Math.floor(size() * 53 * 1024);
  const put = async (piece: Buffer): Promise<void> => {
    sent += piece.length;
    if (!res.write(piece)) await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        res.off('close', closed);
        resolve();
      };
      const closed = (): void => {
        res.off('drain', done);
        reject(new Error('client went away'));
      };
      res.once('drain', done);
      res.once('close', closed);
    });
    if (rate > 0) {
      const ahead = (sent / rate) * 1000 - (performance.now() - started);
      if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
    }
  };
  return {
    async write(bytes: Buffer) {
      let at = 0;
      while (at < bytes.length) {
        const n = Math.min(next - pendingBytes, bytes.length - at);
        pending.push(bytes.subarray(at, at + n));
        pendingBytes += n;
        at += n;
        if (pendingBytes === next) {
          const piece = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          next = 7 * 1024 + Math.floor(size() * 53 * 1024);
          await put(piece);
        }
      }
    },
    async flush() {
      if (pendingBytes > 0) await put(Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
    },
    get sent() {
      return sent;
    },
  };
}

async function exportRoute(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<number> {
  const from = params.get('from_date') ?? '';
  const to = params.get('to_date') ?? '';
  if (!DATE.test(from) || !DATE.test(to)) throw new HttpError(400, 'from_date and to_date must be yyyy-mm-dd');
  if (to < from) throw new HttpError(400, 'to_date cannot be before from_date');
  const where = parseWhere(params.get('where') ?? undefined);
  if (!where.ok) throw new HttpError(400, `this server does not support that where expression (${where.problem})`);
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const pieces: Piece[] = [];
  for (const file of files) {
    if (file.date < from || file.date > to) continue;
    const piece = await pieceOf(file, where.filter, gzip);
    if (piece !== null) pieces.push(piece);
  }
  const total = pieces.reduce((n, p) => n + p.plain, 0);
  if (total === 0) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end();
    return 0;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  const out = pieceWriter(res, seed * 7919 + ++requestCount);
  let crc = 0;
  if (gzip) await out.write(GZIP_HEADER);
  for (const piece of pieces) {
    for await (const bytes of piece.bytes) await out.write(bytes);
    crc = crc32Combine(crc, piece.crc, piece.plain);
  }
  if (gzip) await out.write(gzipTrailer(crc, total));
  await out.flush();
  res.end();
  return out.sent;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://export-server.local');
  const path = url.pathname.replace(/\/+$/, '');
  let status = 200;
  let bytes = 0;
  try {
    req.resume();
    if (!/^Basic \S+/.test(req.headers.authorization ?? '')) throw new HttpError(401, 'Authentication required: send HTTP Basic auth');
    if (path === '/api/2.0/export' && req.method === 'GET') bytes = await exportRoute(req, res, url.searchParams);
    else throw new HttpError(404, `no route ${req.method ?? '?'} ${path}`);
  } catch (error) {
    // 499: the client closed the connection before the answer was written (it aborted the read).
    status = error instanceof HttpError ? error.status : res.destroyed || req.destroyed ? 499 : 500;
    if (!res.headersSent) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ request: path, error: error instanceof Error ? error.message : String(error) }));
    } else {
      res.destroy();
    }
  }
  const params = Object.fromEntries(['from_date', 'to_date', 'where'].flatMap((k) => (url.searchParams.has(k) ? [[k, url.searchParams.get(k)!]] : [])));
  process.stdout.write(`REQUEST ${JSON.stringify({ method: req.method, path, status, bytes, ms: Math.round(performance.now() - started), params })}\n`);
}

const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`LISTENING ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
