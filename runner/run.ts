/**
 * `runPipeline`: check everything a run needs before the first API call and the first write (the selection,
 * the spec against the source, a writable lakehouse and state folder, each selected table's owner, protocol,
 * columns and full-refresh reach: preflight.ts), take the state folder's lease, then run
 * each selected table that is due (convert → check → call loop → commit) and write the run report.
 * Per-table failures are recorded and the other tables continue. A graceful stop (`stop`) ends the run at the
 * next commit boundary; `maxWaitMs` bounds every wait.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, type LakeflowSource, type Logger } from '../connector-spec/index.js';
import { openLakehouse, type Lakehouse } from '../lakehouse/index.js';
import { faultsFromEnv, type FaultInjector } from './faults.js';
import { acquireLock, lockFile, lockLeaseMsFromEnv } from './lock.js';
import type { PipelineSpec, TableSpec } from './pipeline-spec.js';
import { suggest, validateSpecAgainstSource } from './pipeline-spec.js';
import { preflightTables } from './preflight.js';
import { createProgress, noProgress, type ProgressReporter } from './progress.js';
import { runStatus, writeRunReport, type RunReport } from './report.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { errnoCode } from './run-errors.js';
import { SCHEDULE_FILE, readSchedule, writeSchedule } from './schedule.js';
import { checkStateDir, stateFileError } from './state-dir.js';
import { runTable } from './table-run.js';

/** Default `--max-wait`: no wait (rate limit, backoff, lock) may end later than this after the run started. */
export const DEFAULT_MAX_WAIT_MS = 5 * 60_000;

export interface RunPipelineOptions {
  readonly spec: PipelineSpec;
  readonly source: LakeflowSource;
  /** `--lakehouse`: a folder, `s3://bucket/prefix`, `az://container/prefix` or `abfss://…`. */
  readonly lakehouse: string;
  readonly stateDir: string;
  /** Environment for the lakehouse's credentials (AWS_*, AZURE_STORAGE_*). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Destination tables, or source tables (every destination they feed), to run; default all in the spec. */
  readonly tables?: readonly string[];
  /** Tables whose data and cursor are dropped (in one commit) before reading from the start. */
  readonly fullRefresh?: readonly string[];
  /** Let `--full-refresh` drop rows older than what a fresh read re-reads. */
  readonly dropHistory?: boolean;
  /** Tables to repair: lost files are removed from the log and what they held is read again. */
  readonly repair?: readonly string[];
  /** `migrate`: convert tables of earlier releases to Delta, read nothing from the source. */
  readonly convertOnly?: boolean;
  readonly logger: Logger;
  readonly progress?: ProgressReporter;
  readonly progressStream?: NodeJS.WritableStream | undefined;
  /** Graceful stop: no new call starts; an uncommitted call is discarded. */
  readonly stop?: AbortSignal;
  /** No wait may end later than this many ms after the run started (default 5 minutes). */
  readonly maxWaitMs?: number;
  /** Lease of the state folder's lock (default: the lock's own). */
  readonly lockLeaseMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Test hook: crash points / injected errors. Defaults to `LAKEFLOW_TEST_CRASH_AT` from the environment. */
  readonly faults?: FaultInjector;
  readonly now?: () => number;
  /** Bytes of a cdc call's rows held in memory before the rest spills to the staging folder (default 16 MiB; tests pass 0). */
  readonly stagingMemoryBytes?: number;
  /**
   * Encoder workers that encode the Parquet of a cdc merge that rewrites no live file and stages at least
   * LANES_FROM_ROWS rows (a first load, a backfill): 1 (default) encodes on one worker while the main thread reads
   * and filters the staged rows; 2 on two workers at once, ~60 MiB more at the peak (README, Measured, S and T).
   * Smaller merges and merges that rewrite files encode on the main thread. `--merge-encoders`.
   */
  readonly mergeEncoders?: number;
  /** Staged rows from which `mergeEncoders` applies (default LANES_FROM_ROWS; tests pass less). */
  readonly mergeLanesFromRows?: number;
}

