/**
 * One table of a run: recover, then drive the source call by call. Each call's batches stream into
 * staged Parquet; the call's files and its returned cursor are committed in one commit record, then
 * published, then the state file moves. A call that throws is discarded and, if retryable, re-called
 * with the same cursor.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { RecordBatch, Schema } from 'apache-arrow';
import {
  ConfigError,
  DataError,
  NotEntitledError,
  RateLimitError,
  cursorsEqual,
  emptyReadStats,
  isConnectorError,
  withTableMetadata,
  type Cursor,
  type LakeflowSource,
  type Logger,
  type ReadStats,
  type TableMetadata,
} from '../connector-spec/index.js';
import { liveRowsOf } from './live-rows.js';
import { clearStaging, latestVersion, liveFiles, publish, readCommit, stagedDataDir, tablePaths, writeCommit, STAGING_DIR, type CommitRecord, type Operation, type TablePaths } from './commit-log.js';
import { deleteState, readState, writeState } from './cursor-store.js';
import { fsyncDir, isErrno } from './durable-fs.js';
import type { FaultInjector } from './faults.js';
import { KeyHashIndex, hashKeys } from './key-index.js';
import { mergeCdc, scd2Schema } from './merge.js';
import { mergeScd1Indexed } from './merge-scd1.js';
import { PartitionedWriter, type PartFile } from './partitioned-writer.js';
import type { TableSpec } from './pipeline-spec.js';
import type { ProgressReporter } from './progress.js';
import { newTableReport, type TableReport } from './report.js';
import { isRetryable, retryDelayMs, sleep, type RetryPolicy } from './retry.js';
import { diffSnapshots, snapshotGroupColumn } from './snapshot-diff.js';

export const APP_ID = 'mixpanel-lakeflow-runner';
/** A source whose cursor never converges would loop forever; stop it with a clear error instead. */
export const MAX_CALLS_PER_TABLE = 100_000;

export interface TableRunContext {
  readonly source: LakeflowSource;
  readonly spec: TableSpec;
  readonly lakehouseDir: string;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly progress: ProgressReporter;
  readonly retry: RetryPolicy;
  readonly faults: FaultInjector;
  readonly runId: string;
  readonly fullRefresh: boolean;
  readonly signal?: AbortSignal;
}

interface Plan {
  readonly ingestion: TableMetadata['ingestionType'];
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  readonly scd2: boolean;
  readonly partitionBy?: string;
  /** Schema of the source batches, with the effective table metadata. */
  readonly tableSchema: Schema;
  /** Schema of the files (tableSchema, plus __start_at/__end_at for SCD2). */
  readonly outputSchema: Schema;
}

interface CallResult {
  readonly files: PartFile[];
  /** SCD1 cdc: hashes of every row's key, collected while writing (the merge never reads the call back). */
  readonly index?: KeyHashIndex;
  /** Next free file number in the staged folder. */
  readonly nextFileIndex: number;
  readonly rows: number;
  readonly batches: number;
  readonly cursor: Cursor;
}

function pad(version: number): string {
  return String(version).padStart(20, '0');
}

async function plan(ctx: TableRunContext): Promise<Plan> {
  const { source, spec } = ctx;
  const opts = { tableOptions: spec.tableOptions };
  const meta = await source.readTableMetadata(spec.sourceTable, opts);
  const schema = await source.getSchema(spec.sourceTable, opts);
  const ingestion = spec.scdType === 'APPEND_ONLY' ? 'append' : meta.ingestionType;
  const keys = spec.primaryKeys ?? meta.primaryKeys;
  const sequenceBy = spec.sequenceBy ?? meta.sequenceBy ?? (meta.cursorField !== undefined ? [meta.cursorField] : []);
  const at = `${spec.path}.table_configuration`;
  if (ingestion === 'cdc' && keys.length === 0) {
    throw new ConfigError(`${at}.primary_keys: ${spec.sourceTable} is cdc but has no primary keys; set primary_keys or scd_type APPEND_ONLY`, { code: 'RUNNER_NO_KEYS', context: { table: spec.destinationTable } });
  }
  if (ingestion === 'cdc' && sequenceBy.length === 0) {
    throw new ConfigError(`${at}.sequence_by: ${spec.sourceTable} is cdc but has no cursor field; set sequence_by`, { code: 'RUNNER_NO_SEQUENCE', context: { table: spec.destinationTable } });
  }
  const tableSchema = withTableMetadata(schema, {
    primaryKeys: keys,
    ingestionType: ingestion,
    ...(meta.cursorField !== undefined ? { cursorField: meta.cursorField } : {}),
    ...(sequenceBy.length > 0 ? { sequenceBy } : {}),
    ...(meta.partitionBy !== undefined ? { partitionBy: meta.partitionBy } : {}),
  });
  const scd2 = spec.scdType === 'SCD_TYPE_2' && ingestion === 'cdc';
  return {
    ingestion,
    keys,
    sequenceBy,
    scd2,
    tableSchema,
    outputSchema: scd2 ? scd2Schema(tableSchema, sequenceBy) : tableSchema,
    ...(meta.partitionBy !== undefined ? { partitionBy: meta.partitionBy } : {}),
  };
}

