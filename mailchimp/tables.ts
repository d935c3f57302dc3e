/**
 * Schemas and row codecs of the sync's tables, each a Delta table the sync owns (see sync-table.ts):
 * - `mailchimp_sync_state`: one row per (list, email) the sync knows is in Mailchimp — what was last sent
 *   (payload hash of FNAME/LNAME) and the member's status as last seen. A later commit wins per (list, email).
 * - `mailchimp_sync_errors`: one row per member Mailchimp rejected.
 * - `mailchimp_sync_plan`: the plan of a `--dry-run` (replaced each dry run).
 */
import { Field, Schema, Utf8, type Table } from 'apache-arrow';
import { MAILCHIMP_SYNC_TABLES, timestampMsUtc, type ColumnValues } from '../connector-spec/index.js';
import type { SyncTable, SyncTableDef } from './sync-table.js';

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

export const STATE_DEF: SyncTableDef = {
  name: STATE_TABLE,
  role: 'state',
  schema: STATE_SCHEMA,
  description: 'mailchimp-sync: per audience and email, the merge fields last sent (payload_hash) and the member status last seen; the newest row per (list_id, email) holds',
};
export const ERRORS_DEF: SyncTableDef = { name: ERRORS_TABLE, role: 'errors', schema: ERRORS_SCHEMA, description: 'mailchimp-sync: one row per member Mailchimp rejected' };
export const PLAN_DEF: SyncTableDef = { name: PLAN_TABLE, role: 'plan', schema: PLAN_SCHEMA, description: 'mailchimp-sync: the plan of the newest --dry-run (create, update or skip per email)' };

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

/** Newest state row per (list, email) of `lists` (every list when undefined), replaying row groups in commit order. */
function newestRows(groups: readonly Table[], lists?: ReadonlySet<string>): Map<string, StateRow> {
  const rows = new Map<string, StateRow>();
  for (const table of groups) {
    const c = (n: string) => table.getChild(n);
    const list = c('list_id'), email = c('email'), hash = c('subscriber_hash'), payload = c('payload_hash');
    const synced = c('last_synced_at'), status = c('mailchimp_status'), id = c('distinct_id');
    if (!list || !email || !hash || !synced) continue;
    for (let r = 0; r < table.numRows; r++) {
      const listId = str(list.get(r))!;
      if (lists !== undefined && !lists.has(listId)) continue;
      const e = str(email.get(r))!;
      rows.set(`${listId}\u0000${e}`, {
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
  return rows;
}

/** State of one list: email → newest row; `exists` when the table holds a row of that list. */
export async function readState(table: SyncTable, listId: string): Promise<{ rows: Map<string, StateRow>; exists: boolean }> {
  const rows = new Map<string, StateRow>();
  for (const row of newestRows(await table.live(), new Set([listId])).values()) rows.set(row.email, row);
  return { rows, exists: rows.size > 0 };
}

export function stateColumns(rows: readonly StateRow[]): ColumnValues[] {
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

export function errorColumns(rows: readonly ErrorRow[]): ColumnValues[] {
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

/** Replace the plan table with this dry run's plan (one commit). */
export async function writePlan(table: SyncTable, runId: string, listId: string, at: number, rows: readonly PlanRow[]): Promise<void> {
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
  await table.replace(() => columns);
}

/**
 * Compact the state table to one file holding the newest row per (list, email) of every list (one REPLACE
 * commit, re-planned if another audience's sync commits meanwhile). Called at the end of a run that committed
 * state; a crash before it only leaves more files.
 */
export async function compactState(table: SyncTable): Promise<void> {
  if (table.fileCount <= 1) return;
  await table.replace((live) => {
    const rows = [...newestRows(live).values()].sort((a, b) => (a.listId < b.listId ? -1 : a.listId > b.listId ? 1 : a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
    return stateColumns(rows);
  });
}
