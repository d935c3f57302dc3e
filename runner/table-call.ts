/**
 * One `readTable` call of a table run: drive the source's generator, check every batch against the planned
 * schema, and hold the call's rows until they are committed. cdc calls are staged (`CallStaging`, their keys
 * hashed into a `KeyHashIndex`) because their merge is decided after the call ended; append and snapshot calls
 * stream straight into new data files, which stay invisible until their commit. A call that throws leaves
 * nothing behind: staged rows are dropped and its data files deleted.
 */
import path from 'node:path';
import { RecordBatch } from 'apache-arrow';
import { DataError, type Cursor, type LiveRows, type ReadStats } from '../connector-spec/index.js';
import { ColumnRange, type AddFile, type DeltaTable } from '../lakehouse/index.js';
import { CallStaging } from './call-staging.js';
import { MAX_FILE_ROWS } from './cdc-merge.js';
import { EarlyWrite } from './early-write.js';
import type { FaultInjector } from './faults.js';
import { KeyHashIndex, hashKeys } from './key-index.js';
import type { Plan } from './table-plan.js';
import { TableDataWriter } from './table-data-writer.js';
import type { TableRunContext } from './table-run.js';

export interface StagedCall {
  readonly kind: 'staged';
  readonly staging: CallStaging;
  /** SCD type 1: hashes of every staged row's key. */
  readonly index?: KeyHashIndex;
  /** SCD type 1 with the source's `keyDerivedFrom`: the staged rows' range of that column (files beyond it are skipped). */
  readonly keyRange?: ColumnRange;
  readonly rows: number;
  readonly batches: number;
  readonly cursor: Cursor;
  /** The call's rows already encoded while it was read (`CallInput.earlyWriter`), when it started. */
  readonly early?: TableDataWriter;
}

export interface WrittenCall {
  readonly kind: 'written';
  readonly files: AddFile[];
  readonly rows: number;
  readonly batches: number;
  readonly cursor: Cursor;
}

export type CallOutput = StagedCall | WrittenCall;

export interface CallInput {
  readonly ctx: TableRunContext;
  readonly plan: Plan;
  readonly table: DeltaTable;
  readonly cursor: Cursor;
  readonly stats: ReadStats;
  readonly liveRows: LiveRows | undefined;
  readonly stagingDir: string;
  /** Bytes of the call's rows held in memory before spilling (default `STAGING_MEMORY_BYTES`). */
  readonly stagingMemoryBytes?: number;
  readonly faults: FaultInjector;
  /** Aborts the read (graceful stop, deadline). */
  readonly signal: AbortSignal;
  readonly writerFor: () => TableDataWriter;
  /**
   * cdc only: the writer of files encoded while the call is read (early-write.ts), when the merge cannot change its
   * rows unless the call holds a key twice (the table has no live file and no partitions). Its files are committed
   * instead of a merge's only if that holds at the commit (`useEarlyFiles`); otherwise they are deleted.
   */
  readonly earlyWriter?: () => TableDataWriter;
  readonly onRows: (rows: number, slices: { done?: number; total?: number; budget?: number }) => void;
}

function schemaSignature(fields: readonly { readonly name: string; readonly type: unknown }[]): string {
  return fields.map((f) => `${f.name}:${String(f.type)}`).join(',');
}

/** Drop a call's output (a failed or superseded call): its staged rows, and every data file `writer` wrote. */
export async function discardCall(output: CallOutput, writer: TableDataWriter | undefined): Promise<void> {
  if (output.kind === 'staged') {
    await output.staging.dispose();
    await output.early?.abort();
  }
  await writer?.abort();
}

export async function readCall(input: CallInput): Promise<{ output: CallOutput; writer?: TableDataWriter }> {
  const { ctx, plan: p, signal } = input;
  const expected = schemaSignature(p.tableSchema.fields);
  const staged = p.ingestion === 'cdc';
  const staging = staged
    ? new CallStaging({ dir: path.join(input.stagingDir, `call-${process.pid}-${Date.now().toString(36)}`), schema: p.tableSchema, ...(p.partitionBy !== undefined ? { partitionBy: p.partitionBy } : {}), ...(input.stagingMemoryBytes !== undefined ? { memoryBytes: input.stagingMemoryBytes } : {}) })
    : undefined;
  const index = staged && !p.scd2 ? new KeyHashIndex() : undefined;
  const rangeAt = index && p.keyDerivedFrom ? p.tableSchema.fields.findIndex((f) => f.name === p.keyDerivedFrom!.column) : -1;
  const keyRange = rangeAt >= 0 ? new ColumnRange(p.tableSchema.fields[rangeAt]!) : undefined;
  const writer = staged ? undefined : input.writerFor();
  const early = staged && input.earlyWriter ? new EarlyWrite(input.earlyWriter, MAX_FILE_ROWS) : undefined;
  let rows = 0;
  let batches = 0;
  let slices: { done?: number; total?: number; budget?: number } = {};
  const generator = ctx.source.readTable(ctx.spec.sourceTable, input.cursor, {
    tableOptions: ctx.spec.tableOptions,
    logger: ctx.logger,
    stats: input.stats,
    signal,
    ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
    ...(input.liveRows ? { liveRows: input.liveRows } : {}),
    onProgress: (progress) => {
      slices = {
        ...(progress.slicesDone !== undefined ? { done: progress.slicesDone } : {}),
        ...(progress.slicesTotal !== undefined ? { total: progress.slicesTotal } : {}),
        ...(progress.apiBudgetLeft !== undefined ? { budget: progress.apiBudgetLeft } : {}),
      };
      input.onRows(rows, slices);
    },
  });
  try {
    let step = await generator.next();
    while (!step.done) {
      const batch = step.value;
      input.faults.check('fetch');
      if (schemaSignature(batch.schema.fields) !== expected) {
        throw new DataError(`${ctx.source.name}.${ctx.spec.sourceTable} yielded a batch whose columns differ from its getSchema(); fix the source so batches match the schema`, {
          code: 'RUNNER_SCHEMA_MISMATCH',
          context: { table: ctx.spec.destinationTable },
        });
      }
      if (batch.numRows > 0) {
        const typed = new RecordBatch(p.tableSchema, batch.data);
        if (index) index.add(hashKeys(p.keys.map((k) => typed.getChild(k)!), typed.numRows));
        keyRange?.add(typed.data.children[rangeAt]!);
        if (staging) {
          await staging.add(typed);
          await early?.add(typed);
        } else await writer!.write(typed);
        rows += batch.numRows;
        batches++;
      }
      input.onRows(rows, slices);
      signal.throwIfAborted();
      step = await generator.next();
    }
    input.faults.check('staged');
    const earlyFiles = early?.end();
    if (staging) return { output: { kind: 'staged', staging, rows, batches, cursor: step.value, ...(index ? { index } : {}), ...(keyRange ? { keyRange } : {}), ...(earlyFiles ? { early: earlyFiles } : {}) } };
    return { output: { kind: 'written', files: await writer!.close(), rows, batches, cursor: step.value }, writer: writer! };
  } catch (error) {
    await generator.return(null).catch(() => {});
    await staging?.dispose();
    await writer?.abort();
    await early?.end()?.abort();
    throw error;
  }
}
