/**
 * Driving readTable the way a host does: drain one call (batches + returned cursor), or call again with
 * the returned cursor until a call returns its input cursor. Bounded: never more than `maxCalls` calls or
 * `maxBatchesPerCall` batches in a call, so a read that never ends is a verdict, not a hang.
 */
import { RecordBatch } from 'apache-arrow';
import { cursorsEqual } from '../types.js';
import type { Cursor, LakeflowSource, ReadOptions } from '../types.js';
import { fail } from './failures.js';
import { batchRows, type Row } from './values.js';

export interface CallResult {
  readonly input: Cursor;
  /** The cursor the generator returned (undefined when the call was abandoned as endless). */
  readonly output: Cursor;
  readonly batches: readonly RecordBatch[];
  readonly rows: readonly Row[];
  /** More than `maxBatchesPerCall` batches: the call was abandoned. */
  readonly endless: boolean;
  /** Returned its input cursor (`cursorsEqual`). */
  readonly sameCursor: boolean;
}

export interface ReadSequence {
  readonly calls: readonly CallResult[];
  /** The read ended: an incremental read reached a call returning its input cursor; a snapshot call returned. */
  readonly converged: boolean;
  /**
   * Records the host would ingest: every call's records except those of a call that returned its input cursor
   * (Spark drops or, since SPARK-55416, rejects them; that call is judged by its own check).
   */
  readonly rows: readonly Row[];
}

export interface ReadLimits {
  readonly maxCalls: number;
  readonly maxBatchesPerCall: number;
}

export async function drainCall(
  source: LakeflowSource,
  table: string,
  cursor: Cursor,
  options: ReadOptions,
  maxBatches: number,
): Promise<CallResult> {
  const generator = source.readTable(table, cursor, options);
  const batches: RecordBatch[] = [];
  const rows: Row[] = [];
  for (;;) {
    const step = await generator.next();
    if (step.done === true) {
      const output = step.value;
      return { input: cursor, output, batches, rows, endless: false, sameCursor: cursorsEqual(output, cursor) };
    }
    const batch: unknown = step.value;
    if (!(batch instanceof RecordBatch)) {
      await generator.return(null);
      fail(`${table}: readTable yielded ${Object.prototype.toString.call(batch)}, not an Arrow RecordBatch`);
    }
    batches.push(batch);
    rows.push(...batchRows(batch));
    if (batches.length > maxBatches) {
      await generator.return(null);
      return { input: cursor, output: null, batches, rows, endless: true, sameCursor: false };
    }
  }
}

/**
 * A full read from `start`. Snapshot: one call (as the host reads it). Incremental: call again with the
 * returned cursor until a call returns its input cursor, at most `maxCalls` calls.
 */
export async function readSequence(
  source: LakeflowSource,
  table: string,
  start: Cursor,
  options: ReadOptions,
  snapshot: boolean,
  limits: ReadLimits,
): Promise<ReadSequence> {
  const calls: CallResult[] = [];
  let cursor = start;
  let converged = false;
  for (let i = 0; i < (snapshot ? 1 : limits.maxCalls); i++) {
    const call = await drainCall(source, table, cursor, options, limits.maxBatchesPerCall);
    calls.push(call);
    if (call.endless) break;
    if (snapshot || call.sameCursor) {
      converged = true;
      break;
    }
    cursor = call.output;
  }
  const rows = calls.flatMap((call) => (call.sameCursor && !snapshot ? [] : call.rows));
  return { calls, converged, rows };
}

/** The cursor a read ended on (the last returned cursor). */
export function lastCursor(sequence: ReadSequence): Cursor {
  const last = sequence.calls.at(-1);
  return last === undefined ? null : last.output;
}
