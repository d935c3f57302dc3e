/**
 * The tracking proxy: forwards every request byte-for-byte to Mixpanel (or `--upstream`) and returns the
 * upstream's status, headers and body; for `/track`, `/engage` and `/groups` it also decodes a copy and appends
 * it to the durable spool BEFORE replying. The spool is fail-open: an error or a write slower than
 * `spoolWaitMs` is logged and counted and the reply goes out anyway.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../connector-spec/index.js';
import { MAX_UNDECODABLE_BYTES, recordLine, undecodableLine, type SpoolRequestInfo } from '../sources/mixpanel_proxy/index.js';
import { decodeIngestBody } from './decode.js';
import { FORWARDED_REQUEST_HEADERS, capturedEndpoint, corsHeaders, forwardedFor, keepResponseHeader, upstreamBase, type ProxyRegion } from './http-rules.js';
import { loadLibAssets } from './lib-asset.js';
import { SpoolWriter, type SpoolStats } from './spool.js';
import { createUpstreamClient, type UpstreamResult } from './upstream.js';
import { recordVerdicts } from './verdict.js';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ProxyOptions {
  readonly spoolDir: string;
  /** Port to listen on (0 = any free port). Default 8080. */
  readonly port?: number;
  /** Interface to bind. Default `0.0.0.0`. */
  readonly host?: string;
  readonly region?: ProxyRegion;
  /** Send everything here instead of Mixpanel (for example the emulator). */
  readonly upstream?: string;
  /** Origins allowed to call the proxy from a browser (answered with the exact origin and credentials). */
  readonly corsOrigins?: readonly string[];
  /** Trust `X-Forwarded-For` from the peer (the proxy runs behind your own load balancer). */
  readonly trustProxy?: boolean;
  readonly logger?: Logger;
  /** Rotate spool segments beyond this size (bytes). */
  readonly segmentBytes?: number;
  /** Longest the reply waits for the spool's fsync before going out anyway (fail-open). Default 2000 ms. */
  readonly spoolWaitMs?: number;
  readonly upstreamTimeoutMs?: number;
  readonly now?: () => number;
}

export interface ProxyStats {
  requests: number;
  captured: number;
  recordsSpooled: number;
  undecodable: number;
  spoolFailures: number;
  spoolLate: number;
  upstreamErrors: number;
  /** Records Mixpanel refused (or never got), by its answer: HTTP 200 with `0` counts too. */
  recordsRejected: number;
}

