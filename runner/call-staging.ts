/**
 * The batches of one `readTable` call, held until the call has ended and its merge is decided (a cdc call
 * collapses re-sent copies and drops rows that lose to newer ones before anything is written to the table).
 *
 * Batches stay in memory up to a byte budget; past it, every further batch is spilled to one local file as an
 * Arrow IPC stream message (a copy of its buffers, no re-encoding; the very stream it was decoded from when the
 * source recorded one, see `ipcStreamOf`), and read back one batch at a time, one batch ahead of the caller
 * (`batches`/`read` fetch the next spilled batch while the caller works on this one, so the read runs on libuv's
 * threads, not in this thread's turn). Writes are not left behind the caller: a call's read holds one spilled
 * batch's bytes at a time (with up to two writes under way, a 5M-event load peaked 30 MiB higher). The folder is
 * private to the call and removed by `dispose()`; nothing in it is ever part of the table.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { RecordBatch, Table, tableFromIPC, tableToIPC, type Data, type Schema } from 'apache-arrow';
import { ipcStreamOf } from '../connector-spec/index.js';
import { partitionIds, type PartitionValue } from './partition-split.js';

/** Default in-memory budget before spilling to disk. */
export const STAGING_MEMORY_BYTES = 16 * 1024 * 1024;

interface Spilled {
  readonly offset: number;
  readonly length: number;
}

/** Bytes held by an Arrow Data tree (values, offsets, validity, children). */
export function dataBytes(data: Data): number {
  let n = 0;
  for (const buffer of [data.values, data.valueOffsets, data.nullBitmap, data.typeIds] as (ArrayBufferView | undefined)[]) {
    if (buffer) n += buffer.byteLength;
  }
  for (const child of data.children) n += dataBytes(child);
  return n;
}

export class CallStaging {
  readonly #dir: string;
  readonly #budget: number;
  readonly #schema: Schema;
  /** In-memory batches (undefined where spilled). */
  readonly #memory: (RecordBatch | undefined)[] = [];
  readonly #spilled: (Spilled | undefined)[] = [];
  readonly #rows: number[] = [];
  #memoryBytes = 0;
  #file: fs.FileHandle | undefined;
  #fileBytes = 0;
  #disposed = false;

  readonly #partitionBy: string | undefined;
  readonly #partitions = new Set<PartitionValue>();
  /** The partition values of each staged batch, in order of first row (empty when the table is not partitioned). */
  readonly #batchPartitions: (readonly PartitionValue[])[] = [];

  constructor(options: { readonly dir: string; readonly schema: Schema; readonly memoryBytes?: number; readonly partitionBy?: string }) {
    this.#dir = options.dir;
    this.#partitionBy = options.partitionBy;
    this.#schema = options.schema;
    this.#budget = options.memoryBytes ?? STAGING_MEMORY_BYTES;
  }

  get batchCount(): number {
    return this.#memory.length;
  }

  /** Rows of batch `index`. */
  rowsOf(index: number): number {
    return this.#rows[index]!;
  }

  /** Values of the partition column in batch `index`, in order of first row (empty when the table is not partitioned). */
  partitionsOf(index: number): readonly PartitionValue[] {
    return this.#batchPartitions[index] ?? [];
  }

  /** Values of the partition column seen in the staged rows (empty when the table is not partitioned). */
  get partitions(): ReadonlySet<PartitionValue> {
    return this.#partitions;
  }

  get spilledBytes(): number {
    return this.#fileBytes;
  }

  async add(batch: RecordBatch): Promise<void> {
    if (this.#disposed) throw new Error('call staging was disposed');
    const bytes = dataBytes(batch.data);
    this.#rows.push(batch.numRows);
    if (this.#partitionBy !== undefined) {
      const column = batch.getChild(this.#partitionBy);
      if (!column) throw new TypeError(`staged batch lacks the partition column ${this.#partitionBy}`);
      const { values } = partitionIds(column);
      for (const value of values) this.#partitions.add(value);
      this.#batchPartitions.push(values);
    }
    if (this.#file === undefined && this.#memoryBytes + bytes <= this.#budget) {
      this.#memory.push(batch);
      this.#spilled.push(undefined);
      this.#memoryBytes += bytes;
      return;
    }
    if (this.#file === undefined) {
      await fs.mkdir(this.#dir, { recursive: true });
      this.#file = await fs.open(path.join(this.#dir, 'call.arrows'), 'w+');
    }
    // The bytes the batch was decoded from when the source kept them (a parse worker's answer): no second encoding.
    const message = ipcStreamOf(batch) ?? tableToIPC(new Table([batch]), 'stream');
    const { bytesWritten } = await this.#file.write(message, 0, message.byteLength, this.#fileBytes);
    if (bytesWritten !== message.byteLength) throw new Error(`staged batch ${this.#memory.length}: wrote ${bytesWritten} of ${message.byteLength} bytes`);
    this.#memory.push(undefined);
    this.#spilled.push({ offset: this.#fileBytes, length: message.byteLength });
    this.#fileBytes += message.byteLength;
  }

  /** Batch `index`, from memory or read back from the spill file. */
  async get(index: number): Promise<RecordBatch> {
    const held = this.#memory[index];
    if (held) return held;
    const spilled = this.#spilled[index];
    if (!spilled || !this.#file) throw new RangeError(`no staged batch ${index}`);
    const buffer = Buffer.allocUnsafe(spilled.length);
    const { bytesRead } = await this.#file.read(buffer, 0, spilled.length, spilled.offset);
    if (bytesRead !== spilled.length) throw new Error(`staged batch ${index}: read ${bytesRead} of ${spilled.length} bytes`);
    const table = tableFromIPC(buffer);
    const batch = table.batches[0];
    if (!batch) return new RecordBatch(this.#schema, undefined);
    return batch.schema === this.#schema ? batch : new RecordBatch(this.#schema, batch.data);
  }

  /** Every batch in order (read ahead, as `read`). */
  batches(): AsyncGenerator<{ readonly index: number; readonly batch: RecordBatch }, void, undefined> {
    return this.read(Array.from({ length: this.#memory.length }, (_, i) => i));
  }

  /**
   * The batches at `indices`, in that order, each read while the caller works on the one before: at most one batch
   * beyond the one handed out is held.
   */
  async *read(indices: readonly number[]): AsyncGenerator<{ readonly index: number; readonly batch: RecordBatch }, void, undefined> {
    const fetch = (i: number): Promise<RecordBatch> | undefined => {
      if (i >= indices.length) return undefined;
      const next = this.get(indices[i]!);
      next.catch(() => {}); // awaited below, unless the caller stops first
      return next;
    };
    let next = fetch(0);
    for (let i = 0; i < indices.length; i++) {
      const current = next!;
      next = fetch(i + 1);
      yield { index: indices[i]!, batch: await current };
    }
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#memory.length = 0;
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(() => {});
    await fs.rm(this.#dir, { recursive: true, force: true });
  }
}
