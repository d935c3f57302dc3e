/**
 * A Mailchimp Marketing API emulator for tests: a real `node:http` server (port 0 by default) serving
 * `GET /3.0/ping`, `GET /3.0/lists/{id}`, `GET /3.0/lists/{id}/members` (paged, `count` ≤ 1000, archived left out
 * unless asked for), `POST /3.0/lists/{id}` (batch, ≤ 500 members, `status` required per member) and
 * `PUT /3.0/lists/{id}/members/{hash}`. Basic auth (`anystring:<key>`) is checked; more than 10 requests in
 * flight get 429 as Mailchimp's connection limit does. Faults on demand: an HTTP status on the n-th call of a
 * kind (429 with `Retry-After`, 5xx), per-member rejections. Everything seen is logged for assertions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { List, STATUSES, WRITABLE_STATUSES, type Member, type Status, type StatusChange } from './store.js';

export type CallKind = 'batch' | 'put' | 'members' | 'list' | 'other';

export interface LoggedCall {
  readonly method: string;
  readonly path: string;
  readonly kind: CallKind;
  readonly status: number;
  /** Members in a batch body. */
  readonly members?: number;
  /** Whether a PUT/POST body carried `status` (the consent-trap field). */
  readonly sentStatus?: boolean;
  readonly updateExisting?: boolean;
}

export interface FaultRule {
  readonly kind: CallKind;
  /** 1-based: the n-th call of `kind` (counted from when the rule is added) gets `status`. */
  readonly nth: number;
  readonly status: number;
  readonly retryAfterSeconds?: number;
}

export interface MailchimpEmulatorOptions {
  readonly port?: number;
  readonly host?: string;
  readonly apiKey?: string;
  /** Lists created at start (id → name). Default `{ list1: 'Emulated audience' }`. */
  readonly lists?: Readonly<Record<string, string>>;
  /** Delay before each reply, so concurrent requests overlap. Default 0. */
  readonly latencyMs?: number;
  readonly maxConcurrent?: number;
  readonly now?: () => Date;
}

export interface MailchimpEmulator {
  readonly url: string;
  readonly apiKey: string;
  readonly log: LoggedCall[];
  /** Every status change of any member since start (batch, put or setup). */
  readonly statusChanges: StatusChange[];
  readonly maxInFlight: () => number;
  list(id: string): List;
  addList(id: string, name?: string): List;
  /** Add a fault: the n-th next call of that kind answers `status`. */
  fail(rule: FaultRule): void;
  /** Mailchimp answers this address with a per-member 400 (batch `errors[]`, PUT 400). */
  reject(email: string, message: string): void;
  close(): Promise<void>;
}

const PROBLEM_TYPE = 'https://mailchimp.com/developer/marketing/docs/errors/';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function memberJson(listId: string, m: Member): Record<string, unknown> {
  return {
    id: m.id,
    email_address: m.email,
    unique_email_id: m.id.slice(0, 10),
    status: m.status,
    merge_fields: { ...m.mergeFields },
    timestamp_signup: m.createdAt,
    last_changed: m.lastChanged,
    list_id: listId,
  };
}

function mergeOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, val] of Object.entries(v)) out[k] = val === null || val === undefined ? '' : String(val);
  return out;
}

