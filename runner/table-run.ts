/**
 * One table of a run, on a Delta table: check the snapshot (ours, writable, no lost files, columns that fit),
 * take the cursor from the table's log, then drive the source call by call. Each call's rows become new data
 * files — after the merge decided which rows win, for cdc — and one Delta commit adds them, removes the files
 * they replace, and records `txn {appId: <connection>/<table>, version}` with the source cursor in its
 * commitInfo: data and cursor move together or not at all. A call that throws is discarded and, if retryable,
 * called again with the same cursor.
 */
import path from 'node:path';
import {
  CallTooLargeError,
  ConfigError,
  DataError,
  MAX_RESIZES_PER_CALL,
  NotEntitledError,
  RateLimitError,
  cursorsEqual,
  emptyReadStats,
  isConnectorError,
  type Cursor,
  type LakeflowSource,
  type Logger,
  type ReadStats,
} from '../connector-spec/index.js';
import { CommitConflictError, type AddFile, type CommitRequest, type DeltaTable, type EncodeOn, type Lakehouse, type NewMetadata, type ObjectStore } from '../lakehouse/index.js';
import { mergeCdc, type CdcMergeInput } from './cdc-merge.js';
import { mergeHistory } from './cdc-history.js';
import { useEarlyFiles } from './early-write.js';
import type { FaultInjector } from './faults.js';
import { liveRowsOf } from './live-rows.js';
import { convertLegacyTable } from './legacy-convert.js';
import type { TableSpec } from './pipeline-spec.js';
import type { ProgressReporter } from './progress.js';
import { newTableReport, type TableReport } from './report.js';
import { isRetryable, retryDelayMs, sleep, type RetryPolicy } from './retry.js';
import { diffSnapshots, snapshotGroupColumn } from './snapshot-diff.js';
import { discardCall, readCall, type CallOutput } from './table-call.js';
import { TableDataWriter, discardDataFile } from './table-data-writer.js';
import { appIdOf, ownerConfiguration } from './table-owner.js';
import { freshReadReach, historyBeyondReach, historyDropError } from './preflight.js';
import { planTable, scdTypeOf, type Plan } from './table-plan.js';
import { loadTableState, ownerOf, type TableState } from './table-state.js';
import { DeferredError, describeRunError, errnoCode } from './run-errors.js';
import { dueAt } from './schedule.js';

/** A source whose cursor never converges would loop forever; stop it with a clear error instead. */
export const MAX_CALLS_PER_TABLE = 100_000;
/** Lost commit races (a concurrent writer's commit touching what this call read) retried before giving up. */
const MAX_CONFLICT_RETRIES = 5;

export interface TableRunContext {
  readonly source: LakeflowSource;
  readonly spec: TableSpec;
  readonly connectionName: string;
  readonly lakehouse: Lakehouse;
  /** A local folder for staging calls (never part of a table). */
  readonly stagingRoot: string;
  /** Bytes of a call's rows held in memory before spilling (`CallStaging`; default its own). */
  readonly stagingMemoryBytes?: number;
  /** Encoder workers of a big cdc merge that rewrites no live file (`RunPipelineOptions.mergeEncoders`; default 1). */
  readonly mergeEncoders?: 1 | 2;
  /** Staged rows from which `mergeEncoders` applies (default LANES_FROM_ROWS). */
  readonly mergeLanesFromRows?: number;
  readonly logger: Logger;
  readonly progress: ProgressReporter;
  readonly retry: RetryPolicy;
  readonly faults: FaultInjector;
  readonly runId: string;
  readonly fullRefresh: boolean;
  /** `--drop-history`: a full refresh may drop rows older than what a fresh read re-reads. */
  readonly dropHistory: boolean;
  /** `repair`: re-read what lost files held instead of stopping. */
  readonly repair: boolean;
  /** `migrate`: convert an earlier release's table, then stop (nothing read from the source). */
  readonly convertOnly?: boolean;
  /** Graceful stop (SIGTERM/SIGINT): no new call starts, an uncommitted call is discarded. */
  readonly stop?: AbortSignal;
  /** Epoch ms no wait may end after (`--max-wait`). */
  readonly deadline?: number;
  readonly now: () => number;
  /** The folder of a local lakehouse (tables of earlier releases are converted there); undefined for object stores. */
  readonly localDir: string | undefined;
  /** When this table last ran to completion (the schedule file), for `every`. */
  readonly lastRunMs: number | undefined;
}

