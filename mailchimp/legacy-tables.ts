/**
 * Converts a sync table written by releases before Delta Lake (`<table>/_lakeflow_log/<20-digit version>.json`
 * commit records beside Parquet parts, in a local lakehouse folder) into a Delta table on first use. Lossless,
 * and nothing is asked of Mailchimp: the live parts of the newest record are rewritten, in commit order, into one
 * Delta data file (µs timestamps, stats) that is committed as version 0 after checking that its row count equals
 * what the old log counts. A committed but unpublished newest record (its parts still in
 * `_lakeflow_staging/<table>/<version>/data/`) is read from there, as the old release would have rolled it
 * forward. Only after the commit are the old parts, log and staging deleted: a crash before it leaves the old
 * table (conversion starts over; its half-written file is an invisible orphan), a crash after it leaves
 * leftovers that the next open deletes.
 *
 * Why convert rather than re-derive: the state table's payload hashes and statuses, the errors table's history
 * and the last plan cannot be re-derived from Mailchimp without sending every contact's merge fields again.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import type { Schema } from 'apache-arrow';
import { ConfigError, DataError, type JsonValue } from '../connector-spec/index.js';
import { LocalStore, decodeAddPath, encodeAddPath, isCommitConflict, type AddFile, type DeltaTable, type Lakehouse, type NewMetadata, type ObjectStore } from '../lakehouse/index.js';
import { OWNER_KEYS, SYNC_WRITER } from './sync-owner.js';

export const LEGACY_LOG_DIR = '_lakeflow_log';
export const LEGACY_STAGING_DIR = '_lakeflow_staging';

interface LegacyAdd {
  readonly path: string;
  readonly rows: number;
}

/** The `txn.appId` the sync of earlier releases wrote; the runner wrote `mixpanel-lakeflow-runner`. */
export const LEGACY_SYNC_APP_ID = 'mixpanel-lakeflow-mailchimp-sync';

interface LegacyRecord {
  readonly version: number;
  /** `txn.appId`: who wrote the record. */
  readonly appId: string;
  readonly sourceTable: string;
  readonly add: readonly LegacyAdd[];
  readonly remove: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidLog(file: string, problem: string): DataError {
  return new DataError(
    `${file}: ${problem}, so this earlier mailchimp-sync table cannot be converted to Delta Lake; nothing was changed. ` +
      'Fix: restore the file, or move the table folder aside (the next sync reconciles with Mailchimp and starts a new table)',
    { code: 'MAILCHIMP_LEGACY_LOG_INVALID', context: { path: file } },
  );
}

/** One commit record of the earlier format, checked at the edge. */
export function parseLegacyRecord(text: string, file: string): LegacyRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidLog(file, 'not JSON');
  }
  if (!isObject(raw) || typeof raw['version'] !== 'number' || !Array.isArray(raw['add']) || !Array.isArray(raw['remove'])) {
    throw invalidLog(file, 'not a commit record (version, add, remove)');
  }
  const entries = (list: unknown[], what: string): Record<string, unknown>[] =>
    list.map((entry) => {
      if (!isObject(entry) || typeof entry['path'] !== 'string' || entry['path'] === '' || entry['path'].split('/').includes('..')) throw invalidLog(file, `an ${what} entry without a file path`);
      return entry;
    });
  const txn = isObject(raw['txn']) ? raw['txn'] : {};
  return {
    version: raw['version'],
    appId: typeof txn['appId'] === 'string' ? txn['appId'] : '',
    sourceTable: typeof raw['sourceTable'] === 'string' ? raw['sourceTable'] : '',
    add: entries(raw['add'] as unknown[], 'add').map((a) => ({ path: a['path'] as string, rows: typeof a['rows'] === 'number' ? a['rows'] : NaN })),
    remove: entries(raw['remove'] as unknown[], 'remove').map((r) => r['path'] as string),
  };
}

async function listNames(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const object of store.list(prefix)) out.push(object.path);
  return out;
}

export interface LegacySyncConversion {
  readonly lakehouse: Lakehouse;
  readonly table: DeltaTable;
  /** Metadata of the Delta table (the sync's schema and ownership properties). */
  readonly metadata: NewMetadata;
  /** Schema the old parts are read as and the new file is written with. */
  readonly schema: Schema;
  /** Tags for the converted file's `add`. */
  readonly fileTags: Readonly<Record<string, string>>;
  readonly runId: string;
}

/** Convert `c.table` if an earlier release's log is there; what was done. */
export async function convertLegacySyncTable(c: LegacySyncConversion): Promise<'none' | 'converted' | 'cleaned'> {
  const store = c.lakehouse.store;
  // Earlier releases wrote local folders only.
  if (!(store instanceof LocalStore)) return 'none';
  const name = c.table.root;
  const logNames = (await listNames(store, `${name}/${LEGACY_LOG_DIR}/`)).filter((p) => /\/\d{20}\.json$/.test(p)).sort();
  if (logNames.length === 0) return 'none';
  const records: LegacyRecord[] = [];
  for (const logName of logNames) {
    const bytes = await store.read(logName);
    if (bytes === undefined) return 'none'; // another process finished converting meanwhile
    records.push(parseLegacyRecord(Buffer.from(bytes).toString('utf8'), `${store.displayUrl}/${logName}`));
  }
  const existing = await c.table.snapshot();
  // A Delta table someone else created there: touch nothing (the ownership check refuses it).
  if (existing !== undefined && existing.metadata.configuration[OWNER_KEYS.writer] !== SYNC_WRITER) return 'none';
  assertWrittenBySync(records, name, store.displayUrl);
  const everAdded = new Set(records.flatMap((r) => r.add.map((a) => a.path)));
  let outcome: 'converted' | 'cleaned' = 'cleaned';
  if (existing === undefined) {
    outcome = (await convertRecords(c, records)) ? 'converted' : 'cleaned';
  }
  // The Delta table is committed: the earlier release's parts, log and staging are leftovers.
  for (const p of everAdded) await store.delete(`${name}/${p}`);
  await fs.rm(path.join(store.root, name, LEGACY_LOG_DIR), { recursive: true, force: true });
  await fs.rm(path.join(store.root, LEGACY_STAGING_DIR, name), { recursive: true, force: true });
  return outcome;
}

