/**
 * Test oracle: the commits of a local Delta table read straight from its `_delta_log/*.json` files (plain JSON
 * parsing, never the lakehouse's own log reader), and the table's rows as of an older version (the table folder
 * copied without the later log files, then replayed by DuckDB like any outside engine).
 */
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { duckDeltaTable } from '../../lakehouse/testing/duckdb-delta.js';
import { listFilesRecursive } from '../durable-fs.js';
import { query } from './duckdb.js';

export interface LogAdd {
  readonly path: string;
  readonly size: number;
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly numRecords: number | undefined;
}

export interface LogCommit {
  readonly version: number;
  readonly operation: string | undefined;
  readonly txn: { readonly appId: string; readonly version: number } | undefined;
  /** commitInfo.mixpanelLakeflow (cursor, runId, …). */
  readonly info: Readonly<Record<string, unknown>> | undefined;
  readonly adds: readonly LogAdd[];
  readonly removes: readonly string[];
  readonly hasMetadata: boolean;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** Every JSON commit of `<lakehouse>/<table>/_delta_log`, oldest first. */
export async function logCommits(lakehouse: string, table: string): Promise<LogCommit[]> {
  const logDir = path.join(lakehouse, table, '_delta_log');
  const names = (await readdir(logDir)).filter((n) => /^\d{20}\.json$/.test(n)).sort();
  const commits: LogCommit[] = [];
  for (const name of names) {
    let operation: string | undefined;
    let txn: LogCommit['txn'];
    let info: LogCommit['info'];
    let hasMetadata = false;
    const adds: LogAdd[] = [];
    const removes: string[] = [];
    for (const line of (await readFile(path.join(logDir, name), 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      const action = JSON.parse(line) as Json;
      const add = asObject(action['add']);
      const remove = asObject(action['remove']);
      const commitInfo = asObject(action['commitInfo']);
      const t = asObject(action['txn']);
      if (add) {
        const stats = typeof add['stats'] === 'string' ? (JSON.parse(add['stats']) as Json) : undefined;
        adds.push({
          path: decodeURIComponent(String(add['path'])),
          size: Number(add['size']),
          partitionValues: (asObject(add['partitionValues']) ?? {}) as Record<string, string | null>,
          numRecords: typeof stats?.['numRecords'] === 'number' ? stats['numRecords'] : undefined,
        });
      }
      if (remove) removes.push(decodeURIComponent(String(remove['path'])));
      if (t) txn = { appId: String(t['appId']), version: Number(t['version']) };
      if (commitInfo) {
        operation = typeof commitInfo['operation'] === 'string' ? commitInfo['operation'] : undefined;
        info = asObject(commitInfo['mixpanelLakeflow']);
      }
      if (action['metaData'] !== undefined) hasMetadata = true;
    }
    commits.push({ version: Number(name.slice(0, 20)), operation, txn, info, adds, removes, hasMetadata });
  }
  return commits;
}

/**
 * The table's rows as of `version` (sorted JSON, like `tableRows`): the table folder copied to a temp folder
 * without the log files after `version`, replayed by DuckDB.
 */
export async function rowsAtVersion(lakehouse: string, table: string, version: number): Promise<string[]> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lakeflow-at-version-'));
  try {
    const copy = path.join(tmp, table);
    await cp(path.join(lakehouse, table), copy, { recursive: true });
    const logDir = path.join(copy, '_delta_log');
    for (const name of await readdir(logDir)) {
      const v = /^(\d{20})\./.exec(name);
      if ((v && Number(v[1]) > version) || name === '_last_checkpoint') await rm(path.join(logDir, name));
    }
    const rows = await query(`SELECT * FROM ${await (await duckDeltaTable(copy)).scan()}`);
    return sortedRows(rows);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Rows as sorted JSON strings with sorted keys (the format of `tableRows`). */
export function sortedRows(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))))).sort();
}

/**
 * Checks every writer of a table keeps: table versions 0..n with no gap, and per appId the txn versions
 * 0, 1, 2, … in table-version order (no gap, no duplicate). Returns the problems found (empty when sound).
 */
export function txnProblems(commits: readonly LogCommit[]): string[] {
  const problems: string[] = [];
  commits.forEach((c, i) => {
    if (c.version !== i) problems.push(`table version ${c.version} at position ${i}`);
  });
  const next = new Map<string, number>();
  for (const c of commits) {
    if (!c.txn) continue;
    const expected = next.get(c.txn.appId) ?? 0;
    if (c.txn.version !== expected) problems.push(`version ${c.version}: txn ${c.txn.appId} ${c.txn.version}, expected ${expected}`);
    next.set(c.txn.appId, c.txn.version + 1);
  }
  return problems;
}

/** Parquet files under the table folder that no commit of its log ever added (orphans of writes never committed). */
export async function unreferencedDataFiles(lakehouse: string, table: string): Promise<string[]> {
  const added = new Set((await logCommits(lakehouse, table)).flatMap((c) => c.adds.map((a) => a.path)));
  const files = await listFilesRecursive(path.join(lakehouse, table));
  return files.filter((f) => f.endsWith('.parquet') && !f.startsWith('_delta_log/') && !added.has(f));
}
