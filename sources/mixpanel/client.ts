/**
 * The Mixpanel HTTP client: undici (one pooled Agent, explicit timeouts), regional hosts or one base URL,
 * Basic auth, one call gate (concurrency, least gap between starts) per API family shared by every table of a source, 429 → Retry-After or the
 * hourly window, 5xx/connection errors → bounded exponential backoff with jitter, everything else → the typed
 * error of `errorForHttpStatus` with a message naming the fix.
 *
 * Query-API pacing is by query, not by page: a call that starts a query waits for the rolling hourly budget, a
 * call that continues one (`continuesQuery`: an Engage page with a `session_id`) only for a concurrency slot.
 * If the server answers such a call with a 429 naming the hourly budget, it counts pages: the client learns it
 * (once per client, i.e. per run), counts the pages it already sent, waits as for any hourly 429 and from then on
 * paces every call of the family.
 *
 * No wait ends after the call's deadline (`CallContext.deadline`, the host's `--max-wait`): the hourly-budget
 * pacing of a new call, the hold after another call's hourly 429, a 429's Retry-After or hourly wait, and the
 * backoff before a retry each check it first, and a wait that would end later throws at once, without sleeping
 * (`waitPastDeadline`): a RateLimitError whose `retryAfterMs` is the time until the wait would have ended (a
 * TransientError for a retry backoff). The host then ends the table with its committed work kept.
 */
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { ConfigError, RateLimitError, TransientError, isConnectorError, type ConnectorError, type Logger, type ReadStats } from '../../connector-spec/index.js';
import { resolveUserAgent } from './user-agent.js';
import type { BodyReader, CallContext, ExportParams, ExportResponse, MixpanelClient, QueryCallContext } from './client-types.js';
import type { MixpanelConfig } from './config-types.js';
import { decodedBody } from './http/decode.js';
import { ERROR_CODE_PREFIX, errorForResponse, unreachableError } from './http/errors.js';
import { CallGate } from './http/call-gate.js';
import { requestExportBody } from './http/export-body.js';
import { EXPORT_PATH, apiBase, type ApiFamily } from './http/hosts.js';
import {
  UNREACHABLE_RETRY_WAITS_MS,
  backoffMs,
  describeNetworkError,
  isHeadersTimeout,
  isHourlyQuotaMessage,
  isRetryableNetworkError,
  parseRetryAfterMs,
  unreachableCode,
} from './http/retry.js';
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
  readonly limiter: CallGate;
  readonly settings: LimiterSettings;
  /** Start stamps of the calls the hourly budget counts (of the last window). */
  calls: number[];
  /** Start stamps of the calls that continued a query and were not counted (of the last window). */
  readonly continued: number[];
  /** Learned from an hourly 429 on a continued query: the server counts every call (pages too). */
  countsContinued: boolean;
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
    // The hourly budgets are kept by the rolling-window gate alone (the CallGate keeps the gap and the
    // concurrency): a limiter's reservoir would count the pages of a query too (it cannot tell a continued query
    // from a new one), it refills in fixed windows (the gate is the stricter rule anyway), and it would hold a call
    // in its queue without a look at the call's deadline.
    const family = (settings: LimiterSettings): FamilyState => ({
      settings,
      calls: [],
      continued: [],
      countsContinued: false,
      blockedUntil: 0,
      limiter: new CallGate({ minTime: settings.minTime, maxConcurrent: settings.maxConcurrent }),
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
    // The body through requestExportBody: its read cost does not depend on the server's chunking (http/export-body.ts).
    const response = await this.send('export', EXPORT_PATH, query, { method: 'GET', headers: { 'accept-encoding': 'gzip' }, exportBody: true }, ctx);
    const encoding = headerValue(response.headers, 'content-encoding')?.toLowerCase();
    const body = decodedBody(response.body, encoding === 'gzip' || encoding === 'x-gzip', `${EXPORT_PATH} ${params.fromDate}..${params.toDate}`);
    return { body, requestId: requestIdOf(response.headers) };
  }

  queryJson(path: string, params: Readonly<Record<string, string>>, ctx: QueryCallContext): Promise<unknown> {
    return this.queryRead(path, params, ctx, () => new JsonTextReader());
  }

  async queryRead<T>(path: string, params: Readonly<Record<string, string>>, ctx: QueryCallContext, makeReader: () => BodyReader<T>): Promise<T> {
    const method = ctx.method ?? 'GET';
    for (let attempt = 1; ; attempt++) {
      const query = method === 'GET' ? new URLSearchParams(params) : new URLSearchParams();
      const init: RequestInit =
        method === 'POST'
          ? { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() }
          : { method, headers: {} };
      const response = await this.send('query', path, query, init, ctx);
      const reader = makeReader();
      /** What the reader threw (the body itself arrived, or was abandoned for it). */
      let readerError: unknown;
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          try {
            reader.write(chunk);
          } catch (error) {
            readerError = error;
            break; // ends the body: the rest is not read
          }
        }
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
      if (readerError === undefined) {
        try {
          return reader.end();
        } catch (error) {
          readerError = error;
        }
      }
      // Only a body that is not JSON is retried; a reader's typed error (JSON of the wrong shape) is not.
      if (!(readerError instanceof SyntaxError)) throw readerError;
      if (attempt <= this.limits.maxRetries) {
        await this.backoff(attempt, path, 'response is not JSON', ctx);
        continue;
      }
      throw new TransientError(`${path} answered 200 with a body that is not JSON: check MIXPANEL_BASE_URL points at a Mixpanel-compatible server`, {
        code: `${ERROR_CODE_PREFIX}_BODY_NOT_JSON`,
        context: { table: ctx.table, path },
        cause: readerError,
      });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private prune(state: FamilyState): void {
    const cutoff = this.now() - state.settings.reservoirRefreshIntervalMs;
    while (state.calls.length > 0 && state.calls[0]! <= cutoff) state.calls.shift();
    while (state.continued.length > 0 && state.continued[0]! <= cutoff) state.continued.shift();
  }

  /** Whether the hourly budget counts this call: any call that does not continue a query, or all once learned. */
  private counted(state: FamilyState, ctx: QueryCallContext): boolean {
    return ctx.continuesQuery !== true || state.countsContinued;
  }

  /**
   * An hourly 429 on a call that continued a query: this server counts pages. Count the pages already sent in
   * this window, and pace every call of the family from now on (once; the first 429 teaches it).
   */
  private learnCountsContinued(state: FamilyState, family: ApiFamily, path: string, ctx: CallContext): void {
    state.countsContinued = true;
    this.prune(state);
    state.calls = [...state.calls, ...state.continued].sort((a, b) => a - b);
    state.continued.length = 0;
    const message = `Mixpanel answered a page of a running query (session_id) with a 429 naming the hourly Query-API budget: this server counts pages, so every page is paced against the ${state.settings.reservoir}-per-hour budget for the rest of this run (about ${state.settings.reservoir} pages of 1000 profiles per hour)`;
    this.logger.warn(message, { table: ctx.table, family, path });
    addStats(ctx.stats, (s) => {
      s.warnings.push(`${ctx.table}: ${message}`);
    });
  }

  private async backoff(attempt: number, path: string, reason: string, ctx: CallContext): Promise<void> {
    const wait = backoffMs(attempt, this.limits.backoffBaseMs, this.limits.backoffCapMs, this.random());
    const late = this.waitPastDeadline(wait, ctx, { kind: 'retry', path, reason });
    if (late) throw late;
    addStats(ctx.stats, (s) => {
      s.retries++;
    });
    this.logger.debug('mixpanel call retried', { table: ctx.table, path, attempt, waitMs: wait, reason });
    await this.sleep(wait, ctx.signal);
  }

  /**
   * A limiter's reservoir refills in fixed windows, so up to twice the budget could start within one rolling
   * hour across a refill. Mixpanel counts a rolling hour: before each call, wait until our calls of the last
   * window are under the budget. Undefined when the call may start now, else the wait (after which the caller asks
   * again): the caller records its call in the same synchronous step as the answer that let it through, so two
   * calls cannot both take the last unit of the budget, and a call with budget left starts without a turn of the
   * event loop.
   */
  private rollingWindowGate(state: FamilyState, family: ApiFamily, ctx: CallContext): Promise<void> | undefined {
    if (!Number.isFinite(state.settings.reservoir)) return undefined;
    this.prune(state);
    if (state.calls.length < state.settings.reservoir) return undefined;
    const wait = Math.max(1, state.calls[0]! + state.settings.reservoirRefreshIntervalMs - this.now() + 1);
    const late = this.waitPastDeadline(wait, ctx, { kind: 'budget', family });
    if (late) return Promise.reject(late);
    this.logger.info('mixpanel hourly budget used up: waiting for the window to open', { table: ctx.table, family, waitMs: wait });
    return this.sleep(wait, ctx.signal);
  }

  /**
   * The error to throw instead of a wait of `waitMs` that would end after the call's deadline; undefined when the
   * wait ends in time (or the call has no deadline). `retryAfterMs` is the whole wait: when a retry can succeed.
   */
  private waitPastDeadline(waitMs: number, ctx: CallContext, wait: PendingWait): ConnectorError | undefined {
    if (ctx.deadline === undefined) return undefined;
    const now = this.now();
    const endsAt = now + waitMs;
    if (endsAt <= ctx.deadline) return undefined;
    const when = `in ${describeWait(waitMs)} (at ${new Date(endsAt).toISOString()})`;
    const past = `after this run's deadline ${new Date(ctx.deadline).toISOString()} (--max-wait), so the call was not made`;
    const context = { table: ctx.table, retryAfterMs: waitMs, ...('path' in wait ? { path: wait.path } : {}) };
    this.logger.info('mixpanel wait past the deadline: not waiting', { table: ctx.table, kind: wait.kind, waitMs, deadline: new Date(ctx.deadline).toISOString() });
    switch (wait.kind) {
      case 'budget':
      case 'hold': {
        const budget = this.families[wait.family].settings.reservoir;
        const why =
          wait.kind === 'budget'
            ? `this run has used the ${wait.family === 'query' ? 'Query-API' : 'raw export'} budget of ${budget} call${budget === 1 ? '' : 's'} per hour`
            : `Mixpanel answered another call with a 429 naming the hourly ${wait.family === 'query' ? 'Query-API' : 'raw export'} budget`;
        return new RateLimitError(`${why}: the next ${wait.family} call could start ${when}, ${past}`, {
          code: `${ERROR_CODE_PREFIX}_HOURLY_BUDGET_USED`,
          context: { ...context, family: wait.family },
          retryAfterMs: waitMs,
        });
      }
      case 'rate-limit':
        return new RateLimitError(`Mixpanel rate limit on ${wait.path} (HTTP 429${wait.hourly ? ', hourly budget' : ''}): it can be called again ${when}, ${past}`, {
          code: `${ERROR_CODE_PREFIX}_HTTP_TOO_MANY_REQUESTS`,
          context: { ...context, status: 429, ...(wait.requestId !== undefined ? { requestId: wait.requestId } : {}) },
          retryAfterMs: waitMs,
        });
      case 'retry':
        return new TransientError(`${wait.path} failed (${wait.reason}); its retry would start ${when}, ${past}`, {
          code: `${ERROR_CODE_PREFIX}_RETRY_PAST_DEADLINE`,
          context,
        });
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
  private async send(family: ApiFamily, path: string, query: URLSearchParams, init: RequestInit, ctx: QueryCallContext): Promise<HttpResponse> {
    const state = this.families[family];
    if (this.config.auth.kind === 'service_account') query.set('project_id', String(this.config.auth.projectId));
    else if (this.config.auth.projectId !== undefined && family === 'query') query.set('project_id', String(this.config.auth.projectId));
    const qs = query.toString();
    const url = `${apiBase(this.config, family)}${path}${qs === '' ? '' : `?${qs}`}`;
    let rateLimitWaited = 0;
    let justWaited = false;
    let countedCall = true;
    for (let attempt = 1; ; attempt++) {
      // Another call hit the hourly quota: hold this one until the window opens (this call's own wait is done).
      // A continued query is not held: the hourly budget does not count it.
      const blocked = state.blockedUntil - this.now();
      if (blocked > 0 && !justWaited && this.counted(state, ctx)) {
        const late = this.waitPastDeadline(blocked, ctx, { kind: 'hold', family });
        if (late) throw late;
        await this.sleep(blocked, ctx.signal);
      }
      justWaited = false;
      let response: HttpResponse;
      try {
        response = await state.limiter.run(async () => {
          // Decided when the call leaves the queue (another call may have learned that pages count meanwhile).
          countedCall = this.counted(state, ctx);
          if (countedCall) {
            for (let wait = this.rollingWindowGate(state, family, ctx); wait !== undefined; wait = this.rollingWindowGate(state, family, ctx)) await wait;
          } else this.prune(state); // keeps the uncounted stamps to the last window
          const started = this.now();
          (countedCall ? state.calls : state.continued).push(started);
          addStats(ctx.stats, (s) => {
            s.apiCalls++;
          });
          this.logger.debug('mixpanel call', { table: ctx.table, family, path, budgetLeft: this.budgetLeft(family) });
          const headers = { authorization: this.authorization, accept: 'application/json', 'user-agent': this.userAgent, ...init.headers };
          try {
            if (init.exportBody) return await requestExportBody(this.agent, url, { method: init.method, headers, signal: ctx.signal });
            return await request(url, {
              dispatcher: this.agent,
              method: init.method,
              headers,
              ...(init.body !== undefined ? { body: init.body } : {}),
              ...(ctx.signal ? { signal: ctx.signal } : {}),
            });
          } finally {
            // The server stamped the call somewhere between start and answer: count it from the later instant
            // (in whichever list holds it now: learning that pages count moves continued calls to `calls`).
            restamp(state.continued.includes(started) ? state.continued : state.calls, started, this.now());
          }
        });
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        // Our own typed errors (a budget wait past the deadline) pass through unwrapped.
        if (isConnectorError(error)) throw error;
        const unreachable = unreachableCode(error);
        if (unreachable !== undefined) {
          // Refused or no DNS: a couple of quick tries, then a ConfigError naming the host (not retried, not split).
          const wait = UNREACHABLE_RETRY_WAITS_MS[attempt - 1];
          if (wait === undefined) {
            throw unreachableError({ url, code: unreachable, path, table: ctx.table, region: this.config.region, usesBaseUrl: this.config.baseUrl !== undefined, attempts: attempt }, error);
          }
          const late = this.waitPastDeadline(wait, ctx, { kind: 'retry', path, reason: describeNetworkError(error) });
          if (late) throw late;
          addStats(ctx.stats, (s) => {
            s.retries++;
          });
          this.logger.debug('mixpanel host unreachable: quick retry', { table: ctx.table, path, attempt, waitMs: wait, reason: unreachable });
          await this.sleep(wait, ctx.signal);
          continue;
        }
        if (isRetryableNetworkError(error) && attempt <= this.limits.maxRetries) {
          await this.backoff(attempt, path, describeNetworkError(error), ctx);
          continue;
        }
        if (isHeadersTimeout(error)) {
          throw new TransientError(`Mixpanel did not answer ${path} within ${this.limits.headersTimeoutMs} ms: the call is retried (an export slice that keeps timing out is split)`, {
            code: `${ERROR_CODE_PREFIX}_HEADERS_TIMEOUT`,
            context: { table: ctx.table, path },
            cause: error,
          });
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
        const hourlyBody = isHourlyQuotaMessage(body);
        if (hourlyBody && !countedCall && !state.countsContinued) this.learnCountsContinued(state, family, path, ctx);
        const hourly = headerWait === undefined && hourlyBody;
        const wait = headerWait ?? (hourly ? this.hourlyWaitMs(state) : backoffMs(attempt, this.limits.backoffBaseMs, this.limits.backoffCapMs, this.random()));
        if (hourly) state.blockedUntil = Math.max(state.blockedUntil, this.now() + wait);
        const late = this.waitPastDeadline(wait, ctx, { kind: 'rate-limit', path, hourly: hourly || hourlyBody, requestId });
        if (late) throw late;
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

/** A wait the client is about to make, for the error that replaces it when it would end past the deadline. */
type PendingWait =
  | { readonly kind: 'budget' | 'hold'; readonly family: ApiFamily }
  | { readonly kind: 'rate-limit'; readonly path: string; readonly hourly: boolean; readonly requestId: string | undefined }
  | { readonly kind: 'retry'; readonly path: string; readonly reason: string };

/** `42 s`, `12 min`, `1 h 5 min`: a wait for a message. */
function describeWait(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? '' : ` ${minutes % 60} min`}`;
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
  /** Read the response through `requestExportBody` (large streamed bodies) instead of undici's `request()`. */
  readonly exportBody?: boolean;
}

/** What `send` resolves with: undici's `request()` response or `requestExportBody`'s (both: status, headers, body). */
interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly body: Readable & { text(): Promise<string> };
}

/** The whole body as text (a UTF-8 BOM skipped, as undici's `text()`), parsed by `parseJsonLossless`. */
class JsonTextReader implements BodyReader<unknown> {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  end(): unknown {
    const bytes = Buffer.concat(this.chunks, this.length);
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    return parseJsonLossless(bytes.toString('utf8', bom));
  }
}

function requestIdOf(headers: Dispatcher.ResponseData['headers']): string | undefined {
  return headerValue(headers, 'x-mp-request-id') ?? headerValue(headers, 'x-request-id');
}

/** Create the client of one source instance: its limiters are shared by every table of that source. */
export function createMixpanelClient(config: MixpanelConfig, options: ClientOptions = {}): MixpanelClient {
  return new UndiciMixpanelClient(config, options);
}

