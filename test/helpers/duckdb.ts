/** DuckDB as the independent reader of the Parquet we write (tests only). */
import { DuckDBInstance } from '@duckdb/node-api';

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

/** `read_parquet` over every Parquet file of one lakehouse table (hive partitions included). */
export function tableScan(lakehouseDir: string, table: string): string {
  return `read_parquet(${sqlString(`${lakehouseDir}/${table}/**/*.parquet`)}, hive_partitioning = true, union_by_name = true)`;
}