/** `mergeEncoders` (a number, or the CLI flag's text) checked: 1 or 2 (default 1). */
export function mergeEncodersOf(value: number | string | undefined): 1 | 2 {
  if (value === undefined || value === 1 || value === '1') return 1;
  if (value === 2 || value === '2') return 2;
  throw new ConfigError(`--merge-encoders must be 1 or 2, got ${String(value)}: 1 encodes a big merge on one encoder worker, 2 on two at once (~60 MiB more memory)`, { code: 'RUNNER_BAD_MERGE_ENCODERS' });
}

/**
 * `--tables`/`--full-refresh`/`repair` names → spec tables: each name selects the destination table of that name
 * and every destination its source table of that name feeds (`engage` → engage and profiles_history); duplicates
 * removed, spec order kept; an empty or unknown selection is a config error.
 */
export function selectTables(spec: PipelineSpec, names: readonly string[] | undefined, flag: string): TableSpec[] {
  if (names === undefined) return [...spec.objects];
  if (names.length === 0) {
    throw new ConfigError(`${flag} is empty; name one or more tables of ${spec.file} (${spec.objects.map((t) => t.destinationTable).join(', ')}), or leave the flag out to run them all`, { code: 'RUNNER_EMPTY_SELECTION' });
  }
  const valid = [...new Set(spec.objects.flatMap((t) => [t.destinationTable, t.sourceTable]))];
  const chosen = new Set<TableSpec>();
  for (const name of names) {
    // `engage` names the destination engage and every destination engage feeds (profiles_history): both.
    const found = spec.objects.filter((t) => t.destinationTable === name || t.sourceTable === name);
    if (found.length === 0) {
      throw new ConfigError(`${flag} ${name}: not a table of ${spec.file}; ${suggest(name, valid)}`, { code: 'RUNNER_UNKNOWN_TABLE_FLAG' });
    }
    for (const t of found) chosen.add(t);
  }
  return spec.objects.filter((t) => chosen.has(t));
}

/** The OS temp folder (calls are staged there) cannot take a folder: name TMPDIR, the one way to move it. */
function tempDirError(error: unknown): unknown {
  const code = errnoCode(error);
  if (code === undefined) return error;
  return new ConfigError(`cannot create a staging folder in ${os.tmpdir()} (${code}), where calls are staged before they are committed: free space there, or set TMPDIR to a writable folder with room`, {
    code: 'RUNNER_TEMP_NOT_WRITABLE',
    cause: error,
    context: { path: os.tmpdir() },
  });
}

function progressFor(options: RunPipelineOptions): ProgressReporter {
  if (options.progress) return options.progress;
  const stream = options.progressStream as (NodeJS.WriteStream & { isTTY?: boolean }) | undefined;
  return stream?.isTTY ? createProgress({ stream }) : noProgress;
}

/** The local folder of a local lakehouse (earlier releases' tables only exist there). */
function localDirOf(lakehouse: Lakehouse, location: string): string | undefined {
  return lakehouse.store.kind === 'local' ? path.resolve(location.startsWith('file://') ? new URL(location).pathname : location) : undefined;
}

