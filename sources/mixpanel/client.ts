/**
 * The Mixpanel HTTP client: undici (one pooled Agent, explicit timeouts), regional hosts or one base URL,
 * Basic auth, one bottleneck limiter per API family shared by every table of a source, 429 → Retry-After or the
 * hourly window, 5xx/connection errors → bounded exponential backoff with jitter, everything else → the typed
 * error of `errorForHttpStatus` with a message naming the fix.
 */
import Bottleneck from 'bottleneck';
import { Agent, request, type Dispatcher } from 'undici';
import { ConfigError, TransientError, type Logger, type ReadStats } from '../../connector-spec/index.js';
import { resolveUserAgent } from './user-agent.js';
import type { CallContext, ExportParams, ExportResponse, MixpanelClient } from './client-types.js';
import type { MixpanelConfig } from './config-types.js';
import { decodedBody } from './http/decode.js';
import { ERROR_CODE_PREFIX, errorForResponse } from './http/errors.js';
import { EXPORT_PATH, apiBase, type ApiFamily } from './http/hosts.js';
import { backoffMs, describeNetworkError, isHourlyQuotaMessage, isRetryableNetworkError, parseRetryAfterMs } from './http/retry.js';
import { parseJsonLossless } from './json.js';

export interface LimiterSettings {
  /** Minimum gap between two call starts (ms): 334 ≈ 3/s. */
  readonly minTime: number;
  readonly maxConcurrent: number;
  /** Calls per refresh interval (60 per hour). */
  readonly reservoir: number;
  readonly reservoirRefreshIntervalMs: number;
}

export interface ClientLimits {
  readonly export: LimiterSettings;
  readonly query: LimiterSettings;
  /** Retries of one call on 5xx or a connection error before the body (then TransientError). */
  readonly maxRetries: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Total time one call may spend waiting on 429s before it throws RateLimitError (the host waits then). */
  readonly maxRateLimitWaitMs: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** Idle time between two body chunks before the stream fails (TransientError). */
  readonly bodyTimeoutMs: number;
}

export const DEFAULT_EXPORT_LIMITER: LimiterSettings = Object.freeze({ minTime: 334, maxConcurrent: 100, reservoir: 60, reservoirRefreshIntervalMs: 3_600_000 });
export const DEFAULT_QUERY_LIMITER: LimiterSettings = Object.freeze({ minTime: 0, maxConcurrent: 5, reservoir: 60, reservoirRefreshIntervalMs: 3_600_000 });

export const DEFAULT_CLIENT_LIMITS: ClientLimits = Object.freeze({
  export: DEFAULT_EXPORT_LIMITER,
  query: DEFAULT_QUERY_LIMITER,
  maxRetries: 5,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  maxRateLimitWaitMs: 15 * 60_000,
  connectTimeoutMs: 30_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
});

export interface ClientOptions {
  readonly limits?: Partial<ClientLimits> | undefined;
  readonly logger?: Logger | undefined;
  /** Wall clock for rate-limit bookkeeping (default Date.now). */
  readonly now?: (() => number) | undefined;
  /** Sleep (default setTimeout); aborts with the signal. */
  readonly sleep?: ((ms: number, signal: AbortSignal | undefined) => Promise<void>) | undefined;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: (() => number) | undefined;
  /** User-Agent header of every call; default: `config.userAgent` (MIXPANEL_USER_AGENT), else DEFAULT_USER_AGENT. */
  readonly userAgent?: string | undefined;
}

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function defaultSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function mergeLimits(partial: Partial<ClientLimits> | undefined): ClientLimits {
  return {
    ...DEFAULT_CLIENT_LIMITS,
    ...partial,
    export: { ...DEFAULT_EXPORT_LIMITER, ...partial?.export },
    query: { ...DEFAULT_QUERY_LIMITER, ...partial?.query },
  };
}

function basicAuth(config: MixpanelConfig): string {
  const raw = config.auth.kind === 'service_account' ? `${config.auth.username}:${config.auth.secret}` : `${config.auth.secret}:`;
  return `Basic ${Buffer.from(raw, 'utf8').toString('base64')}`;
}