function metadataFor(ctx: TableRunContext, p: Plan): NewMetadata {
  return {
    schema: p.outputSchema,
    partitionColumns: p.partitionBy !== undefined ? [p.partitionBy] : [],
    configuration: ownerConfiguration(ownerOf(ctx, p)),
    name: ctx.spec.destinationTable,
    description: `${ctx.source.name}.${ctx.spec.sourceTable} (${scdTypeOf(p)}), written by mixpanel-lakeflow`,
  };
}

function statsColumnsOf(p: Plan): string[] {
  return [...new Set([...p.keys, ...p.sequenceBy, ...(p.cursorField !== undefined ? [p.cursorField] : [])])];
}

function kvMetadata(ctx: TableRunContext, p: Plan): Map<string, string> {
  const kv = new Map<string, string>();
  for (const [k, v] of p.outputSchema.metadata) if (k.startsWith('lakeflow.')) kv.set(k, v);
  kv.set('lakeflow.table', ctx.spec.destinationTable);
  kv.set('lakeflow.source_table', ctx.spec.sourceTable);
  kv.set('lakeflow.scd_type', scdTypeOf(p));
  kv.set('lakeflow.run_id', ctx.runId);
  return kv;
}

async function deleteFiles(store: ObjectStore, table: DeltaTable, files: readonly AddFile[]): Promise<void> {
  for (const file of files) await discardDataFile(store, table, file).catch(() => {});
}

/** The call loop's view of one table. */
class TableRun {
  readonly report: TableReport;
  readonly stats: ReadStats = emptyReadStats();
  readonly table: DeltaTable;
  readonly appId: string;
  state!: TableState;
  p!: Plan;
  #rowsBase = 0;
  /** Commits that reached the log (counted before anything after them can throw). */
  #landed = 0;

  constructor(readonly ctx: TableRunContext) {
    this.report = newTableReport(ctx.spec.destinationTable, ctx.spec.sourceTable);
    this.table = ctx.lakehouse.table(ctx.spec.destinationTable);
    this.appId = appIdOf(ctx.connectionName, ctx.spec.destinationTable);
  }

  get name(): string {
    return this.ctx.spec.destinationTable;
  }

  /**
   * A writer of new data files. `encodeOn`: `'worker'` while the call is still reading (the encoding overlaps the
   * read), and for the lanes of a big merge that rewrites nothing (`encoderSlot`: which worker); `'calling-thread'` for
   * the other merges, which read live rows back through this thread's WebAssembly heap: one heap instead of two.
   */
  writer(schema = this.p.outputSchema, encodeOn: EncodeOn = 'worker', encoderSlot?: number): TableDataWriter {
    return new TableDataWriter({
      encodeOn,
      ...(encoderSlot !== undefined ? { encoderSlot } : {}),
      table: this.table,
      schema,
      statsColumns: statsColumnsOf(this.p),
      keyValueMetadata: kvMetadata(this.ctx, this.p),
      discard: (file) => discardDataFile(this.ctx.lakehouse.store, this.table, file),
      ...(this.p.partitionBy !== undefined ? { partitionBy: this.p.partitionBy } : {}),
    });
  }

  /** The cdc merge's lanes: `mergeEncoders` encoder workers (default one) for a big merge that rewrites no file. */
  private mergeLanes(): Pick<CdcMergeInput, 'lanes' | 'lanesFromRows'> {
    const count = this.ctx.mergeEncoders ?? 1;
    return {
      lanes: () => Array.from({ length: count }, (_, slot) => this.writer(undefined, 'worker', slot)),
      ...(this.ctx.mergeLanesFromRows !== undefined ? { lanesFromRows: this.ctx.mergeLanesFromRows } : {}),
    };
  }

