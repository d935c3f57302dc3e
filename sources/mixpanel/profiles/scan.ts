/**
 * One complete Engage scan: page 0, then `session_id` + `page + 1` until a short or empty page. `total` is never
 * trusted to stop or to be present: it is only a reason to go on after a short page that ends before page 0's
 * `total` (a profile deleted during the scan shortens a page in the middle); an empty page always ends the scan.
 *
 * Pacing is by query, not by page: page 0 starts a query and waits for the hourly Query-API budget; later pages
 * carry its `session_id` (`continuesQuery`) and wait only for a concurrency slot. If the server turns out to count
 * pages (an hourly 429 on one), the client paces every page from then on and re-fetches that page. No sleeps here.
 *
 * A rejected session (HTTP 400 on a page after the first) restarts the scan from page 0; ids already delivered by
 * this scan are skipped (a compact exact set, `DeliveredIds`), so the caller sees every profile exactly once
 * (0 duplicates, 0 gaps). The next page is requested as soon as a full page has arrived, before its rows are handed
 * out, so the caller's work overlaps the next round trip (the requests and their order are the same as one at a
 * time).
 */
import { setImmediate as checkPhase } from 'node:timers/promises';
import { DataError, TransientError, isConnectorError, type ReadStats } from '../../../connector-spec/index.js';
import type { MixpanelClient } from '../client-types.js';
import { DeliveredIds } from './delivered-ids.js';
import type { EngagePage, ProfileRecord } from './engage-response.js';
import { EngagePageReader } from './engage-page-reader.js';

export const ENGAGE_PATH = '/api/query/engage';
/** Mixpanel's documented maximum page size, used when a response does not say. */
export const DEFAULT_PAGE_SIZE = 1000;

export interface EngageScanOptions {
  readonly table: string;
  readonly client: MixpanelClient;
  /** Filters sent unchanged with every page (`where`, `filter_by_cohort`, `data_group_id`, …). */
  readonly params: Readonly<Record<string, string>>;
  /** Restarts allowed after rejected sessions before the call fails (TransientError, retried by the host). */
  readonly maxRestarts: number;
  readonly stats: ReadStats;
  readonly signal: AbortSignal | undefined;
  /** No wait of a page call may end after it (`CallContext.deadline`). */
  readonly deadline?: number | undefined;
  readonly onRestart?: (page: number, error: unknown) => void;
  /**
   * The ids this scan delivers, kept compactly (no JS string per id). Pass one to read it after the scan (the
   * deletion check compares a full scan with the live rows); default: a fresh set of the scan's own.
   */
  readonly delivered?: DeliveredIds;
}

export interface EngageScanSummary {
  readonly pages: number;
  readonly restarts: number;
  readonly profiles: number;
}

/** A 400 on a later page is the expired/unknown session (the same filters were accepted on page 0). */
function isRejectedSession(error: unknown): boolean {
  return isConnectorError(error) && error.context.status === 400 && !/authenticate/i.test(error.message);
}

/** Yields each page's not-yet-seen profiles; returns counts when the scan is complete. */
export async function* scanEngage(options: EngageScanOptions): AsyncGenerator<readonly ProfileRecord[], EngageScanSummary, undefined> {
  const { table, client, params, stats, signal } = options;
  const seen = options.delivered ?? new DeliveredIds();
  let page = 0;
  let sessionId: string | undefined;
  let restarts = 0;
  let pages = 0;
  let totalHint: number | undefined;
  const fetchPage = (n: number, session: string | undefined): Promise<EngagePage> => {
    const request: Record<string, string> = { ...params, page: String(n) };
    if (session !== undefined) request.session_id = session;
    // A page with a session_id continues the query page 0 started: paced by query, not by page (client.ts).
    // Read profile by profile as the body arrives (engage-page-reader.ts), never as one string.
    return client.queryRead(ENGAGE_PATH, request, { table, signal, deadline: options.deadline, stats, method: 'POST', continuesQuery: session !== undefined }, () => new EngagePageReader(table));
  };
  /** The next page, requested before this page's rows are handed out (same requests, same order; overlaps I/O). */
  let prefetched: Promise<EngagePage> | undefined;
  for (;;) {
    let parsed: EngagePage;
    try {
      const next = prefetched ?? fetchPage(page, sessionId);
      prefetched = undefined;
      parsed = await next;
    } catch (error) {
      if (page > 0 && isRejectedSession(error)) {
        if (restarts >= options.maxRestarts) {
          throw new TransientError(
            `table ${table}: the Engage session was rejected ${restarts + 1} times (last on page ${page}); the scan is retried from the start — if this repeats, narrow the scan with the table option "where"`,
            { code: 'MP_ENGAGE_SESSION_EXPIRED', context: { table, page }, cause: error },
          );
        }
        restarts++;
        stats.counters[`${table}.engage_session_restarts`] = (stats.counters[`${table}.engage_session_restarts`] ?? 0) + 1;
        options.onRestart?.(page, error);
        page = 0;
        sessionId = undefined;
        continue;
      }
      throw error;
    }
    pages++;
    const fresh: ProfileRecord[] = [];
    for (const record of parsed.results) {
      if (seen.add(record.distinctId)) fresh.push(record);
    }
    const pageSize = parsed.pageSize ?? DEFAULT_PAGE_SIZE;
    if (page === 0) totalHint = parsed.total;
    const reached = page * pageSize + parsed.results.length;
    const short = parsed.results.length < pageSize && (totalHint === undefined || reached >= totalHint);
    const last = parsed.results.length === 0 || short;
    if (!last) {
      sessionId = parsed.sessionId ?? sessionId;
      if (sessionId !== undefined) {
        // A failure surfaces when it is awaited at the top of the loop (restart rules unchanged); until then it
        // is marked handled so an abandoned scan leaves no unhandled rejection.
        prefetched = fetchPage(page + 1, sessionId);
        prefetched.catch(() => {});
        // undici writes a request on a reused keep-alive socket only after one check phase (its idle-socket
        // validation): let it pass now, or the request waits for the caller's mapping of this page to end.
        await checkPhase();
      }
    }
    if (fresh.length > 0) yield fresh;
    if (last) return { pages, restarts, profiles: seen.size };
    if (sessionId === undefined) {
      throw new DataError(`table ${table}: a full Engage page came without session_id, so the next page cannot be requested; check MIXPANEL_BASE_URL points at Mixpanel`, {
        code: 'MP_ENGAGE_NO_SESSION',
        context: { table, page },
      });
    }
    page++;
  }
}