function headerValue(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function addStats(stats: ReadStats | undefined, update: (s: ReadStats) => void): void {
  if (stats) update(stats);
}

/** Per-family bookkeeping: the limiter, the calls of the last window, and a block after an hourly 429. */
interface FamilyState {
  readonly limiter: Bottleneck;
  readonly settings: LimiterSettings;
  readonly calls: number[];
  blockedUntil: number;
}

class UndiciMixpanelClient implements MixpanelClient {
  private readonly limits: ClientLimits;
  private readonly agent: Agent;
  private readonly families: Record<ApiFamily, FamilyState>;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  private readonly random: () => number;
  private readonly authorization: string;
  private readonly userAgent: string;

  constructor(
    private readonly config: MixpanelConfig,
    options: ClientOptions,
  ) {
    this.limits = mergeLimits(options.limits);
    this.logger = options.logger ?? SILENT;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.authorization = basicAuth(config);
    this.userAgent = resolveUserAgent(options.userAgent, config.userAgent);
    this.agent = new Agent({
      connect: { timeout: this.limits.connectTimeoutMs },
      headersTimeout: this.limits.headersTimeoutMs,
      bodyTimeout: this.limits.bodyTimeoutMs,
      connections: 16,
    });
    const family = (settings: LimiterSettings): FamilyState => ({
      settings,
      calls: [],
      blockedUntil: 0,
      limiter: new Bottleneck({
        minTime: settings.minTime,
        maxConcurrent: settings.maxConcurrent,
        ...(Number.isFinite(settings.reservoir)
          ? { reservoir: settings.reservoir, reservoirRefreshAmount: settings.reservoir, reservoirRefreshInterval: settings.reservoirRefreshIntervalMs }
          : {}),
      }),
    });
    this.families = { export: family(this.limits.export), query: family(this.limits.query) };
  }

  budgetLeft(family: ApiFamily): number {
    const state = this.families[family];
    this.prune(state);
    return Math.max(0, state.settings.reservoir - state.calls.length);
  }

  async exportStream(params: ExportParams, ctx: CallContext): Promise<ExportResponse> {
    const query = new URLSearchParams({ from_date: params.fromDate, to_date: params.toDate, time_in_ms: 'true' });
    if (params.event && params.event.length > 0) query.set('event', JSON.stringify(params.event));
    if (params.where !== undefined && params.where !== '') query.set('where', params.where);
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    const response = await this.send('export', EXPORT_PATH, query, { method: 'GET', headers: { 'accept-encoding': 'gzip' } }, ctx);
    const encoding = headerValue(response.headers, 'content-encoding')?.toLowerCase();
    const body = decodedBody(response.body, encoding === 'gzip' || encoding === 'x-gzip', `${EXPORT_PATH} ${params.fromDate}..${params.toDate}`);
    return { body, requestId: requestIdOf(response.headers) };
  }

  async queryJson(
    path: string,
    params: Readonly<Record<string, string>>,
    ctx: CallContext & { readonly method?: 'GET' | 'POST' },
  ): Promise<unknown> {
    const method = ctx.method ?? 'GET';
    for (let attempt = 1; ; attempt++) {
      const query = method === 'GET' ? new URLSearchParams(params) : new URLSearchParams();
      const init: RequestInit =
        method === 'POST'
          ? { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() }
          : { method, headers: {} };
      const response = await this.send('query', path, query, init, ctx);
      let text: string;
      try {
        text = await response.body.text();
      } catch (error) {
        if (attempt <= this.limits.maxRetries && isRetryableNetworkError(error)) {
          await this.backoff(attempt, path, describeNetworkError(error), ctx);
          continue;
        }
        throw new TransientError(`The response of ${path} broke off (${describeNetworkError(error)}): run again; the call is retried`, {
          code: `${ERROR_CODE_PREFIX}_BODY_BROKEN`,
          context: { table: ctx.table, path },
          cause: error,
        });
      }
      try {
        return parseJsonLossless(text);
      } catch (error) {
        if (attempt <= this.limits.maxRetries) {
          await this.backoff(attempt, path, 'response is not JSON', ctx);
          continue;
        }
        throw new TransientError(`${path} answered 200 with a body that is not JSON: check MIXPANEL_BASE_URL points at a Mixpanel-compatible server`, {
          code: `${ERROR_CODE_PREFIX}_BODY_NOT_JSON`,
          context: { table: ctx.table, path },
          cause: error,
        });
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.families.export.limiter.disconnect(), this.families.query.limiter.disconnect()]);
    await this.agent.close();
  }

  private prune(state: FamilyState): void {
    const cutoff = this.now() - state.settings.reservoirRefreshIntervalMs;
    while (state.calls.length > 0 && state.calls[0]! <= cutoff) state.calls.shift();
  }

  private async backoff(attempt: number, path: string, reason: string, ctx: CallContext): Promise<void> {
    const wait = backoffMs(attempt, this.limits.backoffBaseMs, this.limits.backoffCapMs, this.random());
    addStats(ctx.stats, (s) => {
      s.retries++;
    });
    this.logger.debug('mixpanel call retried', { table: ctx.table, path, attempt, waitMs: wait, reason });
    await this.sleep(wait, ctx.signal);
  }

  /**
   * Bottleneck's reservoir refills in fixed windows, so up to twice the budget could start within one rolling
   * hour across a refill. Mixpanel counts a rolling hour: before each call, wait until our calls of the last
   * window are under the budget. (Check and record happen without an await in between: no race.)
   */
  private async rollingWindowGate(state: FamilyState, family: ApiFamily, ctx: CallContext): Promise<void> {
    if (!Number.isFinite(state.settings.reservoir)) return;
    for (;;) {
      this.prune(state);
      if (state.calls.length < state.settings.reservoir) return;
      const wait = Math.max(1, state.calls[0]! + state.settings.reservoirRefreshIntervalMs - this.now() + 1);
      this.logger.info('mixpanel hourly budget used up: waiting for the window to open', { table: ctx.table, family, waitMs: wait });
      await this.sleep(wait, ctx.signal);
    }
  }

  /** Wait (ms) for an hourly-quota 429 without Retry-After: until our oldest call of the window leaves it. */
  private hourlyWaitMs(state: FamilyState): number {
    this.prune(state);
    const windowMs = state.settings.reservoirRefreshIntervalMs;
    const oldest = state.calls[0];
    if (oldest === undefined) return windowMs;
    return Math.max(1_000, oldest + windowMs - this.now());
  }

  /**
   * One logical call: limiter slot, request, 429/5xx/network handling. Resolves with a 2xx response whose body
   * the caller consumes; throws a typed error otherwise.
   */
  private async send(family: ApiFamily, path: string, query: URLSearchParams, init: RequestInit, ctx: CallContext): Promise<Dispatcher.ResponseData> {
    const state = this.families[family];
    if (this.config.auth.kind === 'service_account') query.set('project_id', String(this.config.auth.projectId));
    else if (this.config.auth.projectId !== undefined && family === 'query') query.set('project_id', String(this.config.auth.projectId));
    const qs = query.toString();
    const url = `${apiBase(this.config, family)}${path}${qs === '' ? '' : `?${qs}`}`;
    let rateLimitWaited = 0;
    let justWaited = false;
    for (let attempt = 1; ; attempt++) {
      // Another call hit the hourly quota: hold this one until the window opens (this call's own wait is done).
      const blocked = state.blockedUntil - this.now();
      if (blocked > 0 && !justWaited) await this.sleep(blocked, ctx.signal);
      justWaited = false;
      let response: Dispatcher.ResponseData;
      try {
        response = await state.limiter.schedule(async () => {
          await this.rollingWindowGate(state, family, ctx);
          const started = this.now();
          state.calls.push(started);
          addStats(ctx.stats, (s) => {
            s.apiCalls++;
          });
          this.logger.debug('mixpanel call', { table: ctx.table, family, path, budgetLeft: this.budgetLeft(family) });
          try {
            return await request(url, {
              dispatcher: this.agent,
              method: init.method,
              headers: { authorization: this.authorization, accept: 'application/json', 'user-agent': this.userAgent, ...init.headers },
              ...(init.body !== undefined ? { body: init.body } : {}),
              ...(ctx.signal ? { signal: ctx.signal } : {}),
            });
          } finally {
            // The server stamped the call somewhere between start and answer: count it from the later instant.
            restamp(state.calls, started, this.now());
          }
        });
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        if (isRetryableNetworkError(error) && attempt <= this.limits.maxRetries) {
          await this.backoff(attempt, path, describeNetworkError(error), ctx);
          continue;
        }
        throw new TransientError(`Could not reach Mixpanel for ${path} (${describeNetworkError(error)}): check the network and MIXPANEL_BASE_URL/MIXPANEL_REGION; run again`, {
          code: `${ERROR_CODE_PREFIX}_NETWORK`,
          context: { table: ctx.table, path },
          cause: error,
        });
      }
      const { statusCode } = response;
      if (statusCode >= 200 && statusCode < 300) return response;
      let body = '';
      try {
        body = await response.body.text();
      } catch {
        // the error body is best effort
      }
      const requestId = requestIdOf(response.headers);
      if (statusCode === 429) {
        const headerWait = parseRetryAfterMs(response.headers['retry-after'], this.now());
        const hourly = headerWait === undefined && isHourlyQuotaMessage(body);
        const wait = headerWait ?? (hourly ? this.hourlyWaitMs(state) : backoffMs(attempt, this.limits.backoffBaseMs, this.limits.backoffCapMs, this.random()));
        if (hourly) state.blockedUntil = Math.max(state.blockedUntil, this.now() + wait);
        if (rateLimitWaited + wait > this.limits.maxRateLimitWaitMs) {
          throw errorForResponse({ ...this.facts(statusCode, path, body, ctx), requestId, retryAfterMs: wait });
        }
        rateLimitWaited += wait;
        addStats(ctx.stats, (s) => {
          s.rateLimitWaits++;
          s.rateLimitWaitMs += wait;
        });
        this.logger.info('mixpanel rate limit: waiting', { table: ctx.table, family, path, waitMs: wait, hourly, budgetLeft: this.budgetLeft(family) });
        await this.sleep(wait, ctx.signal);
        justWaited = true;
        continue;
      }
      if ((statusCode >= 500 || statusCode === 408) && attempt <= this.limits.maxRetries) {
        await this.backoff(attempt, path, `HTTP ${statusCode}`, ctx);
        continue;
      }
      throw errorForResponse({ ...this.facts(statusCode, path, body, ctx), requestId });
    }
  }

  private facts(status: number, path: string, body: string, ctx: CallContext) {
    return {
      status,
      path,
      body,
      region: this.config.region,
      usesBaseUrl: this.config.baseUrl !== undefined,
      authKind: this.config.auth.kind,
      table: ctx.table,
    };
  }
}

/** Replace one `from` stamp by `to` in a sorted array, keeping it sorted. */
function restamp(calls: number[], from: number, to: number): void {
  const i = calls.indexOf(from);
  if (i === -1 || to === from) return;
  calls.splice(i, 1);
  let j = calls.length;
  while (j > 0 && calls[j - 1]! > to) j--;
  calls.splice(j, 0, to);
}

interface RequestInit {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

function requestIdOf(headers: Dispatcher.ResponseData['headers']): string | undefined {
  return headerValue(headers, 'x-mp-request-id') ?? headerValue(headers, 'x-request-id');
}

/** Create the client of one source instance: its limiters are shared by every table of that source. */
export function createMixpanelClient(config: MixpanelConfig, options: ClientOptions = {}): MixpanelClient {
  return new UndiciMixpanelClient(config, options);
}