  async reload(options: { readonly repairing?: boolean } = {}) {
    const loaded = await loadTableState(this.ctx, this.p, this.table, this.appId, this.report, options);
    this.state = loaded.state;
    return loaded.problems;
  }

  /** Commit adds/removes with the txn and the cursor; throws CommitConflictError on a lost race it cannot retry. */
  async commit(request: Omit<CommitRequest, 'readVersion' | 'txn'> & { readonly cursor: Cursor; readonly cursorBefore: Cursor; readonly call: number }): Promise<void> {
    const { cursor, cursorBefore, call, ...rest } = request;
    const needsMetadata = this.state.snapshot === undefined || this.state.schemaChange.kind !== 'same' || rest.metadata !== undefined;
    const result = await this.table.commit({
      ...rest,
      readVersion: this.state.snapshot?.version ?? -1,
      txn: { appId: this.appId, version: this.state.txnVersion + 1 },
      info: { cursor, cursorBefore, runId: this.ctx.runId, call, source: this.ctx.source.name, sourceTable: this.ctx.spec.sourceTable, ...(rest.info ?? {}) },
      ...(needsMetadata ? { metadata: rest.metadata ?? metadataFor(this.ctx, this.p) } : {}),
    });
    this.#landed++;
    this.ctx.faults.check('committed');
    this.report.commits++;
    this.report.versionAfter = result.version;
    this.report.cursorAfter = cursor;
    if (result.racesLost > 0) this.report.warnings.push(`${this.name}: ${result.racesLost} concurrent commit(s) landed first; this commit went in after them (version ${result.version})`);
    await this.reload();
  }

  progress(rows: number, slices: { done?: number; total?: number; budget?: number }): void {
    if (slices.budget !== undefined) this.report.apiBudgetLeft = slices.budget;
    this.ctx.progress.update(this.name, {
      rows: this.#rowsBase + rows,
      bytes: this.report.bytesWritten,
      calls: this.report.calls,
      ...(slices.done !== undefined ? { slicesDone: slices.done } : {}),
      ...(slices.total !== undefined ? { slicesTotal: slices.total } : {}),
      ...(slices.budget !== undefined ? { apiBudgetLeft: slices.budget } : {}),
    });
  }

  /** One readTable call, retried on retryable errors with the same cursor; never waits past the deadline. */
  async readWithRetry(from: Cursor) {
    const signal = this.ctx.stop ?? new AbortController().signal;
    let resized = 0;
    for (let attempt = 1; ; attempt++) {
      this.report.calls++;
      try {
        return await readCall({
          ctx: this.ctx,
          plan: this.p,
          table: this.table,
          cursor: from,
          stats: this.stats,
          liveRows: this.state.snapshot ? liveRowsOf(this.table, this.state.snapshot.files) : undefined,
          stagingDir: path.join(this.ctx.stagingRoot, this.name),
          ...(this.ctx.stagingMemoryBytes !== undefined ? { stagingMemoryBytes: this.ctx.stagingMemoryBytes } : {}),
          faults: this.ctx.faults,
          signal,
          writerFor: () => this.writer(this.p.tableSchema),
          ...(this.writesWhileReading() ? { earlyWriter: () => this.writer(undefined, 'worker', 0) } : {}),
          onRows: (rows, slices) => this.progress(rows, slices),
        });
      } catch (error) {
        if (this.ctx.stop?.aborted) throw error;
        if (error instanceof CallTooLargeError && resized < MAX_RESIZES_PER_CALL) {
          // The source re-planned the same cursor smaller: read again now, not counted as a failed attempt.
          resized++;
          attempt--;
          this.report.retries++;
          this.ctx.logger.warn('call read more rows than its source allows in one call; discarded its rows and reading again with a smaller plan', {
            table: this.name,
            code: error.code,
            error: error.message,
          });
          continue;
        }
        if (!isRetryable(error) || attempt >= this.ctx.retry.attempts) throw error;
        const delay = retryDelayMs(error, attempt, this.ctx.retry);
        const retryAt = this.ctx.now() + delay;
        if (this.ctx.deadline !== undefined && retryAt > this.ctx.deadline) {
          throw new DeferredError(`${this.name}: ${error instanceof Error ? error.message : String(error)}; the next try is due at ${new Date(retryAt).toISOString()}, after --max-wait`, retryAt, error);
        }
        this.report.retries++;
        if (error instanceof RateLimitError) {
          this.report.rateLimitWaits++;
          this.report.rateLimitWaitMs += delay;
        }
        this.ctx.logger.warn('call failed; discarded its rows and retrying with the same cursor', {
          table: this.name,
          attempt,
          delayMs: delay,
          code: isConnectorError(error) ? error.code : 'UNKNOWN',
          error: error instanceof Error ? error.message : String(error),
        });
        await sleep(delay, this.ctx.stop);
      }
    }
  }

