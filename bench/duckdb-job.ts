/**
 * The baseline: DuckDB's native `read_json → COPY … (FORMAT parquet, COMPRESSION zstd)` over the same JSONL,
 * both cores (libraries.md §4: ~102k events/s on this machine class). `properties` is read as
 * `MAP(VARCHAR, JSON)` as in that measurement, because auto-detection over mixed-type custom properties
 * would make DuckDB infer (and sometimes fail on) a union struct.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckdbJob } from './jobs.js';

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export function duckdbCopySql(files: readonly string[], out: string): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  return (
    `COPY (SELECT * FROM read_json(${list}, format = 'newline_delimited', ` +
    `columns = {event: 'VARCHAR', properties: 'MAP(VARCHAR, JSON)'})) ` +
    `TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`
  );
}

export async function runDuckdbJob(job: DuckdbJob): Promise<{ seconds: number; rows: number | null; sourceApiCalls: null; warnings: string[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const started = performance.now();
    const reader = await connection.runAndReadAll(duckdbCopySql(job.files, job.out));
    const seconds = (performance.now() - started) / 1000;
    const first = reader.getRows()[0]?.[0];
    const rows = typeof first === 'bigint' || typeof first === 'number' ? Number(first) : null;
    return { seconds, rows, sourceApiCalls: null, warnings: [] };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
