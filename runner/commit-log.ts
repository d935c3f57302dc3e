/**
 * The per-table commit log `<lakehouse>/<table>/_lakeflow_log/<20-digit version>.json`, Delta-shaped:
 * each record lists the files it adds and removes, the cursor reached and a txn id, written
 * put-if-absent (the commit point). Publishing moves staged files into the table dir and unlinks
 * removed ones; it is idempotent so recovery can roll a committed version forward.
 */
import path from 'node:path';
import * as fs from 'node:fs/promises';
import { InternalError, type Cursor, type JsonValue } from '../connector-spec/index.js';
import { fsyncDir, isErrno, listFilesRecursive, moveInto, pathExists, putIfAbsent } from './durable-fs.js';
import type { FaultInjector } from './faults.js';

export const LOG_DIR = '_lakeflow_log';
export const STAGING_DIR = '_lakeflow_staging';
export const COMMIT_FORMAT = 1;

export type Operation = 'APPEND' | 'MERGE' | 'REPLACE';

export interface AddAction {
  /** Path relative to the table dir, `/`-separated (`event_date=2026-11-20/part-…parquet`). */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly partitionValues: Readonly<Record<string, string>>;
}

export interface RemoveAction {
  readonly path: string;
}

export interface CommitRecord {
  readonly format: typeof COMMIT_FORMAT;
  readonly version: number;
  readonly timestamp: string;
  readonly operation: Operation;
  /** Like Delta's `txn` action: who wrote it, which call. */
  readonly txn: { readonly appId: string; readonly runId: string; readonly call: number };
  readonly sourceTable: string;
  readonly cursorBefore: Cursor;
  readonly cursor: Cursor;
  readonly add: readonly AddAction[];
  readonly remove: readonly RemoveAction[];
  /**
   * The columns of the table's files after this commit (`name:type[?]`, `?` = nullable), like Delta's metaData
   * schema: a later run compares it before rewriting existing rows. Absent in records written before it existed.
   */
  readonly schema?: readonly string[];
}

export interface TablePaths {
  readonly lakehouse: string;
  readonly table: string;
  readonly tableDir: string;
  readonly logDir: string;
  readonly stagingRoot: string;
}

export function tablePaths(lakehouse: string, table: string): TablePaths {
  const tableDir = path.join(lakehouse, table);
  return { lakehouse, table, tableDir, logDir: path.join(tableDir, LOG_DIR), stagingRoot: path.join(lakehouse, STAGING_DIR, table) };
}

export function versionFileName(version: number): string {
  return `${String(version).padStart(20, '0')}.json`;
}

export function stagedDataDir(paths: TablePaths, version: number): string {
  return path.join(paths.stagingRoot, String(version), 'data');
}

/** Highest committed version, or -1 when the table has no log. */
export async function latestVersion(paths: TablePaths): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(paths.logDir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return -1;
    throw error;
  }
  let latest = -1;
  for (const name of names) {
    const match = /^(\d{20})\.json$/.exec(name);
    if (match) latest = Math.max(latest, Number(match[1]));
  }
  return latest;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseCommitRecord(text: string, file: string): CommitRecord {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || raw['format'] !== COMMIT_FORMAT || typeof raw['version'] !== 'number' || !Array.isArray(raw['add']) || !Array.isArray(raw['remove'])) {
    throw new InternalError(`${file}: not a commit record this runner understands; move the table aside and run with --full-refresh`, { code: 'COMMIT_INVALID', context: { path: file } });
  }
  const add = (raw['add'] as unknown[]).map((a) => {
    if (!isRecord(a) || typeof a['path'] !== 'string') throw new InternalError(`${file}: bad add action`, { code: 'COMMIT_INVALID', context: { path: file } });
    return {
      path: a['path'],
      rows: typeof a['rows'] === 'number' ? a['rows'] : 0,
      bytes: typeof a['bytes'] === 'number' ? a['bytes'] : 0,
      partitionValues: isRecord(a['partitionValues']) ? (a['partitionValues'] as Record<string, string>) : {},
    };
  });
  const remove = (raw['remove'] as unknown[]).map((r) => {
    if (!isRecord(r) || typeof r['path'] !== 'string') throw new InternalError(`${file}: bad remove action`, { code: 'COMMIT_INVALID', context: { path: file } });
    return { path: r['path'] };
  });
  const txn = isRecord(raw['txn']) ? raw['txn'] : {};
  return {
    format: COMMIT_FORMAT,
    version: raw['version'],
    timestamp: typeof raw['timestamp'] === 'string' ? raw['timestamp'] : '',
    operation: raw['operation'] === 'MERGE' || raw['operation'] === 'REPLACE' ? raw['operation'] : 'APPEND',
    txn: { appId: String(txn['appId'] ?? ''), runId: String(txn['runId'] ?? ''), call: Number(txn['call'] ?? 0) },
    sourceTable: typeof raw['sourceTable'] === 'string' ? raw['sourceTable'] : '',
    cursorBefore: (raw['cursorBefore'] ?? null) as JsonValue,
    cursor: (raw['cursor'] ?? null) as JsonValue,
    add,
    remove,
    ...(Array.isArray(raw['schema']) && raw['schema'].every((c) => typeof c === 'string') ? { schema: raw['schema'] as string[] } : {}),
  };
}