  /**
   * Whether a cdc call is encoded while it is read (early-write.ts): SCD type 1, no partitions (one open file; a
   * partitioned call would hold one per partition), and a table with no live file (nothing a merge could rewrite).
   */
  private writesWhileReading(): boolean {
    const p = this.p;
    return p.ingestion === 'cdc' && !p.scd2 && p.partitionBy === undefined && (this.state.snapshot?.files.length ?? 0) === 0;
  }

  /** Decide a call's rows (merge for cdc) and commit them with the cursor. Returns false if a concurrent run took over. */
  async commitCall(output: CallOutput, from: Cursor, call: number): Promise<'committed' | 'retry' | 'superseded'> {
    const p = this.p;
    const snapshot = this.state.snapshot;
    const live = snapshot?.files ?? [];
    let add: AddFile[];
    let remove: AddFile[] = [];
    let readPartitions: string[] | undefined;
    let operation: string;
    let writer: TableDataWriter | undefined;
    try {
      if (output.kind === 'written') {
        add = output.files;
        if (p.ingestion === 'snapshot') {
          remove = [...live];
          operation = snapshot ? 'REPLACE' : 'CREATE TABLE';
          const group = snapshotGroupColumn(p.tableSchema, p.keys);
          this.report.snapshotDiff = await diffSnapshots(this.table, remove, add, p.keys, group, p.tableSchema);
        } else operation = snapshot ? 'WRITE' : 'CREATE TABLE';
      } else if (output.early !== undefined && output.index !== undefined && useEarlyFiles(live.length, output.index)) {
        // (An early writer exists only for what `writesWhileReading` allows: SCD type 1, no partitions.)
        // Encoded while read, and the merge would not change a row: those files are the call's.
        writer = output.early;
        add = await output.early.close();
        await output.staging.dispose();
        readPartitions = [''];
        const counters = this.stats.counters;
        counters['cdc_calls_written_while_read'] = (counters['cdc_calls_written_while_read'] ?? 0) + 1;
        operation = snapshot ? 'MERGE' : 'CREATE TABLE';
      } else {
        await output.early?.abort(); // the call holds a key twice, or the table has files now: merged as before
        writer = this.writer(undefined, 'calling-thread');
        const common = { table: this.table, live, staging: output.staging, keys: p.keys, sequenceBy: p.sequenceBy, writer, ...(p.partitionBy !== undefined ? { partitionBy: p.partitionBy } : {}), ...(this.ctx.stop ? { signal: this.ctx.stop } : {}) };
        const merged = p.scd2 ? await mergeHistory({ ...common, sourceSchema: p.tableSchema, outputSchema: p.outputSchema }) : await mergeCdc({ ...common, index: output.index!, schema: p.tableSchema, ...this.mergeLanes(), ...(output.keyRange && p.keyDerivedFrom ? { keyRange: { range: output.keyRange, granularity: p.keyDerivedFrom.granularity } } : {}) });
        await output.staging.dispose();
        add = merged.add;
        remove = merged.remove;
        readPartitions = merged.readPartitions;
        this.report.rowsMerged += merged.rowsMerged;
        if ('keyFilesRead' in merged) {
          // Live files whose keys the merge looked up, and those their stats ruled out (keyDerivedFrom).
          const counters = this.stats.counters;
          counters['merge_files_keys_read'] = (counters['merge_files_keys_read'] ?? 0) + merged.keyFilesRead;
          counters['merge_files_skipped_by_stats'] = (counters['merge_files_skipped_by_stats'] ?? 0) + merged.keyFilesSkipped;
        }
        operation = snapshot ? 'MERGE' : 'CREATE TABLE';
      }
    } catch (error) {
      await discardCall(output, writer);
      throw error;
    }
    this.ctx.faults.check('written');
    if (this.ctx.stop?.aborted) {
      await deleteFiles(this.ctx.lakehouse.store, this.table, add);
      return 'superseded';
    }
    const landed = this.#landed;
    try {
      await this.commit({ operation, add, remove, cursor: output.cursor, cursorBefore: from, call, ...(readPartitions ? { readPartitions } : {}) });
    } catch (error) {
      // An error after the commit reached the log (re-reading the snapshot, a transient store error) must not delete
      // the files that commit made live: the table would reference missing files.
      if (this.#landed !== landed) throw error;
      await deleteFiles(this.ctx.lakehouse.store, this.table, add);
      if (error instanceof CommitConflictError) {
        this.ctx.logger.warn('lost a commit race; the call is discarded', { table: this.name, reason: error.reason, error: error.message });
        await this.reload();
        return error.reason === 'txn' ? 'superseded' : 'retry';
      }
      throw error;
    }
    this.report.filesAdded += add.length;
    this.report.filesRemoved += remove.length;
    this.report.rowsWritten += add.reduce((n, f) => n + (f.numRecords ?? 0), 0);
    this.report.bytesWritten += add.reduce((n, f) => n + f.size, 0);
    return 'committed';
  }

  /** `--full-refresh`: one commit removes every live file and resets the cursor (refused if it would drop history a fresh read cannot bring back). */
  async truncate(): Promise<void> {
    const snapshot = this.state.snapshot;
    if (!snapshot) return;
    if (!this.ctx.dropHistory) {
      const problem = historyDropError(snapshot, this.p, this.name);
      if (problem !== undefined) throw problem;
    }
    const dropped = historyBeyondReach(snapshot, this.p);
    await this.commit({ operation: 'TRUNCATE', add: [], remove: [...snapshot.files], cursor: null, cursorBefore: this.state.cursor, call: -1, metadata: metadataFor(this.ctx, this.p), info: { fullRefresh: true } });
    this.report.filesRemoved += snapshot.files.length;
    this.report.warnings.push(
      `${this.name}: full refresh re-reads from ${freshReadReach(this.p)}${dropped !== undefined ? `; --drop-history dropped ${dropped.rows} row(s) dated before it` : ''}`,
    );
    this.ctx.logger.info('full refresh: removed every live file and reset the cursor in one commit', { table: this.name, filesRemoved: snapshot.files.length });
  }

  /** `repair`: remove the lost files in one commit, with a cursor that re-reads what they held. */
  async repairLost(problems: Awaited<ReturnType<TableRun['reload']>>): Promise<void> {
    const snapshot = this.state.snapshot;
    if (!snapshot || problems.length === 0) return;
    if (this.p.ingestion === 'append') {
      throw new ConfigError(`repair ${this.name}: an append table cannot re-read lost rows without doubling others; rebuild it with: mixpanel-lakeflow run --full-refresh ${this.name}`, {
        code: 'RUNNER_REPAIR_APPEND',
        context: { table: this.name },
      });
    }
    const lost = new Set(problems.map((f) => f.path));
    const remove = snapshot.files.filter((f) => lost.has(f.path));
    const values = this.p.partitionBy === undefined ? [] : remove.map((f) => f.partitionValues[this.p.partitionBy!] ?? null);
    const partitions = [...new Set(values.filter((v): v is string => v !== null))];
    // A lost file of the null partition cannot be targeted by value: read from the start instead.
    const targetable = this.p.partitionBy !== undefined && partitions.length > 0 && values.every((v) => v !== null);
    let cursor: Cursor = null;
    const reread = targetable && this.ctx.source.rereadCursor ? this.ctx.source.rereadCursor(this.ctx.spec.sourceTable, this.state.cursor, { column: this.p.partitionBy!, values: partitions }, { tableOptions: this.ctx.spec.tableOptions }) : undefined;
    if (reread !== undefined) cursor = reread;
    await this.commit({ operation: 'DELETE', add: [], remove, cursor, cursorBefore: this.state.cursor, call: -1, info: { repair: problems.map((f) => f.path) } });
    this.report.filesRemoved += remove.length;
    this.report.warnings.push(
      `${this.name}: repair removed ${remove.length} lost file(s) from the log and re-reads ${reread !== undefined ? `${this.p.partitionBy} ${partitions.join(', ')}` : 'from the start (rows still present merge by key)'}`,
    );
  }

  async run(): Promise<void> {
    const { ctx } = this;
    this.p = await planTable(ctx.source, ctx.spec);
    this.report.ingestionType = this.p.ingestion;
    this.report.scdType = scdTypeOf(this.p);
    const converted = await convertLegacyTable({
      localDir: ctx.localDir,
      store: ctx.lakehouse.store,
      table: this.table,
      name: this.name,
      appId: this.appId,
      runId: ctx.runId,
      logger: ctx.logger,
      metadata: metadataFor(ctx, this.p),
      schema: this.p.outputSchema,
      writer: () => this.writer(),
      faults: ctx.faults,
    });
    if (converted === 'converted') this.report.warnings.push(`${this.name}: converted the table of an earlier release to Delta Lake (its rows and cursor kept; nothing read again)`);
    if (ctx.convertOnly) {
      const snapshot = await this.table.snapshot();
      this.report.versionBefore = this.report.versionAfter = snapshot?.version ?? -1;
      this.report.filesAdded = converted === 'converted' ? (snapshot?.files.length ?? 0) : 0;
      this.report.rowsWritten = converted === 'converted' ? (snapshot?.files ?? []).reduce((n, f) => n + (f.numRecords ?? 0), 0) : 0;
      return;
    }
    // A full refresh removes every live file, lost ones included: lost files do not stop it.
    const problems = await this.reload({ repairing: ctx.repair || ctx.fullRefresh });
    const every = ctx.spec.everyMs;
    if (every !== undefined && !ctx.fullRefresh && !ctx.repair) {
      const last = Math.max(ctx.lastRunMs ?? Number.NEGATIVE_INFINITY, this.state.lastCommitMs ?? Number.NEGATIVE_INFINITY);
      const due = dueAt(Number.isFinite(last) ? last : undefined, every);
      if (ctx.now() < due) {
        this.report.status = 'not-due';
        this.report.retryAt = new Date(due).toISOString();
        return;
      }
    }
    this.report.versionBefore = this.state.snapshot?.version ?? -1;
    this.report.versionAfter = this.report.versionBefore;
    this.report.cursorBefore = this.state.cursor;
    this.report.cursorAfter = this.state.cursor;
    if (ctx.repair) await this.repairLost(problems);
    if (ctx.fullRefresh) await this.truncate();
    this.report.cursorBefore = this.state.cursor;
    let conflicts = 0;
    for (let call = 0; ; call++) {
      if (ctx.stop?.aborted) {
        this.report.status = 'stopped';
        return;
      }
      if (call >= MAX_CALLS_PER_TABLE) {
        throw new DataError(`${ctx.source.name}.${ctx.spec.sourceTable} did not converge after ${MAX_CALLS_PER_TABLE} calls (its cursor keeps changing); fix the source so a caught-up call returns its input cursor`, {
          code: 'RUNNER_CURSOR_DID_NOT_CONVERGE',
          context: { table: this.name },
        });
      }
      const from = this.p.ingestion === 'snapshot' ? null : this.state.cursor;
      const { output, writer } = await this.readWithRetry(from);
      this.report.rowsRead += output.rows;
      this.#rowsBase += output.rows;
      if (this.p.ingestion !== 'snapshot' && cursorsEqual(output.cursor, from)) {
        await discardCall(output, writer);
        if (output.batches > 0) {
          throw new DataError(`${ctx.source.name}.${ctx.spec.sourceTable} returned rows with an unchanged cursor (SPARK-55416); the source must advance its cursor when it yields rows`, {
            code: 'RUNNER_CURSOR_DID_NOT_ADVANCE',
            context: { table: this.name },
          });
        }
        return;
      }
      const outcome = await this.commitCall(output, from, call);
      if (outcome === 'superseded') {
        if (ctx.stop?.aborted) {
          this.report.status = 'stopped';
          return;
        }
        this.report.status = 'deferred';
        this.report.warnings.push(`${this.name}: another run of connection ${ctx.connectionName} committed this table meanwhile; this run stopped the table and left it to that run`);
        return;
      }
      if (outcome === 'retry') {
        if (++conflicts > MAX_CONFLICT_RETRIES) {
          throw new DataError(`${this.name}: lost ${conflicts} commit races in a row to other writers of ${ctx.lakehouse.displayUrl}/${this.name}; make one writer own the table`, { code: 'RUNNER_COMMIT_CONFLICTS', context: { table: this.name } });
        }
        continue;
      }
      conflicts = 0;
      if (this.p.ingestion === 'snapshot') return;
    }
  }
}

export async function runTable(ctx: TableRunContext): Promise<TableReport> {
  const started = ctx.now();
  const run = new TableRun(ctx);
  const { report, stats } = run;
  const table = ctx.spec.destinationTable;
  ctx.progress.tableStarted(table);
  try {
    await run.run();
  } catch (error) {
    const message = describeRunError(error, { lakehouse: ctx.lakehouse.displayUrl, table, tempDir: ctx.stagingRoot });
    if (error instanceof DeferredError) {
      report.status = 'deferred';
      report.retryAt = new Date(error.retryAt).toISOString();
      report.warnings.push(message);
      ctx.logger.warn('table deferred: the next try is due after --max-wait; committed work is kept', { table, retryAt: report.retryAt });
    } else if (ctx.stop?.aborted) {
      report.status = 'stopped';
      ctx.logger.warn('table stopped: the uncommitted call was discarded; committed work is kept', { table });
    } else if (error instanceof NotEntitledError) {
      report.status = 'skipped';
      report.missing.push(`${table} skipped: ${message}`);
      ctx.logger.warn('table skipped: not entitled', { table, code: error.code, error: message });
    } else {
      report.status = 'failed';
      ctx.logger.error('table failed; its committed data and cursor are unchanged', { table, code: isConnectorError(error) ? error.code : errnoCode(error) ?? 'UNEXPECTED', error: message });
    }
    if (report.status === 'failed' || report.status === 'skipped') {
      report.error = { code: isConnectorError(error) ? error.code : errnoCode(error) ?? 'UNEXPECTED', kind: isConnectorError(error) ? error.kind : 'internal', message };
    }
  }
  report.apiCalls = stats.apiCalls;
  report.retries += stats.retries;
  report.rateLimitWaits += stats.rateLimitWaits;
  report.rateLimitWaitMs += stats.rateLimitWaitMs;
  report.warnings.push(...stats.warnings);
  report.missing.push(...stats.missing);
  report.counters = { ...stats.counters };
  report.durationMs = ctx.now() - started;
  ctx.progress.tableFinished(table, report.status === 'ok' ? 'ok' : report.status === 'failed' ? 'failed' : 'skipped');
  return report;
}
