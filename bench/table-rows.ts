/**
 * How the bench reads a written table back, the way a user will: the live files of the table's Delta log (the
 * runner writes Delta tables; a glob over the folder would also count files a merge has removed but vacuum has not
 * deleted yet). `tableRelation` is the one place that decides it: every row check of the bench goes through it.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalStore, decodeAddPath, lakehouseOnStore } from '../lakehouse/index.js';

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The live data files of table `table` under `lakehouseDir` (absolute paths) and their bytes; none when no table. */
export async function liveFiles(lakehouseDir: string, table: string): Promise<{ readonly paths: string[]; readonly bytes: number }> {
  const lakehouse = lakehouseOnStore(new LocalStore(lakehouseDir));
  try {
    const snapshot = await lakehouse.table(table).snapshot();
    const files = snapshot?.files ?? [];
    return { paths: files.map((f) => join(lakehouseDir, table, decodeAddPath(f.path))), bytes: files.reduce((n, f) => n + f.size, 0) };
  } finally {
    await lakehouse.close();
  }
}

/** The SQL relation of table `table` under `lakehouseDir`: its live Parquet files, partition columns from the paths. */
export async function tableRelation(lakehouseDir: string, table: string): Promise<string> {
  const { paths } = await liveFiles(lakehouseDir, table);
  if (paths.length === 0) return '(SELECT NULL AS event_date WHERE false)';
  return `read_parquet([${paths.map(sqlString).join(', ')}], hive_partitioning = true, union_by_name = true)`;
}

export interface TableRows {
  readonly total: number;
  /** Rows per value of `byColumn` (when asked). */
  readonly by: ReadonlyMap<string, number>;
}

/** Rows of the table, in total and per value of `byColumn` (e.g. `event_date`). */
export async function tableRows(lakehouseDir: string, table: string, byColumn?: string): Promise<TableRows> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const relation = await tableRelation(lakehouseDir, table);
    if (byColumn === undefined) {
      const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${relation}`);
      return { total: Number(reader.getRows()[0]?.[0] ?? 0), by: new Map() };
    }
    const reader = await connection.runAndReadAll(`SELECT CAST("${byColumn.replaceAll('"', '""')}" AS VARCHAR), count(*) FROM ${relation} GROUP BY 1`);
    const by = new Map<string, number>();
    let total = 0;
    for (const [value, count] of reader.getRows()) {
      by.set(String(value), Number(count));
      total += Number(count);
    }
    return { total, by };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The correctness verdict of a run: `ok` when the table holds exactly the expected rows (and, when given, exactly
 * the expected rows per value), else what is missing or extra.
 */
export function rowsVerdict(actual: TableRows, expectedTotal: number, expectedBy?: Readonly<Record<string, number>>): string {
  const parts: string[] = [];
  if (actual.total !== expectedTotal) {
    const diff = actual.total - expectedTotal;
    parts.push(`${actual.total.toLocaleString('en-US')} rows, ${diff > 0 ? `${diff.toLocaleString('en-US')} extra` : `${(-diff).toLocaleString('en-US')} missing`}`);
  }
  if (expectedBy !== undefined) {
    const keys = new Set([...Object.keys(expectedBy), ...actual.by.keys()]);
    const wrong = [...keys].filter((k) => (actual.by.get(k) ?? 0) !== (expectedBy[k] ?? 0)).sort();
    if (wrong.length > 0) parts.push(`${wrong.length} day(s) off, first ${wrong[0]}: ${actual.by.get(wrong[0]!) ?? 0} vs ${expectedBy[wrong[0]!] ?? 0}`);
  }
  return parts.length === 0 ? 'ok' : `WRONG: ${parts.join('; ')}`;
}

/** Bytes of the table's live data files (what a reader of the table reads). */
export async function tableBytes(lakehouseDir: string, table: string): Promise<number> {
  return (await liveFiles(lakehouseDir, table)).bytes;
}
