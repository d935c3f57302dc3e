/**
 * Test oracle: read the lakehouse back with DuckDB the way an outside engine does: the Delta log replayed in
 * DuckDB SQL (lakehouse/testing/duckdb-delta.ts, which never uses our log reader), then its live files.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckDeltaTable } from '../../lakehouse/testing/duckdb-delta.js';

export type Row = Record<string, unknown>;

export async function query(sql: string): Promise<Row[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const result = await connection.runAndReadAll(sql);
    return result.getRowObjectsJson() as Row[];
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

/**
 * A SQL table expression over the live rows of a lakehouse table, from its Delta log (an empty relation when the
 * table has no log yet): `SELECT count(*) FROM ${await deltaScan(lakehouse, 'events')}`.
 */
export async function deltaScan(lakehouse: string, table: string): Promise<string> {
  const dir = path.join(lakehouse, table);
  if (!existsSync(path.join(dir, '_delta_log'))) return '(SELECT NULL AS no_table WHERE false)';
  return (await duckDeltaTable(dir)).scan();
}

/** Live data files of a table per its Delta log (DuckDB replay), relative to the table folder. */
export async function liveFiles(lakehouse: string, table: string): Promise<{ readonly path: string; readonly partitionValues: Readonly<Record<string, string | null>>; readonly numRecords: number | null }[]> {
  const dir = path.join(lakehouse, table);
  if (!existsSync(path.join(dir, '_delta_log'))) return [];
  return (await duckDeltaTable(dir)).files.map((f) => ({ path: decodeURIComponent(f.path), partitionValues: f.partitionValues, numRecords: f.numRecords }));
}

/** The source cursor of the newest commit of a table (commitInfo.mixpanelLakeflow.cursor), read from the JSON log. */
export async function committedCursor(lakehouse: string, table: string): Promise<unknown> {
  const logDir = path.join(lakehouse, table, '_delta_log');
  const names = (await readdir(logDir)).filter((n) => /^\d{20}\.json$/.test(n)).sort().reverse();
  for (const name of names) {
    for (const line of (await readFile(path.join(logDir, name), 'utf8')).split('\n')) {
      if (!line.includes('"commitInfo"')) continue;
      const info = (JSON.parse(line) as { commitInfo?: { mixpanelLakeflow?: { cursor?: unknown } } }).commitInfo?.mixpanelLakeflow;
      if (info && 'cursor' in info) return info.cursor;
    }
  }
  return undefined;
}

/** All rows of a table as sorted JSON strings (order-independent comparison). */
export async function tableRows(lakehouse: string, table: string): Promise<string[]> {
  const rows = await query(`SELECT * FROM ${await deltaScan(lakehouse, table)}`);
  return rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))))).sort();
}