export interface RunningProxy {
  readonly url: string;
  readonly port: number;
  readonly stats: Readonly<ProxyStats>;
  readonly spool: SpoolStats;
  close(): Promise<void>;
}

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const logger = options.logger ?? quietLogger;
  const now = options.now ?? Date.now;
  const region = options.region ?? 'US';
  const allowed = new Set(options.corsOrigins ?? []);
  const trustProxy = options.trustProxy ?? false;
  const spoolWaitMs = options.spoolWaitMs ?? 2000;
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 30_000;
  const assets = loadLibAssets();
  const upstreamClient = createUpstreamClient();
  const spool = await SpoolWriter.open({ dir: options.spoolDir, logger, ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}) });
  const stats: ProxyStats = { requests: 0, captured: 0, recordsSpooled: 0, undecodable: 0, spoolFailures: 0, spoolLate: 0, upstreamErrors: 0, recordsRejected: 0 };

  /** Append and fsync, but never hold the reply longer than spoolWaitMs, and never throw. */
  async function spoolLines(lines: string, requestId: string, count: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), spoolWaitMs);
    });
    const write = spool.append(lines).then(
      () => {
        stats.recordsSpooled += count;
        return 'ok' as const;
      },
      (error: unknown) => {
        stats.spoolFailures++;
        logger.error('spool write failed; the request was forwarded but its copy is lost', { requestId, records: count, error: error instanceof Error ? error.message : String(error) });
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([write, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      stats.spoolLate++;
      logger.warn('spool fsync slower than spoolWaitMs; replied before it finished', { requestId, spoolWaitMs });
    }
  }

  function spoolText(info: SpoolRequestInfo, req: IncomingMessage, url: URL, body: Buffer, upstream: UpstreamResult): { text: string; count: number } {
    const decoded = decodeIngestBody({
      method: req.method ?? 'GET',
      query: url.search.replace(/^\?/, ''),
      contentType: header(req, 'content-type') ?? '',
      contentEncoding: header(req, 'content-encoding') ?? '',
      body,
    });
    if (decoded.ok) {
      const verdicts = recordVerdicts(upstream, decoded.records.length);
      const rejected = verdicts.filter((v) => v.accepted === false);
      stats.recordsRejected += rejected.length;
      if (rejected.length > 0 && upstream.ok && upstream.status < 300) {
        // HTTP 200 with a refusal in the body: the case an SDK (and a status filter) would not notice.
        logger.warn('Mixpanel answered 200 but refused records', { requestId: info.requestId, endpoint: info.endpoint, records: rejected.length, error: rejected[0]!.error });
      }
      return { text: decoded.records.map((r, i) => recordLine(info, i, r, verdicts[i]!)).join(''), count: decoded.records.length };
    }
    stats.undecodable++;
    logger.warn('undecodable ingestion body spooled as such', { requestId: info.requestId, endpoint: info.endpoint, reason: decoded.reason });
    const kept = body.subarray(0, MAX_UNDECODABLE_BYTES);
    const line = undecodableLine(info, {
      reason: decoded.reason,
      contentType: header(req, 'content-type') ?? '',
      contentEncoding: header(req, 'content-encoding') ?? '',
      bodyBytes: body.length,
      bodyBase64: kept.toString('base64'),
      truncated: kept.length < body.length,
    }, recordVerdicts(upstream, 1)[0]!);
    return { text: line, count: 1 };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const origin = header(req, 'origin');
    if (method === 'OPTIONS') {
      res.writeHead(204, corsHeaders(origin, allowed, true));
      res.end();
      return;
    }
    const cors = corsHeaders(origin, allowed, false);
    if (url.pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok', stats, spool: spool.info }, cors);
      return;
    }
    const asset = assets.get(url.pathname);
    if (asset !== undefined && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { ...cors, 'Content-Type': 'application/javascript; charset=utf-8', 'Content-Length': String(asset.body.length), 'Cache-Control': 'public, max-age=3600', 'X-Mixpanel-Browser-Version': asset.version });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        sendJson(res, 413, { status: 0, error: `request body exceeds ${MAX_BODY_BYTES} bytes` }, { ...cors, Connection: 'close' });
        return;
      }
      throw error;
    }
    const requestId = randomUUID();
    const { clientIp, xff } = forwardedFor(req.socket.remoteAddress ?? '', header(req, 'x-forwarded-for'), trustProxy);
    const receivedAt = new Date(now()).toISOString();
    const headers: Record<string, string> = { 'x-forwarded-for': xff };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const v = header(req, name);
      if (v !== undefined) headers[name] = v;
    }
    const target = new URL(upstreamBase(url.pathname, region, options.upstream) + url.pathname + url.search);
    const pending = upstreamClient.send({ url: target, method, headers, body, timeoutMs: upstreamTimeoutMs });
    const endpoint = capturedEndpoint(url.pathname);
    const upstream: UpstreamResult = await pending;
    if (!upstream.ok) {
      stats.upstreamErrors++;
      logger.warn('upstream unreachable', { requestId, path: url.pathname, error: upstream.error });
    }
    if (endpoint !== undefined) {
      stats.captured++;
      const info: SpoolRequestInfo = {
        receivedAt,
        endpoint,
        method,
        clientIp,
        requestId,
        upstreamStatus: upstream.ok ? upstream.status : null,
      };
      const { text, count } = spoolText(info, req, url, body, upstream);
      if (text.length > 0) await spoolLines(text, requestId, count);
    }
    if (!upstream.ok) {
      const status = upstream.timeout ? 504 : 502;
      sendJson(res, status, { status: 0, error: `proxy: Mixpanel upstream ${upstream.timeout ? 'timed out' : 'unreachable'}` }, { ...cors, 'X-Request-Id': requestId });
      return;
    }
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of upstream.headers) {
      if (!keepResponseHeader(name)) continue;
      const prev = out[name];
      out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    for (const [k, v] of Object.entries(cors)) out[k] = v;
    out['X-Request-Id'] = requestId;
    res.writeHead(upstream.status, out);
    res.end(upstream.body);
    logger.debug('forwarded', { requestId, method, path: url.pathname, status: upstream.status });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('proxy request failed', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) sendJson(res, 502, { status: 0, error: 'proxy: internal error' }, {});
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === undefined || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    stats,
    get spool() {
      return spool.info;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await spool.close();
      upstreamClient.close();
    },
  };
}