function schemaSignature(schema: Schema): string {
  return schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(',');
}

/** The column list recorded in every commit: `name:type`, with `?` for nullable. */
export function columnSignatures(schema: Schema): string[] {
  return schema.fields.map((f) => `${f.name}:${String(f.type)}${f.nullable ? '?' : ''}`);
}

/**
 * A cdc merge rewrites existing files in the *new* schema: if columns were removed or changed since the last
 * commit (e.g. a narrower `properties` selection), existing rows would silently lose those values. Refuse, and
 * name the columns and the fix. Added nullable columns are fine (old rows read null there). Snapshot tables
 * (replaced whole) and append tables (never rewritten) may change freely.
 */
async function checkSchemaUnchanged(ctx: TableRunContext, p: Plan, paths: TablePaths, version: number): Promise<void> {
  if (p.ingestion !== 'cdc' || version < 0) return;
  const committed = (await readCommit(paths, version)).schema;
  if (committed === undefined) return;
  const now = columnSignatures(p.outputSchema);
  if (committed.length === now.length && committed.every((c, i) => c === now[i])) return;
  const name = (sig: string): string => sig.slice(0, sig.indexOf(':'));
  const before = new Map(committed.map((c) => [name(c), c]));
  const after = new Map(now.map((c) => [name(c), c]));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  const added = [...after.keys()].filter((n) => !before.has(n));
  const changed = [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n));
  const table = ctx.spec.destinationTable;
  // New nullable columns are safe: rewritten old rows get null there (nothing they had is dropped).
  if (removed.length === 0 && changed.length === 0 && added.every((n) => after.get(n)!.endsWith('?'))) {
    ctx.logger.info('table gained columns; existing rows read null there', { table, added });
    return;
  }
  const parts = [
    removed.length > 0 ? `removed ${removed.join(', ')}` : '',
    added.length > 0 ? `added ${added.join(', ')}` : '',
    changed.length > 0 ? `changed ${changed.join(', ')}` : '',
  ].filter((s) => s !== '');
  throw new ConfigError(
    `${ctx.spec.path}: the columns of ${table} changed since its last commit (${parts.join('; ')}); merging would rewrite existing rows without them. ` +
      `Restore the previous table options, or rebuild the table with: mixpanel-lakeflow run --full-refresh ${table}`,
    { code: 'RUNNER_SCHEMA_CHANGED', context: { table } },
  );
}

/** Roll a committed-but-unpublished version forward, repair a lagging state file, drop uncommitted staging. */
async function recover(ctx: TableRunContext, paths: TablePaths, report: TableReport): Promise<{ version: number; cursor: Cursor }> {
  const table = ctx.spec.destinationTable;
  const latest = await latestVersion(paths);
  const loaded = await readState(ctx.stateDir, table);
  let cursor: Cursor = null;
  if (latest >= 0) {
    const record = await readCommit(paths, latest);
    cursor = record.cursor;
    if ((loaded?.state.version ?? -1) < latest) {
      await publish(paths, record, ctx.faults);
      ctx.faults.check('recovered');
      await writeState(ctx.stateDir, { format: 1, table, sourceTable: ctx.spec.sourceTable, version: latest, cursor, updatedAt: new Date().toISOString(), runId: ctx.runId });
      ctx.logger.info('recovered table: rolled the last commit forward', { table, version: latest });
    }
  } else if (loaded?.migratedFrom === 0) {
    cursor = loaded.state.cursor;
    report.warnings.push(`state file of ${table} was in format 0; its cursor was kept and the file is rewritten in format 1 at the next commit`);
    ctx.logger.warn('migrating a format-0 state file', { table });
  } else if (loaded !== undefined && loaded.state.version >= 0) {
    report.warnings.push(`state of ${table} says version ${loaded.state.version} but ${paths.tableDir} has no commit log; reading from the start`);
    ctx.logger.warn('state without commit log: reading from the start', { table, stateVersion: loaded.state.version });
  }
  await clearStaging(paths);
  return { version: latest, cursor };
}

