/** Small file helpers for the bench: Parquet bytes under a folder, and row counts read back with DuckDB. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** Total bytes of the `.parquet` files under `dir` (recursive); 0 when the folder does not exist. */
export async function parquetBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await parquetBytes(path);
    else if (entry.name.endsWith('.parquet')) total += (await stat(path)).size;
  }
  return total;
}

/** Rows of the live Parquet files of a table folder (the `_lakeflow_*` folders are not data). */
export async function parquetRowCount(glob: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT count(*) FROM read_parquet('${glob.replaceAll("'", "''")}', hive_partitioning = true)`);
    return Number(reader.getRows()[0]?.[0] ?? 0);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
