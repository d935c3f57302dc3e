/**
 * The lakehouse folder written by release 0.1 (commit 97ca813, the last before Delta Lake), committed under
 * runner/__fixtures__/release-0.1-lakehouse (see its README), and an independent reader of it: the old commit
 * records parsed here (not by runner/legacy-convert.ts) and the old Parquet files read by DuckDB.
 */
import { existsSync } from 'node:fs';
import { cp, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatasetOptions } from './memory-source.js';
import { query } from './duckdb.js';
import { sortedRows } from './delta-log.js';

export const RELEASE_01_FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '__fixtures__', 'release-0.1-lakehouse');

/** The fixture's first run (complete) … */
export const RELEASE_01_FIRST: DatasetOptions = { itemChanges: 100, itemKeys: 50, events: 80, logs: 60, members: 30, generation: 0 };
/** … and its second run, SIGKILLed right after the commit record of its 3rd commit (events, unpublished). */
export const RELEASE_01_SECOND: DatasetOptions = { itemChanges: 150, itemKeys: 50, events: 120, logs: 100, members: 30, generation: 1 };

/** The tables of the fixture spec (`FIXTURE_SPEC`), all present in the fixture. */
export const RELEASE_01_TABLES = ['items', 'items_history', 'events', 'logs', 'members'] as const;

export async function copyRelease01(lakehouse: string): Promise<void> {
  // Everything but the fixture's README (written for people, not by release 0.1).
  await cp(RELEASE_01_FIXTURE, lakehouse, { recursive: true, filter: (src) => src !== path.join(RELEASE_01_FIXTURE, 'README.md') });
}

interface OldRecord {
  readonly version: number;
  readonly cursor: unknown;
  readonly add: readonly { readonly path: string; readonly rows: number }[];
  readonly remove: readonly { readonly path: string }[];
}

export interface OldTable {
  /** The newest record's cursor. */
  readonly cursor: unknown;
  /** Live files per the records, where they are on disk (the newest record's files may still be staged). */
  readonly files: readonly string[];
  /** Row count the records claim. */
  readonly rows: number;
  /** Every file path any record added (relative to the table folder). */
  readonly everAdded: readonly string[];
}

/** The live state of an earlier release's table, from its `_lakeflow_log` records. */
export async function readOldTable(lakehouse: string, table: string): Promise<OldTable> {
  const logDir = path.join(lakehouse, table, '_lakeflow_log');
  const names = (await readdir(logDir)).filter((n) => /^\d{20}\.json$/.test(n)).sort();
  const records: OldRecord[] = [];
  for (const n of names) records.push(JSON.parse(await readFile(path.join(logDir, n), 'utf8')) as OldRecord);
  const live = new Map<string, { version: number; rows: number }>();
  for (const r of records) {
    for (const x of r.remove) live.delete(x.path);
    for (const a of r.add) live.set(a.path, { version: r.version, rows: a.rows });
  }
  const files = [...live].map(([p, { version }]) => {
    const published = path.join(lakehouse, table, p);
    return existsSync(published) ? published : path.join(lakehouse, '_lakeflow_staging', table, String(version), 'data', p);
  });
  return {
    cursor: records.at(-1)?.cursor ?? null,
    files,
    rows: [...live.values()].reduce((n, f) => n + f.rows, 0),
    everAdded: [...new Set(records.flatMap((r) => r.add.map((a) => a.path)))],
  };
}

/** The old table's rows as DuckDB reads its live Parquet files (sorted JSON, like `tableRows`). */
export async function oldRows(lakehouse: string, table: string): Promise<string[]> {
  const { files } = await readOldTable(lakehouse, table);
  if (files.length === 0) return [];
  const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
  return sortedRows(await query(`SELECT * FROM read_parquet([${list}], hive_partitioning = false)`));
}