async function dropTable(ctx: TableRunContext, paths: TablePaths): Promise<void> {
  await deleteState(ctx.stateDir, ctx.spec.destinationTable);
  const trash = path.join(ctx.lakehouseDir, STAGING_DIR, '_trash', `${ctx.spec.destinationTable}-${ctx.runId}`);
  await fs.mkdir(path.dirname(trash), { recursive: true });
  try {
    await fs.rename(paths.tableDir, trash);
    await fsyncDir(ctx.lakehouseDir);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  await fs.rm(trash, { recursive: true, force: true });
  await clearStaging(paths);
}

function fileMetadata(ctx: TableRunContext, p: Plan, version: number, cursorFrom: Cursor): Map<string, string> {
  const kv = new Map<string, string>();
  for (const [k, v] of p.outputSchema.metadata) if (k.startsWith('lakeflow.')) kv.set(k, v);
  kv.set('lakeflow.table', ctx.spec.destinationTable);
  kv.set('lakeflow.source_table', ctx.spec.sourceTable);
  kv.set('lakeflow.scd_type', p.scd2 ? 'SCD_TYPE_2' : p.ingestion === 'append' ? 'APPEND_ONLY' : 'SCD_TYPE_1');
  kv.set('lakeflow.commit_version', String(version));
  kv.set('lakeflow.cursor_from', JSON.stringify(cursorFrom));
  return kv;
}

/** One readTable call into staged files; discards everything on failure. */
async function readCall(ctx: TableRunContext, p: Plan, paths: TablePaths, version: number, cursor: Cursor, stats: ReadStats, report: TableReport, progressBase: { rows: number; bytes: number }): Promise<CallResult> {
  const stageDir = path.join(paths.stagingRoot, String(version));
  await fs.rm(stageDir, { recursive: true, force: true });
  const merged = p.ingestion === 'cdc';
  const writer = new PartitionedWriter({
    baseDir: merged ? path.join(stageDir, 'incoming') : stagedDataDir(paths, version),
    prefix: `part-${pad(version)}`,
    keyValueMetadata: fileMetadata(ctx, p, version, cursor),
    faults: ctx.faults,
    ...(p.partitionBy !== undefined ? { partitionBy: p.partitionBy } : {}),
  });
  const expected = schemaSignature(p.tableSchema);
  const index = merged && !p.scd2 ? new KeyHashIndex() : undefined;
  let generator: AsyncGenerator<RecordBatch, Cursor, undefined> | undefined;
  let rows = 0;
  let batches = 0;
  let slices: { done?: number; total?: number; budget?: number } = {};
  const update = () =>
    ctx.progress.update(ctx.spec.destinationTable, {
      rows: progressBase.rows + rows,
      bytes: progressBase.bytes,
      calls: report.calls,
      ...(slices.done !== undefined ? { slicesDone: slices.done } : {}),
      ...(slices.total !== undefined ? { slicesTotal: slices.total } : {}),
      ...(slices.budget !== undefined ? { apiBudgetLeft: slices.budget } : {}),
    });
  try {
    generator = ctx.source.readTable(ctx.spec.sourceTable, cursor, {
      tableOptions: ctx.spec.tableOptions,
      logger: ctx.logger,
      stats,
      liveRows: liveRowsOf(paths),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (progress) => {
        slices = {
          ...(progress.slicesDone !== undefined ? { done: progress.slicesDone } : {}),
          ...(progress.slicesTotal !== undefined ? { total: progress.slicesTotal } : {}),
          ...(progress.apiBudgetLeft !== undefined ? { budget: progress.apiBudgetLeft } : {}),
        };
        update();
      },
    });
    let step = await generator.next();
    while (!step.done) {
      const batch = step.value;
      ctx.faults.check('fetch');
      if (schemaSignature(batch.schema) !== expected) {
        throw new DataError(`${ctx.source.name}.${ctx.spec.sourceTable} yielded a batch whose columns differ from its getSchema(); fix the source so batches match the schema`, {
          code: 'RUNNER_SCHEMA_MISMATCH',
          context: { table: ctx.spec.destinationTable },
        });
      }
      if (index && batch.numRows > 0) {
        index.add(
          hashKeys(
            p.keys.map((k) => batch.getChild(k)!),
            batch.numRows,
          ),
        );
      }
      await writer.write(new RecordBatch(p.tableSchema, batch.data));
      rows += batch.numRows;
      if (batch.numRows > 0) batches++;
      update();
      ctx.signal?.throwIfAborted();
      step = await generator.next();
    }
    const files = await writer.close();
    return { files, rows, batches, cursor: step.value, nextFileIndex: writer.nextIndex, ...(index ? { index } : {}) };
  } catch (error) {
    await generator?.return(null).catch(() => {});
    await writer.abort();
    await fs.rm(stageDir, { recursive: true, force: true });
    throw error;
  }
}

async function readCallWithRetry(ctx: TableRunContext, p: Plan, paths: TablePaths, version: number, cursor: Cursor, stats: ReadStats, report: TableReport, progressBase: { rows: number; bytes: number }): Promise<CallResult> {
  for (let attempt = 1; ; attempt++) {
    report.calls++;
    try {
      return await readCall(ctx, p, paths, version, cursor, stats, report, progressBase);
    } catch (error) {
      if (!isRetryable(error) || attempt >= ctx.retry.attempts || ctx.signal?.aborted) throw error;
      const delay = retryDelayMs(error, attempt, ctx.retry);
      report.retries++;
      if (error instanceof RateLimitError) {
        report.rateLimitWaits++;
        report.rateLimitWaitMs += delay;
      }
      ctx.logger.warn('call failed; discarded its rows and retrying with the same cursor', {
        table: ctx.spec.destinationTable,
        attempt,
        delayMs: delay,
        code: isConnectorError(error) ? error.code : 'UNKNOWN',
        error: error instanceof Error ? error.message : String(error),
      });
      await sleep(delay, ctx.signal);
    }
  }
}

/** Commit the call's files (after merging for cdc), publish them, move the state. */
async function commitCall(ctx: TableRunContext, p: Plan, paths: TablePaths, version: number, callIndex: number, cursorBefore: Cursor, result: CallResult, report: TableReport): Promise<void> {
  let add = result.files;
  let remove: string[] = [];
  let operation: Operation = 'APPEND';
  const dataDir = stagedDataDir(paths, version);
  if (p.ingestion === 'snapshot') {
    operation = 'REPLACE';
    remove = await liveFiles(paths);
    if (p.keys.length > 0) {
      report.snapshotDiff = await diffSnapshots(
        remove.map((r) => path.join(paths.tableDir, r)),
        add.map((f) => f.absPath),
        p.keys,
        snapshotGroupColumn(p.tableSchema, p.keys),
      );
    }
  } else if (p.ingestion === 'cdc' && result.files.length > 0) {
    operation = 'MERGE';
    const writer = new PartitionedWriter({
      baseDir: dataDir,
      prefix: `part-${pad(version)}`,
      keyValueMetadata: fileMetadata(ctx, p, version, cursorBefore),
      faults: ctx.faults,
      firstIndex: result.nextFileIndex,
      ...(p.partitionBy !== undefined ? { partitionBy: p.partitionBy } : {}),
    });
    const common = {
      incoming: result.files,
      live: await liveFiles(paths),
      tableDir: paths.tableDir,
      keys: p.keys,
      sequenceBy: p.sequenceBy,
      outputSchema: p.outputSchema,
      dataDir,
      writer,
      ...(p.partitionBy !== undefined ? { partitionBy: p.partitionBy } : {}),
    };
    let merged;
    try {
      merged =
        result.index !== undefined
          ? await mergeScd1Indexed({ ...common, index: result.index })
          : await mergeCdc({ ...common, table: ctx.spec.destinationTable, scd2: p.scd2 });
    } catch (error) {
      await writer.abort();
      throw error;
    }
    add = merged.add;
    remove = merged.remove;
    report.rowsMerged += merged.rowsMerged;
  }
  const record: CommitRecord = {
    format: 1,
    version,
    timestamp: new Date().toISOString(),
    operation,
    txn: { appId: APP_ID, runId: ctx.runId, call: callIndex },
    sourceTable: ctx.spec.sourceTable,
    cursorBefore,
    cursor: result.cursor,
    add: add.map((f) => ({ path: f.relPath, rows: f.rows, bytes: f.bytes, partitionValues: f.partitionValues })),
    remove: remove.map((r) => ({ path: r })),
    schema: columnSignatures(p.outputSchema),
  };
  await writeCommit(paths, record, ctx.faults);
  await publish(paths, record, ctx.faults);
  await writeState(ctx.stateDir, {
    format: 1,
    table: ctx.spec.destinationTable,
    sourceTable: ctx.spec.sourceTable,
    version,
    cursor: result.cursor,
    updatedAt: record.timestamp,
    runId: ctx.runId,
  });
  ctx.faults.check('state');
  await clearStaging(paths);
  report.commits++;
  report.filesAdded += add.length;
  report.filesRemoved += remove.length;
  report.rowsWritten += add.reduce((n, f) => n + f.rows, 0);
  report.bytesWritten += add.reduce((n, f) => n + f.bytes, 0);
  report.versionAfter = version;
  report.cursorAfter = result.cursor;
  ctx.logger.debug('committed', { table: ctx.spec.destinationTable, version, operation, rows: result.rows, filesAdded: add.length, filesRemoved: remove.length });
}

function errnoCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** One line for the report and the log; file-system errors name the fix. */
function describeError(error: unknown, lakehouseDir: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectorError(error)) return message;
  const code = errnoCode(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return `disk full while writing (${message}); free space under ${lakehouseDir} and re-run: the previous table files and cursor are intact`;
  }
  if (code !== undefined) return `write failed (${message}); fix the file system problem and re-run: the previous table files and cursor are intact`;
  return message;
}

