/**
 * The seam between tables and HTTP. `client.ts` implements it with undici, one shared call gate per
 * API family (export: 60/h, 3/s, 100 concurrent; query: 60/h, 5 concurrent), Retry-After, backoff for
 * 5xx/timeouts, the one HTTP-status → error table from connector-spec, and no wait past the call's deadline.
 */
import type { Readable } from 'node:stream';
import type { ReadStats } from '../../connector-spec/index.js';

export interface CallContext {
  readonly table: string;
  readonly signal?: AbortSignal | undefined;
  readonly stats?: ReadStats | undefined;
  /**
   * Epoch ms the call may not wait past (`ReadOptions.deadline`, the host's `--max-wait`). A wait that would end
   * later (hourly-budget pacing, the hold after an hourly 429, a 429's Retry-After, a retry backoff) is not slept:
   * the call throws a RateLimitError (TransientError for a retry backoff) whose `retryAfterMs` is the time until
   * that wait would have ended.
   */
  readonly deadline?: number | undefined;
}

/** Context of one Query-API call. */
export interface QueryCallContext extends CallContext {
  readonly method?: 'GET' | 'POST';
  /**
   * The call continues a query an earlier call started (an Engage page with a `session_id`). Mixpanel counts its
   * hourly Query budget in queries, so such a call is not paced against it (it still takes a concurrency slot),
   * until the server answers one with a 429 naming the hourly budget: from then on the client counts and paces
   * every call of the family, for the rest of the run.
   */
  readonly continuesQuery?: boolean;
}

export interface ExportParams {
  /** Inclusive `yyyy-mm-dd` dates in the interpreting zone. */
  readonly fromDate: string;
  readonly toDate: string;
  readonly event?: readonly string[];
  readonly where?: string;
  readonly limit?: number;
}

export interface ExportResponse {
  /**
   * The decompressed body bytes. It errors (TransientError) on reset or cut gzip. The consumer must still
   * check the content for a `terminated early` line. Destroy it to abort.
   */
  readonly body: Readable;
  readonly requestId: string | undefined;
}

/** Reads a response body chunk by chunk (`MixpanelClient.queryRead`). */
export interface BodyReader<T> {
  write(chunk: Uint8Array): void;
  end(): T;
}

export interface MixpanelClient {
  /** GET /api/2.0/export with `time_in_ms=true` and gzip. Rate-limited and retried up to the response headers. */
  exportStream(params: ExportParams, ctx: CallContext): Promise<ExportResponse>;
  /**
   * A Query-API call (engage, cohorts/list, funnels, annotations, engage/revenue): `path` like
   * `/api/query/engage`; params sent as a form body (POST) or query string (GET); `project_id` added for
   * service accounts. The body is parsed with `parseJsonLossless`. 429/5xx retried; others throw typed errors.
   */
  queryJson(path: string, params: Readonly<Record<string, string>>, ctx: QueryCallContext): Promise<unknown>;
  /**
   * `queryJson` with the caller's reader of the body: each chunk goes to `reader.write` as it arrives and
   * `reader.end()` gives the result (an Engage page is read profile by profile, never as one string). A fresh
   * reader per attempt. A `SyntaxError` from the reader is retried like a body that is not JSON; any other error
   * from it is thrown as is.
   */
  queryRead<T>(path: string, params: Readonly<Record<string, string>>, ctx: QueryCallContext, reader: () => BodyReader<T>): Promise<T>;
  /** Remaining hourly budget of an API family, as this process counts it. */
  budgetLeft(family: 'export' | 'query'): number;
  close(): Promise<void>;
}
