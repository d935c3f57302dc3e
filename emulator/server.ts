/** The HTTP front: routing by path and Host, auth, regions, faults, rate limits, the request log. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorRoute, FaultAction, LogEntry, RequestLog } from './types.js';
import type { Call } from './call.js';
import { BodyTooLarge, DEFAULT_FAULT_MESSAGES, MAX_BODY_BYTES, bodyParams, ingestionError, queryError, readBody, sendJson, sendText, statusText } from './call.js';
import { authenticate } from './auth.js';
import { mixpanelHost } from './hosts.js';
import type { HostFamily } from './hosts.js';
import type { FaultRegistry } from './faults.js';
import type { RateLimiter } from './rate-limits.js';
import type { ProjectStore } from './store.js';
import { planExport, serveExport } from './routes-export.js';
import { serveAnnotations, serveCohortsList, serveEngage, serveFunnel, serveFunnelsList, serveRevenue } from './routes-query.js';
import { serveEngageIngest, serveGroups, serveImport, serveTrack } from './routes-ingest.js';
import type { IngestTarget } from './routes-ingest.js';

const ROUTES: Readonly<Record<string, EmulatorRoute>> = {
  '/api/2.0/export': 'export',
  '/api/query/engage': 'engage',
  '/api/2.0/engage': 'engage',
  '/api/query/cohorts/list': 'cohorts',
  '/api/2.0/cohorts/list': 'cohorts',
  '/api/query/funnels/list': 'funnels-list',
  '/api/2.0/funnels/list': 'funnels-list',
  '/api/query/funnels': 'funnels',
  '/api/2.0/funnels': 'funnels',
  '/api/query/annotations': 'annotations',
  '/api/2.0/annotations': 'annotations',
  '/api/query/engage/revenue': 'engage-revenue',
  '/api/2.0/engage/revenue': 'engage-revenue',
  '/import': 'import',
  '/track': 'track',
  '/engage': 'engage-ingest',
  '/groups': 'groups',
};

export function familyOf(route: EmulatorRoute): HostFamily | undefined {
  switch (route) {
    case 'export':
      return 'export';
    case 'import':
    case 'track':
    case 'engage-ingest':
    case 'groups':
      return 'ingestion';
    case 'unknown':
      return undefined;
    default:
      return 'query';
  }
}

export class RequestLogImpl implements RequestLog {
  readonly entries: LogEntry[] = [];
  private seq = 0;

  add(entry: Omit<LogEntry, 'seq'>): LogEntry {
    const e: LogEntry = { ...entry, seq: ++this.seq };
    this.entries.push(e);
    if (this.entries.length > 100_000) this.entries.splice(0, 50_000);
    return e;
  }

  forRoute(route: EmulatorRoute): LogEntry[] {
    return this.entries.filter((e) => e.route === route);
  }

  clear(): void {
    this.entries.length = 0;
  }
}

export interface ServerContext {
  readonly stores: readonly ProjectStore[];
  readonly faults: FaultRegistry;
  readonly limiter: RateLimiter;
  readonly log: RequestLogImpl;
  readonly now: () => number;
  readonly sessionTtlMs: number;
}

const LOGGED_VALUE_MAX = 2000;

function loggedParams(params: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) out[k] = v.length > LOGGED_VALUE_MAX ? `${v.slice(0, LOGGED_VALUE_MAX)}…` : v;
  return out;
}

/** Body of a scripted status fault when none was given: the route family's error shape. */
function sendStatusFault(c: Call, status: number, body: string | object | undefined, retryAfterSeconds: number | undefined): void {
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  if (typeof body === 'string') return sendText(c, status, body, 'text/plain; charset=utf-8', headers);
  if (body !== undefined) return sendJson(c, status, body, headers);
  const message = DEFAULT_FAULT_MESSAGES[status] ?? statusText(status);
  const family = familyOf(c.route);
  if (family === 'ingestion') {
    if (c.route === 'import') return ingestionError(c, status, message, headers);
    return sendJson(c, status, { error: message, status: 'error' }, headers);
  }
  queryError(c, status, message, headers);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export function createRequestHandler(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const byToken = (token: string): ProjectStore | undefined => ctx.stores.find((s) => s.project.token === token);

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: `emulator error: ${err instanceof Error ? err.message : String(err)}` }));
      } else {
        res.destroy();
      }
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://emulator.local');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const host = req.headers.host ?? '';
    const hostInfo = mixpanelHost(host);
    let route: EmulatorRoute = ROUTES[path] ?? 'unknown';
    if (hostInfo !== undefined && route !== 'unknown' && familyOf(route) !== hostInfo.family) route = 'unknown';
    const method = (req.method ?? 'GET').toUpperCase();
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    const entry = ctx.log.add({ method, host, path: url.pathname, route, projectId: undefined, params: {}, status: 0, atMs: ctx.now(), fault: undefined });
    const query = url.searchParams;
    const queryParams: Record<string, string> = {};
    for (const [k, v] of query) queryParams[k] = v;

    let body: Buffer = Buffer.alloc(0);
    let tooLarge: string | undefined;
    try {
      if (method !== 'GET' && method !== 'HEAD') body = await readBody(req, MAX_BODY_BYTES);
    } catch (e) {
      if (!(e instanceof BodyTooLarge)) throw e;
      tooLarge = e.message;
    }
    const family = familyOf(route);
    const params: Record<string, string> = family === 'query' ? { ...queryParams, ...bodyParams(body, contentType) } : { ...queryParams };
    if (family === 'ingestion' && (contentType.includes('form') || contentType.includes('text/plain'))) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) if (k !== 'data') params[k] = v;
    }
    const c: Call = {
      req,
      res,
      method,
      host,
      hostInfo,
      rawPath: url.pathname,
      requestText: rawUrl,
      route,
      query,
      body,
      contentType,
      params,
      entry: Object.assign(entry, { params: loggedParams(params) }),
    };
    if (route === 'unknown') return queryError(c, 404, 'Invalid API endpoint');
    if (tooLarge !== undefined) return ingestionError(c, 413, tooLarge);

    // ---- ingestion without credentials (/track, /engage, /groups) ----
    if (route === 'track' || route === 'engage-ingest' || route === 'groups') {
      const fired = ctx.faults.take({ route, projectId: undefined, params });
      if (applyCommonFaults(c, fired)) return;
      await slowHeaders(fired);
      const target: IngestTarget = {
        nowMs: ctx.now(),
        projectForToken: (token, call) => {
          const s = byToken(token);
          if (s === undefined) return undefined;
          if (call.hostInfo !== undefined && call.hostInfo.region !== s.project.region) return undefined; // dropped, as Mixpanel does
          return s;
        },
      };
      if (route === 'track') return serveTrack(c, target);
      if (route === 'engage-ingest') return serveEngageIngest(c, target);
      return serveGroups(c, target);
    }

    // ---- authenticated routes ----
    const auth = authenticate(req.headers.authorization, params['project_id'], ctx.stores.map((s) => s.project), { allowToken: route === 'import' });
    const wrongRegion = auth.ok && hostInfo !== undefined && hostInfo.region !== auth.project.region;
    if (!auth.ok || wrongRegion) {
      const message = !auth.ok ? auth.message : 'Invalid credentials. This project does not live in this region: use the host of its data residency region.';
      const status = !auth.ok ? auth.status : 401;
      if (route === 'import') return ingestionError(c, status, status === 401 ? (auth.ok ? message : 'Invalid credentials') : message);
      return queryError(c, status, message);
    }
    const store = ctx.stores.find((s) => s.project === auth.project) as ProjectStore;
    Object.assign(entry, { projectId: store.project.id });

    const fired = ctx.faults.take({ route, projectId: store.project.id, params });
    if (applyCommonFaults(c, fired)) return;
    const special = fired.map((f) => f.action);

    if (route === 'import') {
      const wait = ctx.limiter.admitIngest(store.project.id, body.length);
      if (wait !== undefined) return ingestionError(c, 429, DEFAULT_FAULT_MESSAGES[429] as string, { 'Retry-After': String(wait) });
      await slowHeaders(fired);
      return serveImport(c, store, ctx.now());
    }

    const limitFamily = route === 'export' ? 'export' : 'query';
    if (route === 'export') {
      // Validate before taking a slot: a 400 should not cost budget twice.
      const planned = planExport(store, params, ctx.now());
      if (!planned.ok) return queryError(c, 400, planned.message);
      const admission = ctx.limiter.admit(store.project.id, limitFamily);
      if (!admission.ok) return queryError(c, 429, admission.message, { 'Retry-After': String(admission.retryAfterSeconds) });
      res.once('close', () => admission.release());
      await slowHeaders(fired);
      const streamFault = special.find((a) => a.kind === 'terminated-early' || a.kind === 'reset' || a.kind === 'gzip-cut');
      return serveExport(c, store, planned.plan, streamFault);
    }
    // An Engage page with a session_id continues its query (whether the hourly budget counts it: RateLimiter).
    const continuesQuery = route === 'engage' && (params['session_id'] ?? '') !== '';
    const admission = ctx.limiter.admit(store.project.id, limitFamily, { continuesQuery });
    if (!admission.ok) return queryError(c, 429, admission.message, { 'Retry-After': String(admission.retryAfterSeconds) });
    res.once('close', () => admission.release());
    await slowHeaders(fired);
    switch (route) {
      case 'engage':
        return serveEngage(c, store, { nowMs: ctx.now(), sessionTtlMs: ctx.sessionTtlMs }, special);
      case 'cohorts':
        return serveCohortsList(c, store);
      case 'funnels-list':
        return serveFunnelsList(c);
      case 'funnels':
        return serveFunnel(c, store, ctx.now());
      case 'annotations':
        return serveAnnotations(c, store, ctx.now());
      case 'engage-revenue':
        return serveRevenue(c, store, ctx.now());
      default:
        return queryError(c, 404, 'Invalid API endpoint');
    }
  }

  /** Slow-headers faults: wait (after the rate-limit slot is taken, so a slow request holds it). */
  async function slowHeaders(fired: readonly { readonly action: FaultAction }[]): Promise<void> {
    for (const { action } of fired) if (action.kind === 'slow-headers') await sleep(action.delayMs);
  }

  /** Status and no-plan faults (and the log's fault names). Returns true when the response was sent. */
  function applyCommonFaults(c: Call, fired: readonly { readonly action: FaultAction; readonly name: string }[]): boolean {
    if (fired.length > 0) c.entry.fault = fired.map((f) => f.name).join(',');
    for (const { action } of fired) {
      if (action.kind === 'status') {
        sendStatusFault(c, action.status, action.body, action.retryAfterSeconds);
        return true;
      }
      if (action.kind === 'no-plan') {
        sendStatusFault(c, 402, undefined, undefined);
        return true;
      }
    }
    return false;
  }
}
