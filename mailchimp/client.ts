/**
 * A thin typed Mailchimp Marketing API client over `fetch` for the three calls the sync needs:
 * `GET /3.0/lists/{id}/members` (paged), `POST /3.0/lists/{id}` (batch create) and
 * `PUT /3.0/lists/{id}/members/{hash}` (upsert of merge fields). Basic auth `anystring:<key>`; at most
 * `maxConcurrent` requests in flight; 429, 5xx and network failures retried with backoff (429 honours
 * `Retry-After`). Every reply is `unknown` until validated here. The key never appears in an error or log.
 */
import { AuthError, ConfigError, errorForHttpStatus, isConnectorError, TransientError, type ConnectorError } from '../connector-spec/index.js';

export type MemberStatus = 'subscribed' | 'unsubscribed' | 'cleaned' | 'pending' | 'transactional' | 'archived';

export interface RemoteMember {
  readonly email: string;
  readonly status: string;
  readonly fname: string;
  readonly lname: string;
}

export interface MemberError {
  readonly email: string;
  readonly code: string | null;
  readonly message: string;
  readonly field: string | null;
}

export interface BatchResult {
  readonly created: RemoteMember[];
  readonly updated: RemoteMember[];
  readonly errors: MemberError[];
}

export interface NewMember {
  readonly email: string;
  readonly status: 'pending' | 'subscribed';
  readonly fname: string;
  readonly lname: string;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 1_000, capMs: 60_000 };