export async function readCommit(paths: TablePaths, version: number): Promise<CommitRecord> {
  const file = path.join(paths.logDir, versionFileName(version));
  return parseCommitRecord(await fs.readFile(file, 'utf8'), file);
}

/** Write the commit record (the commit point). Throws if that version already exists (a concurrent writer). */
export async function writeCommit(paths: TablePaths, record: CommitRecord, faults: FaultInjector): Promise<void> {
  const file = path.join(paths.logDir, versionFileName(record.version));
  const created = await putIfAbsent(file, `${JSON.stringify(record, null, 2)}\n`, path.join(paths.stagingRoot, 'log-tmp'));
  if (created) await fsyncDir(paths.tableDir); // the log folder itself may be new
  if (!created) {
    throw new InternalError(`${file} already exists: another writer committed version ${record.version} of ${paths.table}; make sure one runner owns this lakehouse`, {
      code: 'COMMIT_CONFLICT',
      context: { table: paths.table, path: file },
    });
  }
  faults.check('committed');
}

/**
 * Make a committed version visible: move each staged add into the table dir, unlink each removed file,
 * fsync the touched directories. Idempotent (a file already moved or already removed is skipped).
 */
export async function publish(paths: TablePaths, record: CommitRecord, faults: FaultInjector): Promise<void> {
  const staged = stagedDataDir(paths, record.version);
  const dirs = new Set<string>();
  for (const add of record.add) {
    const from = path.join(staged, add.path);
    const to = path.join(paths.tableDir, add.path);
    if (await pathExists(from)) {
      await moveInto(from, to);
      dirs.add(path.dirname(to));
      // A partition folder may be new: its entry in the table folder must be durable too.
      dirs.add(path.dirname(path.dirname(to)));
      faults.check('publish');
    } else if (!(await pathExists(to))) {
      throw new InternalError(`commit ${record.version} of ${paths.table} lists ${add.path} but neither the staged nor the published file exists; restore the file or run with --full-refresh ${paths.table}`, {
        code: 'COMMIT_FILE_MISSING',
        context: { table: paths.table, path: add.path },
      });
    }
  }
  for (const remove of record.remove) {
    await fs.rm(path.join(paths.tableDir, remove.path), { force: true });
    dirs.add(path.dirname(path.join(paths.tableDir, remove.path)));
  }
  for (const dir of dirs) await fsyncDir(dir);
  faults.check('published');
}

/** Live data files (relative paths) of a table: every `.parquet` under the table dir. */
export async function liveFiles(paths: TablePaths): Promise<string[]> {
  return (await listFilesRecursive(paths.tableDir, new Set([LOG_DIR]))).filter((f) => f.endsWith('.parquet'));
}

/** Remove a table's staging folder (uncommitted or already published leftovers). */
export async function clearStaging(paths: TablePaths): Promise<void> {
  await fs.rm(paths.stagingRoot, { recursive: true, force: true });
}
