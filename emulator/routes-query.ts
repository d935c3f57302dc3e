/** Query-API endpoints: engage (profiles, paged by session), cohorts list, funnels, annotations, revenue. */
import type { Call } from './call.js';
import { queryError, sendJson } from './call.js';
import type { EngageSession, ProjectStore, Props } from './store.js';
import type { FaultAction } from './types.js';
import { hash3, pick, token } from './hash.js';
import { DAY_MS, dateIn, dayStartMs, isValidDate, parseWallClock } from './time.js';
import { matchesWhere, parseWhere, WhereSyntaxError } from './where.js';
import type { WhereNode } from './where.js';
import { isRecord, parseJson } from './json.js';

export const ENGAGE_PAGE_SIZE = 1000;
export const UNCACHED_PAGE_MESSAGE = 'request for page in uncached query for params';

function jsonParam(params: Readonly<Record<string, string>>, name: string): { ok: true; value: unknown } | { ok: false } {
  const raw = params[name];
  if (raw === undefined || raw === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: parseJson(raw) };
  } catch {
    return { ok: false };
  }
}

function boolParam(raw: string | undefined, dflt: boolean): boolean {
  if (raw === undefined || raw === '') return dflt;
  return !['false', '0', 'no'].includes(raw.toLowerCase());
}

/** Session ids look like Mixpanel's (`1234567890-EXAMPL`) and never repeat within a store. */
function newSessionId(store: ProjectStore): string {
  const n = ++store.sessionCounter;
  return `${1_700_000_000 + (hash3(store.project.id, n, 77) % 99_999_999)}-${token(store.project.id, n, 78, 6).toUpperCase()}`;
}

export interface EngageOptions {
  readonly nowMs: number;
  readonly sessionTtlMs: number;
}

/** Build the ordered id list of an engage query, or an error (status, message). */
function selectProfiles(store: ProjectStore, params: Readonly<Record<string, string>>): { ok: true; session: Omit<EngageSession, 'id' | 'createdMs'> } | { ok: false; status: number; message: string } {
  let where: WhereNode | undefined;
  const whereText = params['where'];
  if (whereText !== undefined && whereText.trim() !== '') {
    try {
      where = parseWhere(whereText);
    } catch (e) {
      if (e instanceof WhereSyntaxError) return { ok: false, status: 400, message: `invalid where expression: ${e.message}` };
      throw e;
    }
  }
  const dataGroupText = params['data_group_id'];
  const dataGroupId = dataGroupText === undefined || dataGroupText === '' ? undefined : Number(dataGroupText);
  if (dataGroupId !== undefined && !Number.isInteger(dataGroupId)) return { ok: false, status: 400, message: `data_group_id must be an integer, got ${JSON.stringify(dataGroupText)}` };

  const lookup = (id: string): Props | undefined => (dataGroupId === undefined ? store.getProfile(id) : store.groupProfiles(dataGroupId).get(id));
  const withoutProfile = new Set<string>();
  let ids: string[];

  const cohortParam = jsonParam(params, 'filter_by_cohort');
  if (!cohortParam.ok) return { ok: false, status: 400, message: 'filter_by_cohort must be a JSON object like {"id": 12345}' };
  if (cohortParam.value !== undefined) {
    if (!isRecord(cohortParam.value) || !('id' in cohortParam.value)) return { ok: false, status: 400, message: 'filter_by_cohort must be a JSON object like {"id": 12345}' };
    const cohortId = Number(cohortParam.value['id']);
    const dg = store.cohortDataGroup(cohortId);
    if (dg === undefined) return { ok: false, status: 400, message: `cohort ${cohortParam.value['id'] as string} not found` };
    if (dg.deleted) return { ok: false, status: 404, message: 'Missing Datagroup' };
    const members = store.cohortMembers(cohortId) ?? [];
    const includeAll = boolParam(params['include_all_users'], true);
    ids = [];
    for (const m of members) {
      if (lookup(m) !== undefined) ids.push(m);
      else if (includeAll) {
        ids.push(m);
        withoutProfile.add(m);
      }
    }
  } else {
    const one = params['distinct_id'];
    const many = jsonParam(params, 'distinct_ids');
    if (!many.ok) return { ok: false, status: 400, message: 'distinct_ids must be a JSON array of strings' };
    if (one !== undefined && one !== '' && many.value !== undefined) return { ok: false, status: 400, message: 'distinct_id and distinct_ids are mutually exclusive' };
    if (one !== undefined && one !== '') {
      ids = lookup(one) === undefined ? [] : [one];
    } else if (many.value !== undefined) {
      if (!Array.isArray(many.value) || !many.value.every((x) => typeof x === 'string')) return { ok: false, status: 400, message: 'distinct_ids must be a JSON array of strings' };
      ids = [...new Set(many.value as string[])].filter((id) => lookup(id) !== undefined);
    } else if (dataGroupId !== undefined) {
      ids = [...store.groupProfiles(dataGroupId).keys()];
    } else {
      ids = store.profileIds();
    }
  }
  if (where !== undefined) {
    const w = where;
    ids = ids.filter((id) => {
      const props = lookup(id) ?? {};
      return matchesWhere(w, { get: (name) => (name === '$distinct_id' ? id : props[name]), parseDateTime: (t) => parseWallClock(t, 'UTC') });
    });
  }
  return { ok: true, session: { ids, dataGroupId, withoutProfile } };
}

