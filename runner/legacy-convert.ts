/**
 * Converts a table written by releases before Delta Lake (`<table>/_lakeflow_log/<version>.json` commit records
 * beside hive-partitioned Parquet) into a Delta table, on the first run of this version or by
 * `mixpanel-lakeflow migrate`. Nothing is read from Mixpanel: the live files of the newest commit record are
 * rewritten as Delta data files (µs timestamps, partition values in the log, stats) and committed as version 0
 * together with the old cursor and this connection's `txn`, after checking that the row counts agree. Only then
 * are the old files, the old log and the old staging folder deleted; a crash in between leaves either the old
 * table (conversion starts over; its half-written files are invisible orphans) or the Delta table plus
 * leftovers that the next run deletes.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, DataError, type Cursor, type JsonValue, type Logger } from '../connector-spec/index.js';
import type { AddFile, DeltaTable, NewMetadata, ObjectStore } from '../lakehouse/index.js';
import { noFaults, type FaultInjector } from './faults.js';
import { discardDataFile, type TableDataWriter } from './table-data-writer.js';

export const LEGACY_LOG_DIR = '_lakeflow_log';
export const LEGACY_STAGING_DIR = '_lakeflow_staging';

interface LegacyAdd {
  readonly path: string;
  readonly rows: number;
}

interface LegacyRecord {
  readonly version: number;
  readonly cursor: Cursor;
  readonly add: readonly LegacyAdd[];
  readonly remove: readonly string[];
  /** Column names of the table's files after this record (`name:type` entries; absent in the oldest records). */
  readonly columns?: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseLegacyRecord(text: string, file: string): LegacyRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  if (!isRecord(raw) || typeof raw['version'] !== 'number' || !Array.isArray(raw['add']) || !Array.isArray(raw['remove'])) {
    throw new DataError(`${file}: not a commit record of an earlier mixpanel-lakeflow release, so the table cannot be converted to Delta; move the folder aside and run with --full-refresh`, {
      code: 'LEGACY_LOG_INVALID',
      context: { path: file },
    });
  }
  const paths = (list: unknown[]): Record<string, unknown>[] => list.filter(isRecord).filter((a) => typeof a['path'] === 'string');
  return {
    version: raw['version'],
    cursor: (raw['cursor'] ?? null) as JsonValue,
    add: paths(raw['add'] as unknown[]).map((a) => ({ path: a['path'] as string, rows: typeof a['rows'] === 'number' ? a['rows'] : 0 })),
    remove: paths(raw['remove'] as unknown[]).map((r) => r['path'] as string),
    ...(Array.isArray(raw['schema']) ? { columns: raw['schema'].filter((c): c is string => typeof c === 'string').map((c) => (c.includes(':') ? c.slice(0, c.indexOf(':')) : c)) } : {}),
  };
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

export interface LegacyConversion {
  /** The lakehouse folder (conversion only applies to local lakehouses: earlier releases wrote nothing else). */
  readonly localDir: string | undefined;
  readonly store: ObjectStore;
  readonly table: DeltaTable;
  readonly name: string;
  readonly appId: string;
  readonly runId: string;
  readonly logger: Logger;
  /** Metadata of the Delta table (schema, partition column, ownership). */
  readonly metadata: NewMetadata;
  /** Logical rows schema the old files are cast to. */
  readonly schema: NewMetadata['schema'];
  readonly writer: () => TableDataWriter;
  /** Crash points `convert-written` and `converted` (tests). */
  readonly faults?: FaultInjector;
}

/** True when `<localDir>/<name>` still has an earlier release's commit log. */
export async function hasLegacyLog(localDir: string | undefined, name: string): Promise<boolean> {
  return localDir !== undefined && (await exists(path.join(localDir, name, LEGACY_LOG_DIR)));
}

/**
 * Convert if needed; returns what was done. Another run of this version (another --state folder) may convert the
 * same table at the same time: the one whose CONVERT commit lands first wins, and the other, finding the Delta
 * table there when its own commit or read fails (the winner deletes the old files and log), discards what it
 * wrote and goes on with the winner's table.
 */
export async function convertLegacyTable(c: LegacyConversion): Promise<'none' | 'converted' | 'cleaned'> {
  if (c.localDir === undefined || !(await hasLegacyLog(c.localDir, c.name))) return 'none';
  try {
    return await convertAndClean(c, c.localDir);
  } catch (error) {
    if ((await c.table.snapshot().catch(() => undefined)) === undefined) throw error;
    c.logger.info('another run converted this table from the earlier release meanwhile; using its Delta table', { table: c.name });
    return 'cleaned';
  }
}