export async function runTable(ctx: TableRunContext): Promise<TableReport> {
  const started = Date.now();
  const table = ctx.spec.destinationTable;
  const report = newTableReport(table, ctx.spec.sourceTable);
  const stats = emptyReadStats();
  const paths = tablePaths(ctx.lakehouseDir, table);
  ctx.progress.tableStarted(table);
  try {
    let { version, cursor } = await recover(ctx, paths, report);
    if (ctx.fullRefresh) {
      await dropTable(ctx, paths);
      ctx.logger.info('full refresh: dropped the table and its cursor', { table });
      version = -1;
      cursor = null;
    }
    report.versionBefore = version;
    report.versionAfter = version;
    report.cursorBefore = cursor;
    report.cursorAfter = cursor;
    const p = await plan(ctx);
    await checkSchemaUnchanged(ctx, p, paths, version);
    report.ingestionType = p.ingestion;
    report.scdType = p.scd2 ? 'SCD_TYPE_2' : p.ingestion === 'append' ? 'APPEND_ONLY' : 'SCD_TYPE_1';
    const progressBase = { rows: 0, bytes: 0 };
    for (let call = 0; ; call++) {
      ctx.signal?.throwIfAborted();
      if (call >= MAX_CALLS_PER_TABLE) {
        throw new DataError(`${ctx.source.name}.${ctx.spec.sourceTable} did not converge after ${MAX_CALLS_PER_TABLE} calls (its cursor keeps changing); fix the source so a caught-up call returns its input cursor`, {
          code: 'RUNNER_CURSOR_DID_NOT_CONVERGE',
          context: { table },
        });
      }
      const from = p.ingestion === 'snapshot' ? null : cursor;
      const result = await readCallWithRetry(ctx, p, paths, version + 1, from, stats, report, progressBase);
      report.rowsRead += result.rows;
      progressBase.rows += result.rows;
      if (p.ingestion !== 'snapshot' && cursorsEqual(result.cursor, from)) {
        if (result.batches > 0) {
          await clearStaging(paths);
          throw new DataError(`${ctx.source.name}.${ctx.spec.sourceTable} returned rows with an unchanged cursor (SPARK-55416); the source must advance its cursor when it yields rows`, {
            code: 'RUNNER_CURSOR_DID_NOT_ADVANCE',
            context: { table },
          });
        }
        await clearStaging(paths);
        break;
      }
      await commitCall(ctx, p, paths, version + 1, call, from, result, report);
      progressBase.bytes = report.bytesWritten;
      version += 1;
      cursor = result.cursor;
      if (p.ingestion === 'snapshot') break;
    }
  } catch (error) {
    await clearStaging(paths).catch(() => {});
    const connector = isConnectorError(error);
    const message = describeError(error, ctx.lakehouseDir);
    if (error instanceof NotEntitledError) {
      report.status = 'skipped';
      report.warnings.push(`${table} skipped: ${message}`);
      ctx.logger.warn('table skipped: not entitled', { table, code: error.code, error: message });
    } else {
      report.status = 'failed';
      ctx.logger.error('table failed; its committed data and cursor are unchanged', { table, code: connector ? error.code : 'UNEXPECTED', error: message });
    }
    report.error = { code: connector ? error.code : errnoCode(error) ?? 'UNEXPECTED', kind: connector ? error.kind : 'internal', message };
  }
  report.apiCalls = stats.apiCalls;
  report.retries += stats.retries;
  report.rateLimitWaits += stats.rateLimitWaits;
  report.rateLimitWaitMs += stats.rateLimitWaitMs;
  report.warnings.push(...stats.warnings);
  report.counters = { ...stats.counters };
  report.durationMs = Date.now() - started;
  ctx.progress.tableFinished(table, report.status);
  return report;
}