/**
 * Earlier releases let a runner destination be named like a sync table, so an old `mailchimp_sync_*` folder may
 * hold runner commits (events, say). Converting those as sync rows would drop their columns: refuse instead.
 */
function assertWrittenBySync(records: readonly LegacyRecord[], name: string, location: string): void {
  const foreign = records.filter((r) => r.appId !== LEGACY_SYNC_APP_ID);
  if (foreign.length === 0) return;
  const writers = [...new Set(foreign.map((r) => `${r.appId === '' ? 'an unknown writer' : r.appId}${r.sourceTable !== '' && r.sourceTable !== name ? ` (source table ${r.sourceTable})` : ''}`))].join(', ');
  throw new ConfigError(
    `--lakehouse ${location}: ${name} is an earlier release's table with ${foreign.length} of ${records.length} commit(s) written by ${writers}, not by mailchimp-sync; ` +
      `mailchimp-sync converts and writes only tables it created, so it changed nothing. Fix: move that table out of the way (rename its folder, e.g. to ${name}_moved), or pass another --lakehouse`,
    { code: 'MAILCHIMP_TABLE_NOT_OURS', context: { table: name } },
  );
}

/** Write the live rows into one Delta file and commit version 0; false when another process converted first. */
async function convertRecords(c: LegacySyncConversion, records: readonly LegacyRecord[]): Promise<boolean> {
  const store = c.lakehouse.store;
  const name = c.table.root;
  const live = new Map<string, { readonly add: LegacyAdd; readonly version: number }>();
  for (const r of records) {
    for (const p of r.remove) live.delete(p);
    for (const a of r.add) live.set(a.path, { add: a, version: r.version });
  }
  const newest = records.at(-1)?.version ?? -1;
  const ordered = [...live.values()].sort((a, b) => a.version - b.version);
  const expectedRows = ordered.reduce((n, e) => n + e.add.rows, 0);
  const writer = await c.table.createDataFile({ partitionValues: {}, schema: c.schema, keyValueMetadata: new Map([['lakeflow.table', name]]) });
  let add: AddFile[] = [];
  try {
    for (const { add: old, version } of ordered) {
      const file: AddFile = { path: encodeAddPath(old.path), partitionValues: {}, size: 0, modificationTime: 0, dataChange: true };
      let from = c.table;
      if ((await store.head(`${name}/${old.path}`)) === undefined) {
        // Committed but never published: only the newest record's parts can still be in its staging folder.
        const staged = `${LEGACY_STAGING_DIR}/${name}/${version}/data`;
        if (version !== newest || (await store.head(`${staged}/${old.path}`)) === undefined) {
          throw new DataError(
            `${store.displayUrl}/${name}: the earlier release's log (version ${version}) lists ${old.path} but the file is gone; nothing was changed. ` +
              'Fix: restore the file, or move the table folder aside (the next sync reconciles with Mailchimp and starts a new table)',
            { code: 'MAILCHIMP_LEGACY_FILE_MISSING', context: { table: name, path: old.path } },
          );
        }
        from = c.lakehouse.table(staged);
      }
      for await (const group of from.readDataFile(file, { schema: c.schema })) for (const batch of group.batches) await writer.write(batch);
    }
    if (writer.rows > 0) add = [await writer.close()];
    else await writer.abort();
  } catch (error) {
    await writer.abort().catch(() => {});
    throw error;
  }
  const discard = async (): Promise<void> => {
    for (const f of add) await store.delete(`${name}/${decodeAddPath(f.path)}`).catch(() => {});
  };
  const rows = add.reduce((n, f) => n + (f.numRecords ?? 0), 0);
  if (rows !== expectedRows) {
    await discard();
    throw new DataError(
      `${store.displayUrl}/${name}: converting to Delta Lake read ${rows} rows but the earlier release's log counts ${Number.isNaN(expectedRows) ? 'an unknown number' : expectedRows}; nothing was changed. ` +
        'Fix: check the folder, or move it aside (the next sync reconciles with Mailchimp and starts a new table)',
      { code: 'MAILCHIMP_LEGACY_ROW_COUNT', context: { table: name } },
    );
  }
  const info: Record<string, JsonValue> = { runId: c.runId, convertedFrom: { log: LEGACY_LOG_DIR, version: newest, files: ordered.length, rows } };
  try {
    await c.table.commit({ readVersion: -1, operation: 'CONVERT', add: add.map((f) => ({ ...f, tags: { ...f.tags, ...c.fileTags } })), remove: [], metadata: c.metadata, info });
  } catch (error) {
    await discard();
    // Another process created the table first (it converted the same folder): its table stands.
    if (isCommitConflict(error) && error.reason === 'metadata') return false;
    throw error;
  }
  return true;
}
