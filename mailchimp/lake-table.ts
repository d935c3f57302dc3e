/**
 * The sync's own lakehouse tables (`mailchimp_sync_state`, `mailchimp_sync_errors`, `mailchimp_sync_plan`) in
 * the runner's on-disk format: Parquet parts staged (temp name → fsync → rename), a commit record written
 * put-if-absent (the commit point), then published. Reuses the runner's commit-log and Parquet writer so the
 * tables read like any other lakehouse table (`read_parquet('<lakehouse>/<table>/*.parquet')`).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { RecordBatch, type Schema } from 'apache-arrow';
import { batchFromColumns, DataError, type ColumnValues } from '../connector-spec/index.js';
import {
  clearStaging,
  latestVersion,
  publish,
  readCommit,
  stagedDataDir,
  tablePaths,
  writeCommit,
  type CommitRecord,
  type Operation,
  type TablePaths,
} from '../runner/commit-log.js';
import { pathExists } from '../runner/durable-fs.js';
import { noFaults } from '../runner/faults.js';
import { ParquetFileWriter } from '../lakehouse/parquet/parquet-writer.js';
import { readParquetFile } from '../lakehouse/parquet/parquet-reader.js';

export const APP_ID = 'mixpanel-lakeflow-mailchimp-sync';

export interface LiveFile {
  readonly path: string;
  readonly relPath: string;
  readonly version: number;
}

/** Replay the commit log: the live files of the newest version (committed-but-unpublished ones from staging). */
export async function liveTableFiles(lakehouse: string, table: string): Promise<{ version: number; files: LiveFile[] }> {
  const paths = tablePaths(lakehouse, table);
  const latest = await latestVersion(paths);
  const live = new Map<string, number>();
  for (let v = 0; v <= latest; v++) {
    let record: CommitRecord;
    try {
      record = await readCommit(paths, v);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') continue;
      throw error;
    }
    for (const r of record.remove) live.delete(r.path);
    for (const a of record.add) live.set(a.path, v);
  }
  const files: LiveFile[] = [];
  for (const [relPath, version] of [...live].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const published = path.join(paths.tableDir, relPath);
    if (await pathExists(published)) {
      files.push({ path: published, relPath, version });
      continue;
    }
    const staged = path.join(stagedDataDir(paths, version), relPath);
    if (version === latest && (await pathExists(staged))) {
      files.push({ path: staged, relPath, version });
      continue;
    }
    throw new DataError(`${table} commit ${version} lists ${relPath} but the file is missing; restore it or move ${paths.tableDir} aside and re-run`, {
      code: 'MAILCHIMP_TABLE_FILE_MISSING',
      context: { table, path: relPath },
    });
  }
  return { version: latest, files };
}

/** Roll a committed-but-unpublished newest version forward and drop uncommitted staging (start of a run). */
export async function recoverTable(lakehouse: string, table: string): Promise<void> {
  const paths = tablePaths(lakehouse, table);
  const latest = await latestVersion(paths);
  if (latest >= 0) await publish(paths, await readCommit(paths, latest), noFaults);
  await clearStaging(paths);
}

function pad(version: number): string {
  return String(version).padStart(20, '0');
}

async function writePart(paths: TablePaths, version: number, schema: Schema, batch: RecordBatch): Promise<{ relPath: string; rows: number; bytes: number }> {
  const relPath = `part-${pad(version)}-${randomUUID().slice(0, 8)}.parquet`;
  const writer = await ParquetFileWriter.open({
    file: path.join(stagedDataDir(paths, version), relPath),
    keyValueMetadata: new Map([
      ['lakeflow.table', paths.table],
      ['lakeflow.commit_version', String(version)],
    ]),
    faults: noFaults,
  });
  try {
    await writer.write(new RecordBatch(schema, batch.data));
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const written = await writer.close();
  return { relPath, rows: written.rows, bytes: written.bytes };
}

/**
 * Commit `columns` (per-field value arrays, schema order) as one version of `table`: APPEND adds a part,
 * REPLACE also removes every live part. Returns the committed version. Not safe for two concurrent writers of
 * the same table (the second commit fails with COMMIT_CONFLICT, nothing is lost).
 */
export async function commitRows(
  lakehouse: string,
  table: string,
  schema: Schema,
  columns: readonly ColumnValues[],
  operation: Extract<Operation, 'APPEND' | 'REPLACE'>,
  runId: string,
  call: number,
): Promise<number> {
  const paths = tablePaths(lakehouse, table);
  const version = (await latestVersion(paths)) + 1;
  const rows = columns[0]?.length ?? 0;
  const add = rows > 0 ? [await writePart(paths, version, schema, batchFromColumns(schema, columns))] : [];
  const remove = operation === 'REPLACE' ? (await liveTableFiles(lakehouse, table)).files.map((f) => ({ path: f.relPath })) : [];
  const record: CommitRecord = {
    format: 1,
    version,
    timestamp: new Date().toISOString(),
    operation,
    txn: { appId: APP_ID, runId, call },
    sourceTable: table,
    cursorBefore: null,
    cursor: null,
    add: add.map((a) => ({ path: a.relPath, rows: a.rows, bytes: a.bytes, partitionValues: {} })),
    remove,
  };
  await writeCommit(paths, record, noFaults);
  await publish(paths, record, noFaults);
  await clearStaging(paths);
  return version;
}

/** Every live row of a table as Arrow tables, oldest commit first (empty when the table does not exist). */
export async function readTableFiles(lakehouse: string, table: string): Promise<{ version: number; parts: { version: number; table: Awaited<ReturnType<typeof readParquetFile>> }[] }> {
  const { version, files } = await liveTableFiles(lakehouse, table);
  const parts = [];
  for (const f of [...files].sort((a, b) => a.version - b.version)) parts.push({ version: f.version, table: await readParquetFile(f.path) });
  return { version, parts };
}
