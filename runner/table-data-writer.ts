/**
 * Writes batches of a table's logical rows into new Delta data files, one open file per partition value,
 * through `DeltaTable.createDataFile` (unique names, Delta stats, µs timestamps, partition columns kept in the
 * log). At most `maxOpen` files are open at once (each buffers up to a row group in its encoder); opening
 * another finishes the least recently used one, so a partition can end up in several files, unless the caller
 * writes partition by partition and says when one is done (`finishPartition`, as the cdc merge does). Files that were
 * finished but never committed are deleted by `abort()` (and would be invisible orphans anyway).
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { decodeAddPath, type AddFile, type DataFileWriter, type DeltaTable, type EncodeOn, type ObjectStore } from '../lakehouse/index.js';
import { splitByPartition, type PartitionValue } from './partition-split.js';

/** Delete a data file this run wrote but never committed (invisible to readers either way; this only saves space). */
export async function discardDataFile(store: ObjectStore, table: DeltaTable, file: AddFile): Promise<void> {
  await store.delete(`${table.root}/${decodeAddPath(file.path)}`);
}

/** Files open at once per writer; a 30-day window would otherwise keep 30 encoders. */
export const MAX_OPEN_FILES = 4;

export interface TableDataWriterOptions {
  readonly table: DeltaTable;
  /** Schema of the batches (logical rows, partition column included). */
  readonly schema: Schema;
  readonly partitionBy?: string;
  /** Columns that get min/max stats besides the defaults (the primary key, the cursor). */
  readonly statsColumns: readonly string[];
  readonly keyValueMetadata?: ReadonlyMap<string, string>;
  readonly maxOpen?: number;
  /** Where the files are encoded (`DataFileOptions.encodeOn`); default the encoder worker. */
  readonly encodeOn?: EncodeOn;
  /** With `encodeOn: 'worker'`: which shared encoder worker (`DataFileOptions.encoderSlot`). */
  readonly encoderSlot?: number;
  /** Deletes a finished file that will not be committed (`abort`). */
  readonly discard: (file: AddFile) => Promise<void>;
}

export class TableDataWriter {
  readonly #options: TableDataWriterOptions;
  /** Open files by partition value, least recently used first. */
  readonly #open = new Map<PartitionValue, DataFileWriter>();
  readonly #finished: AddFile[] = [];
  /**
   * Encoding on a worker: the file `finishPartition` left closing (at most one). Its worker flushes the last row group
   * and footer while this thread starts the next file, instead of each waiting for the other between files (a 30-day
   * merge on one lane writes 30 files). Settled before the next close, and by `close()` and `abort()`.
   */
  #closing: Promise<void> | undefined;
  #rows = 0;
  #closed = false;

  constructor(options: TableDataWriterOptions) {
    this.#options = options;
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  async #writerFor(value: PartitionValue): Promise<DataFileWriter> {
    const open = this.#open.get(value);
    if (open) {
      this.#open.delete(value);
      this.#open.set(value, open);
      return open;
    }
    const maxOpen = Math.max(1, this.#options.maxOpen ?? MAX_OPEN_FILES);
    while (this.#open.size >= maxOpen) {
      const [oldest] = this.#open.keys();
      await this.#finish(oldest!);
    }
    const column = this.#options.partitionBy;
    const writer = await this.#options.table.createDataFile({
      partitionValues: column === undefined ? {} : { [column]: value },
      schema: this.#options.schema,
      statsColumns: this.#options.statsColumns,
      ...(this.#options.keyValueMetadata ? { keyValueMetadata: this.#options.keyValueMetadata } : {}),
      ...(this.#options.encodeOn ? { encodeOn: this.#options.encodeOn } : {}),
      ...(this.#options.encoderSlot !== undefined ? { encoderSlot: this.#options.encoderSlot } : {}),
    });
    this.#open.set(value, writer);
    return writer;
  }

  async #finish(value: PartitionValue): Promise<void> {
    const writer = this.#open.get(value)!;
    this.#open.delete(value);
    if (writer.rows === 0) {
      await writer.abort();
      return;
    }
    this.#finished.push(await writer.close());
  }

  /** Write a batch, split by its partition column when the table is partitioned. */
  async write(batch: RecordBatch): Promise<void> {
    if (this.#closed) throw new Error('table data writer is closed');
    if (batch.numRows === 0) return;
    const column = this.#options.partitionBy;
    if (column === undefined) {
      await this.writeToPartition(null, batch);
      return;
    }
    for (const [value, part] of splitByPartition(batch, column)) await this.writeToPartition(value, part);
  }

  /** Write a batch whose rows all belong to partition `value` (null for an unpartitioned table). */
  async writeToPartition(value: PartitionValue, batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    await (await this.#writerFor(this.#options.partitionBy === undefined ? null : value)).write(batch);
    this.#rows += batch.numRows;
  }

  /**
   * Finish the open file of partition `value`, if any (a writer that knows it is done with a partition frees its
   * encoder buffers). Encoding on a worker, the file is left closing while the caller goes on (see `#closing`); a
   * failure to close it is thrown by the next `finishPartition`, or by `close()`.
   */
  async finishPartition(value: PartitionValue): Promise<void> {
    const key = this.#options.partitionBy === undefined ? null : value;
    if (!this.#open.has(key)) return;
    if ((this.#options.encodeOn ?? 'worker') !== 'worker') {
      await this.#finish(key);
      return;
    }
    await this.#settleClosing();
    const closing = this.#finish(key);
    closing.catch(() => {}); // observed by #settleClosing
    this.#closing = closing;
  }

  async #settleClosing(): Promise<void> {
    const closing = this.#closing;
    this.#closing = undefined;
    await closing;
  }

  /** Finish every open file; the `add` actions of everything written. */
  async close(): Promise<AddFile[]> {
    await this.#settleClosing();
    for (const value of [...this.#open.keys()]) await this.#finish(value);
    this.#closed = true;
    return this.#finished.splice(0);
  }

  /** Delete files written (and closed) for this table that will not be committed. */
  async discard(files: readonly AddFile[]): Promise<void> {
    for (const file of files) await this.#options.discard(file).catch(() => {});
  }

  /** Drop open files and delete finished ones (a failed call: none of it was committed). */
  async abort(): Promise<void> {
    this.#closed = true;
    await this.#settleClosing().catch(() => {}); // a file that closed lands in #finished and is deleted below
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const writer of open) await writer.abort().catch(() => {});
    const finished = this.#finished.splice(0);
    for (const file of finished) await this.#options.discard(file).catch(() => {});
  }
}