export async function runPipeline(options: RunPipelineOptions): Promise<RunReport> {
  const { spec, source, logger } = options;
  const now = options.now ?? Date.now;
  const startedMs = now();
  // Everything that can be wrong with the configuration fails here: before the first API call and write.
  const selected = selectTables(spec, options.tables, '--tables');
  const refresh = new Set(options.fullRefresh === undefined ? [] : selectTables(spec, options.fullRefresh, '--full-refresh').map((t) => t.destinationTable));
  const repair = new Set(options.repair === undefined ? [] : selectTables(spec, options.repair, 'repair').map((t) => t.destinationTable));
  const faults = options.faults ?? faultsFromEnv();
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const mergeEncoders = mergeEncodersOf(options.mergeEncoders);
  await validateSpecAgainstSource(spec, source);
  const lakehouse = await openLakehouse(options.lakehouse, { env: options.env, logger, now });
  try {
    await lakehouse.store.checkWritable('--lakehouse');
    await checkStateDir(options.stateDir);
    await preflightTables({ source, connectionName: spec.connectionName, lakehouse, tables: selected, fullRefresh: refresh, dropHistory: options.dropHistory === true });
    const deadline = startedMs + (options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    const leaseMs = options.lockLeaseMs ?? lockLeaseMsFromEnv(options.env);
    const startedAt = new Date(startedMs).toISOString();
    const report: RunReport = { runId: randomUUID(), source: source.name, connectionName: spec.connectionName, startedAt, finishedAt: startedAt, status: 'ok', tables: [] };
    const lock = await acquireLock(options.stateDir, logger, {
      runId: report.runId,
      waitMs: Math.max(0, deadline - now()),
      ...(options.stop ? { signal: options.stop } : {}),
      ...(leaseMs !== undefined ? { leaseMs } : {}),
    }).catch((error: unknown) => {
      if (error instanceof Error && (error as { code?: unknown }).code === 'RUNNER_LOCKED') return { deferred: error.message };
      throw stateFileError(error, { stateDir: options.stateDir, file: lockFile(options.stateDir), step: 'take the lock' });
    });
    if ('deferred' in lock) {
      report.status = 'deferred';
      report.deferred = { reason: lock.deferred };
      report.finishedAt = new Date(now()).toISOString();
      logger.warn('run deferred: another run holds the state folder past --max-wait; the next scheduled run continues', { reason: lock.deferred });
      return report;
    }
    const stagingRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'mixpanel-lakeflow-staging-')).catch(async (error: unknown) => {
      await lock.release();
      throw tempDirError(error);
    });
    const progress = progressFor(options);
    try {
      const scheduleFile = path.join(options.stateDir, SCHEDULE_FILE);
      const schedule = await readSchedule(options.stateDir).catch((error: unknown) => {
        throw stateFileError(error, { stateDir: options.stateDir, file: scheduleFile, step: 'read' });
      });
      logger.info('run started', { runId: report.runId, source: source.name, lakehouse: lakehouse.displayUrl, tables: selected.map((t) => t.destinationTable), fullRefresh: [...refresh] });
      for (const table of selected) {
        if (options.stop?.aborted) break;
        const tableReport = await runTable({
          source,
          spec: table,
          connectionName: spec.connectionName,
          lakehouse,
          localDir: localDirOf(lakehouse, options.lakehouse),
          stagingRoot,
          ...(options.stagingMemoryBytes !== undefined ? { stagingMemoryBytes: options.stagingMemoryBytes } : {}),
          mergeEncoders,
          ...(options.mergeLanesFromRows !== undefined ? { mergeLanesFromRows: options.mergeLanesFromRows } : {}),
          logger,
          progress,
          retry,
          faults,
          runId: report.runId,
          fullRefresh: refresh.has(table.destinationTable),
          dropHistory: options.dropHistory === true,
          repair: repair.has(table.destinationTable),
          convertOnly: options.convertOnly === true,
          deadline,
          now,
          lastRunMs: schedule.get(table.destinationTable),
          ...(options.stop ? { stop: options.stop } : {}),
        });
        report.tables.push(tableReport);
        // `migrate` converts without reading: not a run of the table for `every`.
        if (tableReport.status === 'ok' && options.convertOnly !== true) schedule.set(table.destinationTable, startedMs);
        logger.info('table finished', {
          table: tableReport.table,
          status: tableReport.status,
          rowsRead: tableReport.rowsRead,
          rowsWritten: tableReport.rowsWritten,
          commits: tableReport.commits,
          durationMs: tableReport.durationMs,
        });
      }
      report.status = options.stop?.aborted && report.status !== 'failed' ? (runStatus(report.tables) === 'failed' ? 'failed' : 'stopped') : runStatus(report.tables);
      report.finishedAt = new Date(now()).toISOString();
      const committed = 'every committed table version and cursor is intact (the tables hold them), so the next run continues where this one stopped';
      await writeSchedule(options.stateDir, schedule).catch((error: unknown) => {
        throw stateFileError(error, { stateDir: options.stateDir, file: scheduleFile, step: 'write', done: committed });
      });
      const file = await writeRunReport(options.stateDir, report).catch((error: unknown) => {
        throw stateFileError(error, { stateDir: options.stateDir, file: path.join(options.stateDir, 'runs'), step: 'write the run report into', done: committed });
      });
      logger.info('run finished', { status: report.status, report: file });
      return report;
    } finally {
      progress.stop();
      await fs.rm(stagingRoot, { recursive: true, force: true });
      await lock.release();
    }
  } finally {
    await lakehouse.close();
  }
}