export function serveEngage(c: Call, store: ProjectStore, options: EngageOptions, faults: readonly FaultAction[]): void {
  const p = c.params;
  const pageText = p['page'] ?? '0';
  const page = Number(pageText === '' ? '0' : pageText);
  if (!Number.isInteger(page) || page < 0) return queryError(c, 400, `page must be a non-negative integer, got ${JSON.stringify(pageText)}`);
  const sizeText = p['page_size'];
  let pageSize = ENGAGE_PAGE_SIZE;
  if (sizeText !== undefined && sizeText !== '') {
    const n = Number(sizeText);
    if (!Number.isInteger(n) || n <= 0) return queryError(c, 400, `page_size must be a positive integer, got ${JSON.stringify(sizeText)}`);
    pageSize = Math.min(n, ENGAGE_PAGE_SIZE);
  }
  const sessionId = p['session_id'];
  if (page > 0 && (sessionId === undefined || sessionId === '')) return queryError(c, 400, 'session_id is required when page is greater than 0');
  for (const f of faults) {
    if (f.kind === 'missing-datagroup') return queryError(c, 404, 'Missing Datagroup');
    if (f.kind === 'engage-session-expired') {
      if (sessionId !== undefined) store.sessions.delete(sessionId);
      return queryError(c, 400, UNCACHED_PAGE_MESSAGE);
    }
  }
  // Expire old sessions.
  for (const [id, s] of store.sessions) if (options.nowMs - s.createdMs > options.sessionTtlMs) store.sessions.delete(id);

  let session: EngageSession;
  if (sessionId !== undefined && sessionId !== '') {
    const found = store.sessions.get(sessionId);
    if (found === undefined) return queryError(c, 400, UNCACHED_PAGE_MESSAGE);
    session = found;
  } else {
    const sel = selectProfiles(store, p);
    if (!sel.ok) return queryError(c, sel.status, sel.message);
    session = { ...sel.session, id: newSessionId(store), createdMs: options.nowMs };
    store.sessions.set(session.id, session);
  }

  const outputProps = jsonParam(p, 'output_properties');
  if (!outputProps.ok || (outputProps.value !== undefined && !Array.isArray(outputProps.value))) return queryError(c, 400, 'output_properties must be a JSON array of property names');
  const wanted = outputProps.value === undefined ? undefined : new Set((outputProps.value as unknown[]).map(String));

  const results: { $distinct_id: string; $properties: Props }[] = [];
  const slice = session.ids.slice(page * pageSize, (page + 1) * pageSize);
  for (const id of slice) {
    const props = session.dataGroupId === undefined ? store.getProfile(id) : store.groupProfiles(session.dataGroupId).get(id);
    if (props === undefined && !session.withoutProfile.has(id)) continue; // deleted since the session began
    const full = props ?? {};
    let out: Props = full;
    if (wanted !== undefined) {
      out = {};
      for (const k of wanted) if (k in full) out[k] = full[k];
    }
    results.push({ $distinct_id: id, $properties: out });
  }
  const body: Record<string, unknown> = { page, page_size: pageSize, session_id: session.id, status: 'ok' };
  if (page === 0) body['total'] = session.ids.length;
  body['computed_at'] = new Date(session.createdMs).toISOString();
  body['results'] = results;
  sendProfiles(c, body);
}

/** `JSON.stringify` that keeps bigint values exact: a plain stringify first (it throws on a bigint), so the
 * replacer's per-value cost (3× slower on a page of 1000 profiles) is paid only by pages that hold one. */
function stringifyExact(body: Record<string, unknown>): string {
  try {
    return JSON.stringify(body);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? `__BIGINT__${v.toString()}__` : v)).replace(/"__BIGINT__(-?\d+)__"/g, '$1');
  }
}

/** JSON writer that keeps bigint values exact. */
function sendProfiles(c: Call, body: Record<string, unknown>): void {
  const text = stringifyExact(body);
  c.entry.status = 200;
  const buf = Buffer.from(text, 'utf8');
  c.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(buf.length) });
  c.res.end(buf);
}

export function serveCohortsList(c: Call, store: ProjectStore): void {
  sendJson(c, 200, store.listCohorts());
}

// ---- funnels, annotations, revenue (shapes per the OpenAPI query file and Mixpanel's legacy API) ----

