/**
 * Per-project limits with Mixpanel's numbers: hourly and per-second windows plus a concurrency cap. Whether an
 * Engage page that continues a query (`session_id`) counts against the hourly Query budget is a setting
 * (`queryBudgetCounts`): Mixpanel's docs count queries; `pages` plays a server that counts every request.
 */
import type { QueryBudgetCounts, RateLimits } from './types.js';

export const MIXPANEL_LIMITS: RateLimits = {
  exportPerHour: 60,
  exportPerSecond: 3,
  exportConcurrent: 100,
  queryPerHour: 60,
  queryConcurrent: 5,
  ingestBytesPerMinute: 2_000_000_000,
  minuteWindowMs: 60_000,
  hourWindowMs: 3_600_000,
  secondWindowMs: 1000,
};

/** Every limit off (for tests that are not about limits). */
export const NO_RATE_LIMITS: RateLimits = {
  ...MIXPANEL_LIMITS,
  exportPerHour: Number.POSITIVE_INFINITY,
  exportPerSecond: Number.POSITIVE_INFINITY,
  exportConcurrent: Number.POSITIVE_INFINITY,
  queryPerHour: Number.POSITIVE_INFINITY,
  queryConcurrent: Number.POSITIVE_INFINITY,
  ingestBytesPerMinute: Number.POSITIVE_INFINITY,
};

export type LimitFamily = 'export' | 'query';

export type Admission =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly message: string; readonly retryAfterSeconds: number };

const DOCS = 'For more information, please consult our documentation at https://help.mixpanel.com/hc/en-us/articles/115004602563-Rate-Limits-for-Export-API-Endpoints';

interface Counters {
  running: number;
  hour: number[];
  second: number[];
}

export interface RateLimiterOptions {
  /** Default `queries`: a request that continues a query uses a concurrency slot but no hourly budget. */
  readonly queryBudgetCounts?: QueryBudgetCounts;
}

export interface AdmitRequest {
  /** An Engage page with a `session_id`: it continues a query started earlier. */
  readonly continuesQuery?: boolean;
}

export class RateLimiter {
  private readonly counters = new Map<string, Counters>();
  readonly queryBudgetCounts: QueryBudgetCounts;

  constructor(
    readonly limits: RateLimits,
    private readonly now: () => number,
    options: RateLimiterOptions = {},
  ) {
    this.queryBudgetCounts = options.queryBudgetCounts ?? 'queries';
  }

  private counter(projectId: number, family: LimitFamily): Counters {
    const key = `${projectId}:${family}`;
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { running: 0, hour: [], second: [] };
      this.counters.set(key, c);
    }
    return c;
  }

  private readonly ingested = new Map<number, { at: number; bytes: number }[]>();

  /**
   * Ingestion volume: admit `bytes` of uncompressed JSON for the project, or say how long to wait.
   * Returns the Retry-After seconds when over the per-minute budget.
   */
  admitIngest(projectId: number, bytes: number): number | undefined {
    const l = this.limits;
    const now = this.now();
    let log = this.ingested.get(projectId);
    if (log === undefined) {
      log = [];
      this.ingested.set(projectId, log);
    }
    while (log.length > 0 && (log[0] as { at: number }).at <= now - l.minuteWindowMs) log.shift();
    const used = log.reduce((sum, x) => sum + x.bytes, 0);
    if (used + bytes > l.ingestBytesPerMinute) {
      const oldest = log[0]?.at ?? now;
      return Math.max(1, Math.ceil((oldest + l.minuteWindowMs - now) / 1000));
    }
    log.push({ at: now, bytes });
    return undefined;
  }

  /** Try to start a request; on success call `release()` when its response ends. */
  admit(projectId: number, family: LimitFamily, request: AdmitRequest = {}): Admission {
    const l = this.limits;
    const now = this.now();
    const c = this.counter(projectId, family);
    while (c.hour.length > 0 && (c.hour[0] as number) <= now - l.hourWindowMs) c.hour.shift();
    while (c.second.length > 0 && (c.second[0] as number) <= now - l.secondWindowMs) c.second.shift();
    // A continued query costs no hourly budget unless this server counts pages (it still runs concurrently).
    const free = family === 'query' && request.continuesQuery === true && this.queryBudgetCounts === 'queries';
    const perHour = free ? Number.POSITIVE_INFINITY : family === 'export' ? l.exportPerHour : l.queryPerHour;
    const perSecond = family === 'export' ? l.exportPerSecond : Number.POSITIVE_INFINITY;
    const concurrent = family === 'export' ? l.exportConcurrent : l.queryConcurrent;
    const fmt = (n: number): string => (Number.isFinite(n) ? String(n) : 'unlimited');
    const overConcurrent = c.running + 1 > concurrent;
    const overHour = c.hour.length + 1 > perHour;
    const overSecond = c.second.length + 1 > perSecond;
    if (overConcurrent || overHour || overSecond) {
      let retryMs = 1000;
      if (overHour) retryMs = Math.max(retryMs, (c.hour[0] as number) + l.hourWindowMs - now);
      if (overSecond) retryMs = Math.max(retryMs, (c.second[0] as number) + l.secondWindowMs - now);
      const running = overConcurrent ? c.running + 1 : c.running;
      const hourCount = overHour ? c.hour.length + 1 : c.hour.length;
      let message: string;
      if (family === 'query') {
        message = `Query rate limit exceeded for project_id: ${projectId}. ${running}/${fmt(concurrent)} queries running concurrently and ${hourCount}/${fmt(l.queryPerHour)} queries running in the last hour. ${DOCS}`;
      } else if (overConcurrent) {
        message = `too many export requests in progress for this project (project_id: ${projectId}, ${running}/${fmt(concurrent)} running concurrently)`;
      } else {
        const secCount = overSecond ? c.second.length + 1 : c.second.length;
        message = `Export rate limit exceeded for project_id: ${projectId}. ${secCount}/${fmt(perSecond)} queries in the last second and ${hourCount}/${fmt(perHour)} queries in the last hour. ${DOCS}`;
      }
      return { ok: false, message, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) };
    }
    c.running++;
    if (!free) c.hour.push(now);
    c.second.push(now);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (!released) {
          released = true;
          c.running--;
        }
      },
    };
  }
}