export async function startMailchimpEmulator(options: MailchimpEmulatorOptions = {}): Promise<MailchimpEmulator> {
  const apiKey = options.apiKey ?? 'emulatorkey0123456789abcdef0123-us1';
  const now = options.now ?? (() => new Date());
  const maxConcurrent = options.maxConcurrent ?? 10;
  const lists = new Map<string, List>();
  const statusChanges: StatusChange[] = [];
  const rejections = new Map<string, string>();
  const log: LoggedCall[] = [];
  const faults: { rule: FaultRule; seen: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const addList = (id: string, name = 'Emulated audience'): List => {
    const list = new List(id, name, statusChanges, now, rejections);
    lists.set(id, list);
    return list;
  };
  for (const [id, name] of Object.entries(options.lists ?? { list1: 'Emulated audience' })) addList(id, name);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const json = JSON.stringify(body);
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8', ...headers });
    res.end(json);
  };
  const problem = (res: ServerResponse, status: number, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    send(res, status, { type: PROBLEM_TYPE, title, status, detail, instance: `emulator-${log.length}`, ...extra }, headers);

  const authorised = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic (.+)$/i.exec(header);
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && decoded.slice(colon + 1) === apiKey;
  };

  const kindOf = (method: string, parts: string[]): CallKind => {
    if (parts[1] === 'lists' && parts.length === 3) return method === 'POST' ? 'batch' : 'list';
    if (parts[1] === 'lists' && parts[3] === 'members') return parts.length === 5 && method === 'PUT' ? 'put' : parts.length === 4 && method === 'GET' ? 'members' : 'other';
    return 'other';
  };

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return Symbol.for('invalid-json');
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, record: (entry: Omit<LoggedCall, 'method' | 'path'>) => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const kind = kindOf(method, parts);
    const body = method === 'GET' ? undefined : await readBody(req);
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    let status = 200;
    const extra: { members?: number; sentStatus?: boolean; updateExisting?: boolean } = {};
    const reply = (code: number) => {
      status = code;
    };
    try {
      if (!authorised(req)) {
        reply(401);
        return problem(res, 401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
      }
      if (inFlight > maxConcurrent) {
        reply(429);
        return problem(res, 429, 'Too Many Requests', `You have exceeded the limit of ${maxConcurrent} simultaneous connections.`);
      }
      let firing: FaultRule | undefined;
      for (const f of faults) {
        if (f.rule.kind !== kind || f.seen >= f.rule.nth) continue;
        f.seen++;
        if (f.seen === f.rule.nth) firing ??= f.rule;
      }
      if (firing !== undefined) {
        reply(firing.status);
        const headers: Record<string, string> = firing.retryAfterSeconds !== undefined ? { 'retry-after': String(firing.retryAfterSeconds) } : {};
        return problem(res, firing.status, firing.status === 429 ? 'Too Many Requests' : 'Service Unavailable', 'Injected fault.', {}, headers);
      }
      if (parts[0] !== '3.0') {
        reply(404);
        return problem(res, 404, 'Resource Not Found', 'The requested resource could not be found.');
      }
      if (parts.length === 2 && parts[1] === 'ping' && method === 'GET') return send(res, 200, { health_status: "Everything's Chimpy!" });
      if (parts[1] !== 'lists' || parts.length < 3) {
        reply(404);
        return problem(res, 404, 'Resource Not Found', 'The requested resource could not be found.');
      }
      const list = lists.get(decodeURIComponent(parts[2]!));
      if (list === undefined) {
        reply(404);
        return problem(res, 404, 'Resource Not Found', 'The requested resource could not be found.');
      }
      if (body === Symbol.for('invalid-json')) {
        reply(400);
        return problem(res, 400, 'JSON Parse Exception', "We encountered an unspecified JSON parsing error.");
      }
      if (kind === 'list') return send(res, 200, { id: list.id, name: list.name, stats: { member_count: list.list('subscribed').length } });
      if (kind === 'members') {
        const count = Number(url.searchParams.get('count') ?? '10');
        const offset = Number(url.searchParams.get('offset') ?? '0');
        const statusFilter = url.searchParams.get('status') ?? undefined;
        if (!Number.isInteger(count) || count < 1 || count > 1000 || !Number.isInteger(offset) || offset < 0) {
          reply(400);
          return problem(res, 400, 'Invalid Resource', 'count must be between 1 and 1000; offset must be 0 or more.');
        }
        if (statusFilter !== undefined && !(STATUSES as readonly string[]).includes(statusFilter)) {
          reply(400);
          return problem(res, 400, 'Invalid Resource', `status must be one of ${STATUSES.join(', ')}.`);
        }
        const all = list.list(statusFilter);
        return send(res, 200, { members: all.slice(offset, offset + count).map((m) => memberJson(list.id, m)), list_id: list.id, total_items: all.length });
      }
      if (kind === 'batch') {
        if (!isRecord(body) || !Array.isArray(body['members'])) {
          reply(400);
          return problem(res, 400, 'Invalid Resource', 'The resource submitted could not be validated.', { errors: [{ field: 'members', message: 'Required' }] });
        }
        const items = body['members'] as unknown[];
        const updateExisting = body['update_existing'] === true;
        extra.members = items.length;
        extra.updateExisting = updateExisting;
        extra.sentStatus = true;
        if (items.length > 500) {
          reply(400);
          return problem(res, 400, 'Invalid Resource', 'The resource submitted could not be validated.', {
            errors: [{ field: 'members', message: `You may add or update at most 500 members per call; got ${items.length}.` }],
          });
        }
        const parsed: { email: string; status: Status; merge: Record<string, string> }[] = [];
        const fieldErrors: { field: string; message: string }[] = [];
        items.forEach((item, i) => {
          if (!isRecord(item) || typeof item['email_address'] !== 'string') fieldErrors.push({ field: `members.${i}.email_address`, message: 'Required' });
          else if (typeof item['status'] !== 'string' || !WRITABLE_STATUSES.includes(item['status'])) {
            fieldErrors.push({ field: `members.${i}.status`, message: `Required; one of ${WRITABLE_STATUSES.join(', ')}` });
          } else parsed.push({ email: item['email_address'], status: item['status'] as Status, merge: mergeOf(item['merge_fields']) });
        });
        if (fieldErrors.length > 0) {
          reply(400);
          return problem(res, 400, 'Invalid Resource', 'The resource submitted could not be validated.', { errors: fieldErrors });
        }
        const result = list.batch(parsed, updateExisting);
        return send(res, 200, {
          new_members: result.created.map((m) => memberJson(list.id, m)),
          updated_members: result.updated.map((m) => memberJson(list.id, m)),
          errors: result.errors,
          total_created: result.created.length,
          total_updated: result.updated.length,
          error_count: result.errors.length,
          _links: [],
        });
      }
      if (kind === 'put') {
        if (!isRecord(body)) {
          reply(400);
          return problem(res, 400, 'Invalid Resource', 'The resource submitted could not be validated.');
        }
        const st = body['status'];
        const stNew = body['status_if_new'];
        extra.sentStatus = st !== undefined;
        for (const [field, v] of [['status', st], ['status_if_new', stNew]] as const) {
          if (v !== undefined && (typeof v !== 'string' || !WRITABLE_STATUSES.includes(v))) {
            reply(400);
            return problem(res, 400, 'Invalid Resource', `The resource submitted could not be validated. ${field}: one of ${WRITABLE_STATUSES.join(', ')}`);
          }
        }
        const email = typeof body['email_address'] === 'string' ? body['email_address'] : undefined;
        const out = list.upsert(parts[4]!.toLowerCase(), email, st as Status | undefined, stNew as Status | undefined, mergeOf(body['merge_fields']));
        if ('title' in out) {
          reply(400);
          return problem(res, 400, out.title, out.detail);
        }
        return send(res, 200, memberJson(list.id, out));
      }
      reply(405);
      return problem(res, 405, 'Method Not Allowed', 'The requested method and resource are not compatible.');
    } finally {
      record({ kind, status, ...extra });
    }
  }

  const server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const path = (req.url ?? '/').split('?')[0]!;
    handle(req, res, (entry) => log.push({ method: req.method ?? 'GET', path, ...entry }))
      .catch((error: unknown) => {
        if (!res.headersSent) problem(res, 500, 'Internal Server Error', error instanceof Error ? error.message : String(error));
      })
      .finally(() => {
        inFlight--;
      });
  });
  server.keepAliveTimeout = 5000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    apiKey,
    log,
    statusChanges,
    maxInFlight: () => maxInFlight,
    list(id) {
      const l = lists.get(id);
      if (l === undefined) throw new Error(`emulator has no list ${id}`);
      return l;
    },
    addList,
    fail(rule) {
      faults.push({ rule, seen: 0 });
    },
    reject(email, message) {
      rejections.set(email.trim().toLowerCase(), message);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