const FUNNELS = [
  { funnel_id: 7509, name: 'Signup funnel', steps: ['Page Viewed', 'Signed Up'] },
  { funnel_id: 9070, name: 'Purchase funnel', steps: ['Page Viewed', 'Add To Cart', 'Purchase'] },
  { funnel_id: 9071, name: 'Search to cart', steps: ['Search', 'Add To Cart'] },
];

export function serveFunnelsList(c: Call): void {
  sendJson(c, 200, FUNNELS.map((f) => ({ funnel_id: f.funnel_id, name: f.name })));
}

function dateRange(c: Call, nowMs: number): { from: string; to: string } | undefined {
  const from = c.params['from_date'];
  const to = c.params['to_date'];
  if (from === undefined || to === undefined || !isValidDate(from) || !isValidDate(to)) {
    queryError(c, 400, 'from_date and to_date are required, in yyyy-mm-dd format');
    return undefined;
  }
  if (to > dateIn(nowMs, 'UTC')) {
    queryError(c, 400, 'to_date cannot be later than today');
    return undefined;
  }
  if (from > to) {
    queryError(c, 400, 'from_date cannot be later than to_date');
    return undefined;
  }
  if ((dayStartMs(to, 'UTC') - dayStartMs(from, 'UTC')) / DAY_MS > 366) {
    queryError(c, 400, 'Date range exceeds 365 days');
    return undefined;
  }
  return { from, to };
}

function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let ms = dayStartMs(from, 'UTC'); ms <= dayStartMs(to, 'UTC'); ms += DAY_MS) out.push(dateIn(ms, 'UTC'));
  return out;
}

export function serveFunnel(c: Call, store: ProjectStore, nowMs: number): void {
  const id = Number(c.params['funnel_id']);
  const funnel = FUNNELS.find((f) => f.funnel_id === id);
  if (funnel === undefined) return queryError(c, 400, `funnel_id ${JSON.stringify(c.params['funnel_id'] ?? '')} is not a saved funnel of this project`);
  const range = dateRange(c, nowMs);
  if (range === undefined) return;
  const dates = datesBetween(range.from, range.to);
  const data: Record<string, unknown> = {};
  for (const date of dates) {
    const seedIdx = dayStartMs(date, 'UTC') / DAY_MS;
    let count = 100 + pick(store.project.id, seedIdx, id, 900);
    const start = count;
    let worst = 1;
    let worstRatio = 1;
    const steps = funnel.steps.map((event, s) => {
      const prev = count;
      if (s > 0) count = Math.floor(count * (0.3 + (pick(store.project.id, seedIdx, id * 10 + s, 60) / 100)));
      const ratio = s === 0 ? 1 : prev === 0 ? 0 : count / prev;
      if (s > 0 && ratio < worstRatio) {
        worstRatio = ratio;
        worst = s;
      }
      return {
        count,
        avg_time: 30 + pick(store.project.id, seedIdx, id * 20 + s, 600),
        avg_time_from_start: s === 0 ? 0 : 30 + pick(store.project.id, seedIdx, id * 30 + s, 1200),
        step_conv_ratio: ratio,
        goal: event,
        overall_conv_ratio: start === 0 ? 0 : count / start,
        event,
        step_label: event,
      };
    });
    data[date] = { steps, analysis: { completion: count, starting_amount: start, steps: steps.length, worst } };
  }
  sendJson(c, 200, { meta: { dates }, data });
}

export function serveAnnotations(c: Call, store: ProjectStore, nowMs: number): void {
  const range = dateRange(c, nowMs);
  if (range === undefined) return;
  const annotations = [];
  for (const date of datesBetween(range.from, range.to)) {
    const day = dayStartMs(date, 'UTC') / DAY_MS;
    if (pick(store.project.id, day, 501, 7) !== 0) continue;
    annotations.push({
      date: `${date} ${String(pick(store.project.id, day, 502, 24)).padStart(2, '0')}:00:00`,
      project_id: store.project.id,
      id: 100 + (day % 100_000),
      description: `Release ${day % 1000}`,
    });
  }
  sendJson(c, 200, { annotations, error: null });
}

export function serveRevenue(c: Call, store: ProjectStore, nowMs: number): void {
  const range = dateRange(c, nowMs);
  if (range === undefined) return;
  const results: Record<string, { amount: number; count: number; paid_count: number }> = {};
  let amount = 0;
  let count = 0;
  let paid = 0;
  for (const date of datesBetween(range.from, range.to)) {
    const day = dayStartMs(date, 'UTC') / DAY_MS;
    const r = { amount: pick(store.project.id, day, 601, 1_000_000) / 100, count: 10 + pick(store.project.id, day, 602, 200), paid_count: pick(store.project.id, day, 603, 50) };
    results[date] = r;
    amount += r.amount;
    count += r.count;
    paid += r.paid_count;
  }
  results['$overall'] = { amount: Math.round(amount * 100) / 100, count, paid_count: paid };
  sendJson(c, 200, { computed_at: new Date(nowMs).toISOString(), results, session_id: newSessionId(store), status: 'ok' });
}
