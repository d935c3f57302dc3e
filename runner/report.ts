/**
 * The run report (`<state>/runs/<timestamp>.json`) and the exit-code mapping:
 * 0 ok, 1 failure, 2 configuration error, 3 partial (a table skipped or warnings).
 */
import path from 'node:path';
import { isConnectorError, type Cursor } from '../connector-spec/index.js';
import { writeFileAtomic } from './durable-fs.js';

export type TableStatus = 'ok' | 'skipped' | 'failed';

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
  warnings: string[];
  counters: Record<string, number>;
  snapshotDiff?: SnapshotDiff;
  error?: { readonly code: string; readonly kind: string; readonly message: string };
}

export interface RunReport {
  readonly runId: string;
  readonly source: string;
  readonly connectionName: string;
  readonly startedAt: string;
  finishedAt: string;
  status: 'ok' | 'partial' | 'failed';
  readonly tables: TableReport[];
  /** Where the report was written. */
  file?: string;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_PARTIAL = 3;

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
    counters: {},
  };
}

export function runStatus(tables: readonly TableReport[]): RunReport['status'] {
  if (tables.some((t) => t.status === 'failed')) return 'failed';
  if (tables.some((t) => t.status === 'skipped' || t.warnings.length > 0)) return 'partial';
  return 'ok';
}

/** Exit code for a finished run. */
export function exitCodeForReport(report: RunReport): number {
  const failed = report.tables.filter((t) => t.status === 'failed');
  if (failed.length > 0) return failed.every((t) => t.error?.kind === 'config') ? EXIT_CONFIG : EXIT_FAILURE;
  if (report.status === 'partial') return EXIT_PARTIAL;
  return EXIT_OK;
}

/** Exit code for a run that threw before finishing (bad spec → 2, lock held or anything else → 1). */
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
