/**
 * `runPipeline`: lock the state folder, run each selected table (recover → call loop → commit), write the
 * run report. Per-table failures are recorded and the other tables continue.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { ConfigError, type LakeflowSource, type Logger } from '../connector-spec/index.js';
import { faultsFromEnv, type FaultInjector } from './faults.js';
import { acquireLock } from './lock.js';
import type { PipelineSpec, TableSpec } from './pipeline-spec.js';
import { suggest, validateSpecAgainstSource } from './pipeline-spec.js';
import { createProgress, noProgress, type ProgressReporter } from './progress.js';
import { runStatus, writeRunReport, type RunReport } from './report.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { runTable } from './table-run.js';

export interface RunPipelineOptions {
  readonly spec: PipelineSpec;
  readonly source: LakeflowSource;
  readonly lakehouseDir: string;
  readonly stateDir: string;
  /** Destination (or source) table names to run; default all in the spec. */
  readonly tables?: readonly string[];
  /** Tables whose data and cursor are dropped before reading from the start. */
  readonly fullRefresh?: readonly string[];
  readonly logger: Logger;
  /** A progress reporter; or pass `progressStream` (a TTY) to get cli-progress bars. */
  readonly progress?: ProgressReporter;
  readonly progressStream?: NodeJS.WritableStream | undefined;
  readonly signal?: AbortSignal;
  readonly retry?: Partial<RetryPolicy>;
  /** Test hook: crash points / injected errors. Defaults to `LAKEFLOW_TEST_CRASH_AT` from the environment. */
  readonly faults?: FaultInjector;
}

function select(spec: PipelineSpec, names: readonly string[] | undefined, flag: string): TableSpec[] {
  if (names === undefined) return [...spec.objects];
  const valid = spec.objects.map((t) => t.destinationTable);
  return names.map((name) => {
    const found = spec.objects.find((t) => t.destinationTable === name) ?? spec.objects.find((t) => t.sourceTable === name);
    if (!found) {
      throw new ConfigError(`${flag} ${name}: not a table of ${spec.file}; ${suggest(name, valid)}`, { code: 'RUNNER_UNKNOWN_TABLE_FLAG' });
    }
    return found;
  });
}

function progressFor(options: RunPipelineOptions): ProgressReporter {
  if (options.progress) return options.progress;
  const stream = options.progressStream as (NodeJS.WriteStream & { isTTY?: boolean }) | undefined;
  return stream?.isTTY ? createProgress({ stream }) : noProgress;
}

export async function runPipeline(options: RunPipelineOptions): Promise<RunReport> {
  const { spec, source, logger } = options;
  const selected = select(spec, options.tables, '--tables');
  const refresh = new Set(select(spec, options.fullRefresh ?? [], '--full-refresh').map((t) => t.destinationTable));
  const faults = options.faults ?? faultsFromEnv();
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  // Cheap, and protects library callers that skipped it: unknown tables/options never reach the source.
  await validateSpecAgainstSource(spec, source);
  await fs.mkdir(options.lakehouseDir, { recursive: true });
  const lock = await acquireLock(options.stateDir, logger);
  const progress = progressFor(options);
  const startedAt = new Date().toISOString();
  const report: RunReport = {
    runId: randomUUID(),
    source: source.name,
    connectionName: spec.connectionName,
    startedAt,
    finishedAt: startedAt,
    status: 'ok',
    tables: [],
  };
  try {
    logger.info('run started', { runId: report.runId, source: source.name, tables: selected.map((t) => t.destinationTable), fullRefresh: [...refresh] });
    for (const table of selected) {
      if (options.signal?.aborted) break;
      const tableReport = await runTable({
        source,
        spec: table,
        lakehouseDir: options.lakehouseDir,
        stateDir: options.stateDir,
        logger,
        progress,
        retry,
        faults,
        runId: report.runId,
        fullRefresh: refresh.has(table.destinationTable),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      report.tables.push(tableReport);
      logger.info('table finished', {
        table: tableReport.table,
        status: tableReport.status,
        rowsRead: tableReport.rowsRead,
        rowsWritten: tableReport.rowsWritten,
        commits: tableReport.commits,
        durationMs: tableReport.durationMs,
      });
    }
    report.status = runStatus(report.tables);
    report.finishedAt = new Date().toISOString();
    const file = await writeRunReport(options.stateDir, report);
    logger.info('run finished', { status: report.status, report: file });
    return report;
  } finally {
    progress.stop();
    await lock.release();
  }
}
