/**
 * Schemas and row codecs of the sync's tables:
 * - `mailchimp_sync_state`: one row per (list, email) the sync knows is in Mailchimp — what was last sent
 *   (payload hash of FNAME/LNAME) and the member's status as last seen. A later commit wins per (list, email).
 * - `mailchimp_sync_errors`: one row per member Mailchimp rejected.
 * - `mailchimp_sync_plan`: the plan of a `--dry-run` (replaced each dry run).
 */
import { Field, Schema, Utf8 } from 'apache-arrow';
import { MAILCHIMP_SYNC_TABLES, timestampMsUtc } from '../connector-spec/index.js';
import { commitRows, readTableFiles } from './lake-table.js';

// The names live in connector-spec (reserved-tables.ts) so the runner refuses them as destinations.
export const STATE_TABLE = MAILCHIMP_SYNC_TABLES.state;
export const ERRORS_TABLE = MAILCHIMP_SYNC_TABLES.errors;
export const PLAN_TABLE = MAILCHIMP_SYNC_TABLES.plan;

const utf8 = (name: string, nullable = true) => new Field(name, new Utf8(), nullable);

export const STATE_SCHEMA = new Schema([
  utf8('list_id', false),
  utf8('email', false),
  utf8('subscriber_hash', false),
  /** null: the member exists but what it holds is unknown (the next run sends the merge fields once). */
  utf8('payload_hash'),
  new Field('last_synced_at', timestampMsUtc(), false),
  utf8('mailchimp_status'),
  utf8('distinct_id'),
]);

export const ERRORS_SCHEMA = new Schema([
  utf8('run_id', false),
  new Field('at', timestampMsUtc(), false),
  utf8('list_id', false),
  utf8('email', false),
  utf8('subscriber_hash', false),
  utf8('distinct_id'),
  utf8('operation', false),
  utf8('error_code'),
  utf8('error'),
  utf8('field'),
]);

export const PLAN_SCHEMA = new Schema([
  utf8('run_id', false),
  new Field('planned_at', timestampMsUtc(), false),
  utf8('list_id', false),
  utf8('email', false),
  utf8('subscriber_hash', false),
  utf8('distinct_id'),
  utf8('action', false),
  utf8('reason', false),
  utf8('fname'),
  utf8('lname'),
  utf8('status_if_new'),
]);

export interface StateRow {
  readonly listId: string;
  readonly email: string;
  readonly subscriberHash: string;
  readonly payloadHash: string | null;
  readonly lastSyncedAt: number;
  readonly status: string | null;
  readonly distinctId: string | null;
}

export interface ErrorRow {
  readonly runId: string;
  readonly at: number;
  readonly listId: string;
  readonly email: string;
  readonly subscriberHash: string;
  readonly distinctId: string | null;
  readonly operation: 'create' | 'update';
  readonly errorCode: string | null;
  readonly error: string;
  readonly field: string | null;
}

export interface PlanRow {
  readonly email: string;
  readonly subscriberHash: string;
  readonly distinctId: string | null;
  readonly action: 'create' | 'update' | 'skip';
  readonly reason: string;
  readonly fname: string;
  readonly lname: string;
  readonly statusIfNew: string | null;
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

/** State of one list: email → newest row. */
export async function readState(lakehouse: string, listId: string): Promise<{ rows: Map<string, StateRow>; exists: boolean }> {
  const { version, parts } = await readTableFiles(lakehouse, STATE_TABLE);
  const rows = new Map<string, StateRow>();
  for (const { table } of parts) {
    const c = (n: string) => table.getChild(n);
    const list = c('list_id'), email = c('email'), hash = c('subscriber_hash'), payload = c('payload_hash');
    const synced = c('last_synced_at'), status = c('mailchimp_status'), id = c('distinct_id');
    if (!list || !email || !hash || !synced) continue;
    for (let r = 0; r < table.numRows; r++) {
      if (str(list.get(r)) !== listId) continue;
      const e = str(email.get(r))!;
      rows.set(e, {
        listId,
        email: e,
        subscriberHash: str(hash.get(r))!,
        payloadHash: str(payload?.get(r)),
        lastSyncedAt: num(synced.get(r)),
        status: str(status?.get(r)),
        distinctId: str(id?.get(r)),
      });
    }
  }
  return { rows, exists: version >= 0 && rows.size > 0 };
}

export function stateColumns(rows: readonly StateRow[]) {
  return [
    rows.map((r) => r.listId),
    rows.map((r) => r.email),
    rows.map((r) => r.subscriberHash),
    rows.map((r) => r.payloadHash),
    rows.map((r) => r.lastSyncedAt),
    rows.map((r) => r.status),
    rows.map((r) => r.distinctId),
  ];
}

export function errorColumns(rows: readonly ErrorRow[]) {
  return [
    rows.map((r) => r.runId),
    rows.map((r) => r.at),
    rows.map((r) => r.listId),
    rows.map((r) => r.email),
    rows.map((r) => r.subscriberHash),
    rows.map((r) => r.distinctId),
    rows.map((r) => r.operation),
    rows.map((r) => r.errorCode),
    rows.map((r) => r.error),
    rows.map((r) => r.field),
  ];
}

export async function writePlan(lakehouse: string, runId: string, listId: string, at: number, rows: readonly PlanRow[]): Promise<number> {
  const columns = [
    rows.map(() => runId),
    rows.map(() => at),
    rows.map(() => listId),
    rows.map((r) => r.email),
    rows.map((r) => r.subscriberHash),
    rows.map((r) => r.distinctId),
    rows.map((r) => r.action),
    rows.map((r) => r.reason),
    rows.map((r) => r.fname),
    rows.map((r) => r.lname),
    rows.map((r) => r.statusIfNew),
  ];
  return commitRows(lakehouse, PLAN_TABLE, PLAN_SCHEMA, columns, 'REPLACE', runId, 0);
}

/**
 * Compact the state table to one part holding the newest row per (list, email) of every list.
 * Called at the end of a run that committed state; a crash before it only leaves more parts.
 */
export async function compactState(lakehouse: string, runId: string): Promise<void> {
  const { parts } = await readTableFiles(lakehouse, STATE_TABLE);
  if (parts.length <= 1) return;
  const lists = new Set<string>();
  for (const { table } of parts) {
    const list = table.getChild('list_id');
    for (let r = 0; list && r < table.numRows; r++) lists.add(String(list.get(r)));
  }
  const all: StateRow[] = [];
  for (const listId of [...lists].sort()) all.push(...(await readState(lakehouse, listId)).rows.values());
  await commitRows(lakehouse, STATE_TABLE, STATE_SCHEMA, stateColumns(all), 'REPLACE', runId, -1);
}
