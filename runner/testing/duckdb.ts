/** Test oracle: read the lakehouse back with DuckDB (an independent Parquet reader). */
import { DuckDBInstance } from '@duckdb/node-api';

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

export function glob(lakehouse: string, table: string): string {
  return `read_parquet('${lakehouse}/${table}/**/*.parquet', hive_partitioning = true)`;
}

/** All rows of a table as sorted JSON strings (order-independent comparison). */
export async function tableRows(lakehouse: string, table: string): Promise<string[]> {
  const rows = await query(`SELECT * FROM ${glob(lakehouse, table)}`);
  return rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))))).sort();
}