export interface ClientOptions {
  /** `https://<dc>.api.mailchimp.com` or an emulator's URL; `/3.0` is appended. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly maxConcurrent?: number;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onRetry?: (info: { readonly what: string; readonly attempt: number; readonly delayMs: number; readonly status: number | null }) => void;
}

export interface ClientStats {
  requests: number;
  writes: number;
  retries: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asString(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function invalid(what: string): TransientError {
  return new TransientError(`Mailchimp answered ${what} with an unexpected body; retry later, and check MAILCHIMP_BASE_URL points at the Mailchimp API`, {
    code: 'MAILCHIMP_BAD_RESPONSE',
  });
}

export function parseMember(v: unknown, what: string): RemoteMember {
  if (!isRecord(v)) throw invalid(what);
  const email = asString(v['email_address']);
  const status = asString(v['status']);
  if (email === null || status === null) throw invalid(what);
  const merge = isRecord(v['merge_fields']) ? v['merge_fields'] : {};
  return { email, status, fname: asString(merge['FNAME']) ?? '', lname: asString(merge['LNAME']) ?? '' };
}

function parseBatch(v: unknown): BatchResult {
  if (!isRecord(v)) throw invalid('a batch');
  const list = (key: string): unknown[] => (Array.isArray(v[key]) ? (v[key] as unknown[]) : []);
  return {
    created: list('new_members').map((m) => parseMember(m, 'a batch')),
    updated: list('updated_members').map((m) => parseMember(m, 'a batch')),
    errors: list('errors').map((e) => {
      if (!isRecord(e)) throw invalid('a batch');
      return {
        email: asString(e['email_address']) ?? '',
        code: asString(e['error_code']),
        message: asString(e['error']) ?? 'rejected',
        field: asString(e['field']) || null,
      };
    }),
  };
}

/** The `detail` (else `title`) of a Mailchimp problem document. */
function problemDetail(body: unknown): { detail: string; title: string | null } {
  if (!isRecord(body)) return { detail: '', title: null };
  const title = asString(body['title']);
  let detail = asString(body['detail']) ?? title ?? '';
  if (Array.isArray(body['errors'])) {
    const parts = (body['errors'] as unknown[]).filter(isRecord).map((e) => `${asString(e['field']) ?? ''}: ${asString(e['message']) ?? ''}`);
    if (parts.length > 0) detail += ` (${parts.join('; ')})`;
  }
  return { detail, title };
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export class MailchimpClient {
  readonly stats: ClientStats = { requests: 0, writes: 0, retries: 0 };
  private readonly root: string;
  private readonly auth: string;
  private readonly limit: Semaphore;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ClientOptions) {
    this.root = `${options.baseUrl.replace(/\/+$/, '')}/3.0`;
    this.auth = `Basic ${Buffer.from(`anystring:${options.apiKey}`).toString('base64')}`;
    this.limit = new Semaphore(Math.min(10, Math.max(1, options.maxConcurrent ?? 10)));
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** One HTTP exchange, retried on 429/5xx/network errors. 4xx other than 429 are returned for the caller to judge. */
  private async request(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, what: string): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      let error: ConnectorError;
      let status: number | null = null;
      let after: number | undefined;
      try {
        const reply = await this.limit.run(async () => {
          this.stats.requests++;
          if (method !== 'GET') this.stats.writes++;
          const res = await fetch(`${this.root}${path}`, {
            method,
            headers: { authorization: this.auth, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          const text = await res.text();
          let parsed: unknown = null;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            parsed = null;
          }
          return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
        });
        status = reply.status;
        if (reply.status < 400 || (reply.status >= 400 && reply.status < 500 && reply.status !== 429)) return reply;
        const { detail } = problemDetail(reply.body);
        after = reply.status === 429 ? retryAfterMs(reply.retryAfter) : undefined;
        error = errorForHttpStatus(reply.status, `Mailchimp answered HTTP ${reply.status} to ${what}${detail ? `: ${detail}` : ''}; the sync retries it with backoff`, {
          codePrefix: 'MAILCHIMP',
          ...(after !== undefined ? { retryAfterMs: after } : {}),
        });
      } catch (caught) {
        if (isConnectorError(caught)) throw caught;
        error = new TransientError(`network error calling Mailchimp for ${what} (${caught instanceof Error ? caught.message : String(caught)}); check MAILCHIMP_BASE_URL / connectivity`, {
          code: 'MAILCHIMP_NETWORK',
          cause: caught,
        });
      }
      if (!error.retryable || attempt >= this.retry.attempts) throw error;
      const backoff = Math.min(this.retry.capMs, this.retry.baseMs * 2 ** (attempt - 1));
      const delay = after !== undefined ? Math.min(after, this.retry.capMs) : backoff;
      this.stats.retries++;
      this.options.onRetry?.({ what, attempt, delayMs: delay, status });
      await this.sleep(delay);
    }
  }

  /** Throw the typed error for a non-2xx reply the caller does not treat per member. */
  private fail(reply: Reply, what: string, listId: string): never {
    const { detail } = problemDetail(reply.body);
    const suffix = detail ? `: ${detail}` : '';
    if (reply.status === 401 || reply.status === 403) {
      throw new AuthError(`Mailchimp rejected the credentials (HTTP ${reply.status}) for ${what}${suffix}; check MAILCHIMP_API_KEY and MAILCHIMP_SERVER_PREFIX`, {
        code: `MAILCHIMP_HTTP_${reply.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN'}`,
        context: { status: reply.status },
      });
    }
    if (reply.status === 404) {
      throw new ConfigError(`Mailchimp has no audience ${JSON.stringify(listId)} (HTTP 404)${suffix}; check --list (Audience → Settings → Audience name and defaults → Audience ID)`, {
        code: 'MAILCHIMP_LIST_NOT_FOUND',
        context: { status: 404 },
      });
    }
    throw errorForHttpStatus(reply.status, `Mailchimp answered HTTP ${reply.status} to ${what}${suffix}; fix the request or report a bug`, { codePrefix: 'MAILCHIMP' });
  }

  /** Check credentials and the list before anything else. */
  async getList(listId: string): Promise<{ readonly name: string }> {
    const what = `GET /lists/${listId}`;
    const reply = await this.request('GET', `/lists/${encodeURIComponent(listId)}?fields=id,name`, undefined, what);
    if (reply.status >= 400) this.fail(reply, what, listId);
    if (!isRecord(reply.body)) throw invalid(what);
    return { name: asString(reply.body['name']) ?? '' };
  }

  /** Every member of the list with `status` (default: Mailchimp's default, which leaves out archived members). */
  async allMembers(listId: string, status?: MemberStatus, pageSize = 1000): Promise<RemoteMember[]> {
    const out: RemoteMember[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const query = new URLSearchParams({ count: String(pageSize), offset: String(offset), fields: 'members.email_address,members.status,members.merge_fields,total_items' });
      if (status !== undefined) query.set('status', status);
      const what = `GET /lists/${listId}/members`;
      const reply = await this.request('GET', `/lists/${encodeURIComponent(listId)}/members?${query.toString()}`, undefined, what);
      if (reply.status >= 400) this.fail(reply, what, listId);
      if (!isRecord(reply.body) || !Array.isArray(reply.body['members'])) throw invalid(what);
      const page = (reply.body['members'] as unknown[]).map((m) => parseMember(m, what));
      out.push(...page);
      const total = typeof reply.body['total_items'] === 'number' ? reply.body['total_items'] : undefined;
      if (page.length < pageSize || (total !== undefined && offset + page.length >= total)) return out;
    }
  }

  /** Create members with one batch call (`update_existing: false`: existing members are never touched). */
  async batchCreate(listId: string, members: readonly NewMember[]): Promise<BatchResult> {
    if (members.length > 500) throw new RangeError('a Mailchimp batch takes at most 500 members');
    const what = `POST /lists/${listId} (batch of ${members.length})`;
    const body = {
      update_existing: false,
      members: members.map((m) => ({ email_address: m.email, status: m.status, merge_fields: { FNAME: m.fname, LNAME: m.lname } })),
    };
    const reply = await this.request('POST', `/lists/${encodeURIComponent(listId)}`, body, what);
    if (reply.status >= 400) this.fail(reply, what, listId);
    return parseBatch(reply.body);
  }

  /**
   * Upsert one member's merge fields: `status_if_new` applies only if Mailchimp does not have the member;
   * `status` is never sent, so an existing member's status cannot change. A 400 is a per-member error.
   */
  async putMember(listId: string, hash: string, member: { readonly email: string; readonly fname: string; readonly lname: string; readonly statusIfNew: 'pending' | 'subscribed' }): Promise<RemoteMember | MemberError> {
    const what = `PUT /lists/${listId}/members/${hash}`;
    const body = { email_address: member.email, status_if_new: member.statusIfNew, merge_fields: { FNAME: member.fname, LNAME: member.lname } };
    const reply = await this.request('PUT', `/lists/${encodeURIComponent(listId)}/members/${hash}`, body, what);
    if (reply.status === 400) {
      const { detail, title } = problemDetail(reply.body);
      return { email: member.email, code: title, message: detail || 'rejected', field: null };
    }
    if (reply.status >= 400) this.fail(reply, what, listId);
    return parseMember(reply.body, what);
  }
}
