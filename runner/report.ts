/**
 * The run report (`<state>/runs/<timestamp>.json`) and the exit codes a scheduler acts on:
 *   0   every selected table is complete (recovered retries, restarts and rate-limit waits are information)
 *   3   finished, but something is knowingly missing or skipped (HTTP 402, a deleted data group, …): `missing`
 *   75  deferred: a wait would have ended after --max-wait, or another run holds the lock; committed work is
 *       kept and the next scheduled run continues (`retryAt` says when a retry can succeed)
 *   1   failure          2   configuration (the one-line message names the key or flag and the fix)
 *   130 / 143  stopped by SIGINT / SIGTERM at a commit boundary (the CLI maps the signal)
 */
import path from 'node:path';
import { isConnectorError, type Cursor } from '../connector-spec/index.js';
import { writeFileAtomic } from './durable-fs.js';

export type TableStatus = 'ok' | 'not-due' | 'skipped' | 'deferred' | 'stopped' | 'failed';

export interface SnapshotGroupDiff {
  readonly added: number;
  readonly removed: number;
}

/** Rows that joined / left a snapshot vs the previous one, per value of a grouping column (e.g. cohort_id). */
export interface SnapshotDiff {
  readonly groupBy: string | null;
  readonly added: number;
  readonly removed: number;
  readonly groups: Readonly<Record<string, SnapshotGroupDiff>>;
}

export interface TableReport {
  readonly table: string;
  readonly sourceTable: string;
  status: TableStatus;
  ingestionType: string;
  scdType: string;
  rowsRead: number;
  rowsWritten: number;
  /** cdc: incoming rows that replaced or collapsed into an existing key. */
  rowsMerged: number;
  filesAdded: number;
  filesRemoved: number;
  bytesWritten: number;
  calls: number;
  commits: number;
  apiCalls: number;
  retries: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  durationMs: number;
  cursorBefore: Cursor;
  cursorAfter: Cursor;
  versionBefore: number;
  versionAfter: number;
  /** Information: recovered faults, conversions, concurrent commits. Never changes the exit code. */
  warnings: string[];
  /** What is knowingly missing from the table after this run (exit 3). */
  missing: string[];
  counters: Record<string, number>;
  /** Calls left in the API family's hourly budget at the end of the table, when the source knows it. */
  apiBudgetLeft?: number;
  /** `deferred`: when a retry can succeed (ISO). `not-due`: when the table is due (ISO). */
  retryAt?: string;
  snapshotDiff?: SnapshotDiff;
  error?: { readonly code: string; readonly kind: string; readonly message: string };
}

export type RunStatus = 'ok' | 'incomplete' | 'deferred' | 'stopped' | 'failed';

export interface RunReport {
  readonly runId: string;
  readonly source: string;
  readonly connectionName: string;
  readonly startedAt: string;
  finishedAt: string;
  status: RunStatus;
  readonly tables: TableReport[];
  /** Why the run was deferred before any table ran (the lock), when it was. */
  deferred?: { readonly reason: string; readonly retryAt?: string };
  /** Where the report was written. */
  file?: string;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_INCOMPLETE = 3;
export const EXIT_DEFERRED = 75;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export function newTableReport(table: string, sourceTable: string): TableReport {
  return {
    table,
    sourceTable,
    status: 'ok',
    ingestionType: 'unknown',
    scdType: 'SCD_TYPE_1',
    rowsRead: 0,
    rowsWritten: 0,
    rowsMerged: 0,
    filesAdded: 0,
    filesRemoved: 0,
    bytesWritten: 0,
    calls: 0,
    commits: 0,
    apiCalls: 0,
    retries: 0,
    rateLimitWaits: 0,
    rateLimitWaitMs: 0,
    durationMs: 0,
    cursorBefore: null,
    cursorAfter: null,
    versionBefore: -1,
    versionAfter: -1,
    warnings: [],
    missing: [],
    counters: {},
  };
}

export function runStatus(tables: readonly TableReport[]): RunStatus {
  if (tables.some((t) => t.status === 'failed')) return 'failed';
  if (tables.some((t) => t.status === 'stopped')) return 'stopped';
  if (tables.some((t) => t.status === 'deferred')) return 'deferred';
  if (tables.some((t) => t.status === 'skipped' || t.missing.length > 0)) return 'incomplete';
  return 'ok';
}

/** Exit code for a finished run (a stopped run maps to its signal in the CLI; 143 without one). */
export function exitCodeForReport(report: RunReport, signal?: 'SIGINT' | 'SIGTERM'): number {
  switch (report.status) {
    case 'failed': {
      const failed = report.tables.filter((t) => t.status === 'failed');
      return failed.length > 0 && failed.every((t) => t.error?.kind === 'config') ? EXIT_CONFIG : EXIT_FAILURE;
    }
    case 'stopped':
      return signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    case 'deferred':
      return EXIT_DEFERRED;
    case 'incomplete':
      return EXIT_INCOMPLETE;
    case 'ok':
      return EXIT_OK;
  }
}

/** Exit code for a run that threw before finishing (bad spec → 2, anything else → 1). */
export function exitCodeForError(error: unknown): number {
  return isConnectorError(error) && error.kind === 'config' ? EXIT_CONFIG : EXIT_FAILURE;
}

export function reportFileName(startedAt: string): string {
  return `${startedAt.replace(/[:.]/g, '-')}.json`;
}

export async function writeRunReport(stateDir: string, report: RunReport): Promise<string> {
  const file = path.join(stateDir, 'runs', reportFileName(report.startedAt));
  report.file = file;
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
