/** DuckDB as the independent reader of the Parquet we write (tests only). */
import { DuckDBInstance } from '@duckdb/node-api';
import { deltaScan } from '../../runner/testing/duckdb.js';

export interface Duck {
  /** Rows as plain objects (BIGINT → bigint, TIMESTAMPTZ → string via CAST in the query when needed). */
  all(sql: string): Promise<Record<string, unknown>[]>;
  scalar(sql: string): Promise<unknown>;
  close(): void;
}

export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    async all(sql) {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    },
    async scalar(sql) {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowsJS()[0]?.[0];
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A SQL table expression over the live rows of one lakehouse table, read the way an outside engine reads it: the
 * Delta log replayed in DuckDB SQL (never our own log reader), then its live files with their partition values.
 * An empty relation when the table has no log yet.
 */
export async function tableScan(lakehouseDir: string, table: string): Promise<string> {
  return deltaScan(lakehouseDir, table);
}
