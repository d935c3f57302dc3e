/**
 * The acceptance suite's ground truth for the Mixpanel tables, from the emulator's data API (given structurally,
 * so this module does not import the emulator): the primary keys upstream holds for a table, as a full read by
 * a source created at `now()` must return them. Used by tests only.
 *
 * - events: the distinct `dedupe_key`s of the events the first read's window covers: event dates from
 *   `today − historicalDays` to today, processed no later than the run start minus the safety lag (the key is
 *   Mixpanel's own identity, computed by the source's published rule from the emulator's export).
 * - engage: every user profile; groups: every group profile of the data group.
 * - cohorts: every cohort; cohort_members: every (cohort, member) pair the emulator holds.
 */
import type { ExpectedKey } from '../../../connector-spec/acceptance/index.js';
import { addDays, dateInZone } from '../events/dates.js';
import { contentKey, dedupeKey } from '../index.js';

type Json = unknown;

export interface EmulatorTruthData {
  exportEvents(query: { readonly fromDate: string; readonly toDate: string; readonly nowMs?: number }): readonly { readonly event: string; readonly properties: { readonly [key: string]: Json } }[];
  listProfiles(): readonly { readonly distinctId: string }[];
  listGroupProfiles(dataGroupId: number): readonly { readonly distinctId: string }[];
  listCohorts(): readonly { readonly id: number }[];
  getCohortMembers(cohortId: number): readonly string[];
}

export interface EmulatorTruthOptions {
  readonly data: EmulatorTruthData;
  /** The clock the sources are created with (their run start). */
  readonly now: () => number;
  /** MIXPANEL_HISTORICAL_DAYS of the config under test. */
  readonly historicalDays: number;
  /** The events table's `safety_lag` in ms (default 10 minutes, the option's default). */
  readonly safetyLagMs?: number;
  /** The project's timezone for event dates (UTC unless the project is a legacy local-time one). */
  readonly zone?: string;
  /** The groups table's options: its data group and the group_key it stores. */
  readonly groups?: { readonly dataGroupId: number; readonly groupKey: string };
}

const DEFAULT_SAFETY_LAG_MS = 10 * 60_000;

function eventKey(event: { readonly event: string; readonly properties: { readonly [key: string]: Json } }): string {
  const p = event.properties;
  const insertId = p['$insert_id'];
  if (typeof insertId !== 'string') return contentKey(event);
  const time = p['time'];
  const distinct = p['distinct_id'];
  return dedupeKey(event.event, distinct === undefined ? null : JSON.stringify(distinct), typeof time === 'number' ? Math.floor(time / 1000) : null, insertId);
}

/** `expected(table)` for the acceptance suite over an emulator. Throws for a table it cannot describe. */
export function emulatorTruth(options: EmulatorTruthOptions): (table: string) => ExpectedKey[] {
  const { data } = options;
  return (table) => {
    switch (table) {
      case 'events': {
        const upper = options.now() - (options.safetyLagMs ?? DEFAULT_SAFETY_LAG_MS);
        const today = dateInZone(upper, options.zone ?? 'UTC');
        const events = data.exportEvents({ fromDate: addDays(today, -options.historicalDays), toDate: today, nowMs: upper });
        return [...new Set(events.map(eventKey))].map((dedupe_key) => ({ dedupe_key }));
      }
      case 'engage':
        return data.listProfiles().map((p) => ({ distinct_id: p.distinctId }));
      case 'groups': {
        const groups = options.groups;
        if (groups === undefined) throw new TypeError('emulatorTruth: pass groups { dataGroupId, groupKey } to describe the groups table');
        return data.listGroupProfiles(groups.dataGroupId).map((p) => ({ group_key: groups.groupKey, group_id: p.distinctId }));
      }
      case 'cohorts':
        return data.listCohorts().map((c) => ({ id: c.id }));
      case 'cohort_members':
        return data.listCohorts().flatMap((c) => data.getCohortMembers(c.id).map((distinct_id) => ({ cohort_id: c.id, distinct_id })));
      default:
        throw new TypeError(`emulatorTruth: no ground truth for table ${table}; skip "${table} > a full read returns exactly the keys upstream holds" with a reason`);
    }
  };
}

export interface ReportsTruthOptions {
  /** The emulator's base URL and API secret: report rows have no data API, so the truth is its HTTP answer. */
  readonly url: string;
  readonly apiSecret: string;
  readonly now: () => number;
  /** Each report table's `start_date` option (the first date a full read covers). */
  readonly startDates: Readonly<Record<'funnels' | 'annotations' | 'revenue', string>>;
}

/**
 * `expected(table)` for funnels, annotations and revenue: what the emulator answers for the dates a full read
 * covers (start_date to today, UTC): annotation ids, revenue dates (without `$overall`), (funnel, date) pairs of
 * every saved funnel. Asked directly over HTTP, not through the source.
 */
export function emulatorReportsTruth(options: ReportsTruthOptions): (table: string) => Promise<ExpectedKey[]> {
  const get = async (path: string, params: Readonly<Record<string, string>>): Promise<unknown> => {
    const url = new URL(path, options.url);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${options.apiSecret}:`).toString('base64')}` } });
    if (!response.ok) throw new Error(`emulatorReportsTruth: ${path} answered HTTP ${response.status}`);
    return response.json();
  };
  return async (table) => {
    if (table !== 'funnels' && table !== 'annotations' && table !== 'revenue') throw new TypeError(`emulatorReportsTruth: no ground truth for table ${table}`);
    const range = { from_date: options.startDates[table], to_date: dateInZone(options.now(), 'UTC') };
    if (table === 'annotations') {
      const body = (await get('/api/query/annotations', range)) as { annotations: readonly { id: number }[] };
      return body.annotations.map((a) => ({ id: a.id }));
    }
    if (table === 'revenue') {
      const body = (await get('/api/query/engage/revenue', { ...range, unit: 'day' })) as { results: Readonly<Record<string, unknown>> };
      return Object.keys(body.results)
        .filter((date) => date !== '$overall')
        .map((date) => ({ date }));
    }
    const list = (await get('/api/query/funnels/list', {})) as readonly { funnel_id: number }[];
    const keys: ExpectedKey[] = [];
    for (const { funnel_id } of list) {
      const body = (await get('/api/query/funnels', { ...range, funnel_id: String(funnel_id) })) as { data: Readonly<Record<string, unknown>> };
      for (const date of Object.keys(body.data)) keys.push({ funnel_id, date });
    }
    return keys;
  };
}