async function convertAndClean(c: LegacyConversion, localDir: string): Promise<'converted' | 'cleaned'> {
  const faults = c.faults ?? noFaults;
  const tableDir = path.join(localDir, c.name);
  const logDir = path.join(tableDir, LEGACY_LOG_DIR);
  const names = (await fs.readdir(logDir)).filter((n) => /^\d{20}\.json$/.test(n)).sort();
  const records: LegacyRecord[] = [];
  for (const n of names) records.push(parseLegacyRecord(await fs.readFile(path.join(logDir, n), 'utf8'), path.join(logDir, n)));
  const everAdded = new Set(records.flatMap((r) => r.add.map((a) => a.path)));
  let snapshot = await c.table.snapshot();
  let outcome: 'converted' | 'cleaned' = 'cleaned';
  if (snapshot === undefined) {
    const latest = records.at(-1);
    // Roll a committed-but-unpublished newest record forward, as earlier releases did at the start of a run.
    if (latest) {
      for (const add of latest.add) {
        const staged = path.join(localDir, LEGACY_STAGING_DIR, c.name, String(latest.version), 'data', add.path);
        const target = path.join(tableDir, add.path);
        if ((await exists(staged)) && !(await exists(target))) {
          await fs.mkdir(path.dirname(target), { recursive: true });
          // Another run converting the same table may have moved it a moment ago.
          await fs.rename(staged, target).catch(async (error: unknown) => {
            if (!(await exists(target))) throw error;
          });
        }
      }
    }
    const live = new Map<string, LegacyAdd>();
    for (const r of records) {
      for (const p of r.remove) live.delete(p);
      for (const a of r.add) live.set(a.path, a);
    }
    // The plan's columns must hold every column of the old files, or converting would drop their values.
    const dropped = (latest?.columns ?? []).filter((name) => !c.schema.fields.some((f) => f.name === name));
    if (dropped.length > 0) {
      throw new ConfigError(
        `${c.name}: the table of an earlier release has column(s) ${dropped.join(', ')} that this run's table options no longer produce; converting it would drop their values, so nothing was changed. ` +
          `Restore the table options it was written with, or move ${tableDir} aside and rebuild the table with: mixpanel-lakeflow run --full-refresh ${c.name}`,
        { code: 'LEGACY_SCHEMA_CHANGED', context: { table: c.name } },
      );
    }
    const expectedRows = [...live.values()].reduce((n, a) => n + a.rows, 0);
    const writer = c.writer();
    let add: AddFile[];
    try {
      for (const old of live.values()) {
        if (!(await exists(path.join(tableDir, old.path)))) {
          throw new DataError(`${tableDir}: the earlier release's log lists ${old.path} but the file is gone; restore it, or move the folder aside and run with --full-refresh ${c.name}`, {
            code: 'LEGACY_FILE_MISSING',
            context: { table: c.name, path: old.path },
          });
        }
        const file: AddFile = { path: old.path.split('/').map(encodeURIComponent).join('/').replaceAll('%3D', '='), partitionValues: {}, size: 0, modificationTime: 0, dataChange: true };
        for await (const group of c.table.readDataFile(file, { schema: c.schema })) for (const batch of group.batches) await writer.write(batch);
      }
      add = await writer.close();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    const rows = add.reduce((n, f) => n + (f.numRecords ?? 0), 0);
    if (rows !== expectedRows) {
      for (const f of add) await discardDataFile(c.store, c.table, f).catch(() => {});
      throw new DataError(`${c.name}: converting to Delta read ${rows} rows but the earlier release's log counts ${expectedRows}; nothing was changed. Check the folder, or move it aside and run with --full-refresh ${c.name}`, {
        code: 'LEGACY_ROW_COUNT',
        context: { table: c.name },
      });
    }
    faults.check('convert-written');
    try {
      await c.table.commit({
        readVersion: -1,
        operation: 'CONVERT',
        add,
        remove: [],
        metadata: c.metadata,
        txn: { appId: c.appId, version: 0 },
        info: { cursor: latest?.cursor ?? null, cursorBefore: null, runId: c.runId, call: -1, convertedFrom: { log: LEGACY_LOG_DIR, version: latest?.version ?? -1, files: live.size, rows } },
      });
    } catch (error) {
      // Not committed (a lost race, a store error): the files just written are nobody's.
      for (const f of add) await discardDataFile(c.store, c.table, f).catch(() => {});
      throw error;
    }
    c.logger.info('converted an earlier release\'s table to Delta Lake (nothing re-read from the source)', { table: c.name, files: live.size, rows, cursorFromVersion: latest?.version ?? -1 });
    faults.check('converted');
    snapshot = await c.table.snapshot();
    outcome = 'converted';
  }
  // The Delta table is committed: the earlier release's files, log and staging are leftovers.
  const keep = new Set((snapshot?.files ?? []).map((f) => decodeURIComponent(f.path)));
  for (const p of everAdded) if (!keep.has(p)) await fs.rm(path.join(tableDir, p), { force: true });
  await fs.rm(logDir, { recursive: true, force: true });
  await fs.rm(path.join(localDir, LEGACY_STAGING_DIR, c.name), { recursive: true, force: true });
  // The last table converted takes the earlier release's staging folder with it (others may still need theirs).
  await fs.rmdir(path.join(localDir, LEGACY_STAGING_DIR)).catch(() => {});
  return outcome;
}
