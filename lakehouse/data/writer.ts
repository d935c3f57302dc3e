/**
 * `createDataFile`: one new Parquet data file of a Delta table, streamed to the store. The name is unique
 * (`[<col>=<value>/]part-00000-<uuid>.c000.zstd.parquet`) and the upload refuses an existing object, so a file is
 * never overwritten. Each batch is turned into its stored form (partition columns checked and dropped, timestamps
 * as µs UTC) and folded into the Delta stats, then encoded (on the shared encoder worker unless told otherwise).
 * The upload is opened by the first row: a writer that receives none touches nothing, and `close()` on it throws
 * (LAKEHOUSE_EMPTY_DATA_FILE): check `rows` and call `abort()` instead, as a Delta table has no empty files.
 */
import { randomUUID } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import { InternalError } from '../../connector-spec/index.js';
import { joinPath } from '../delta/paths.js';
import { acquireEncoder, releaseEncoder, type EncoderWorker } from '../parquet/parquet-encoder.js';
import { ParquetFileWriter, type FaultHook } from '../parquet/parquet-writer.js';
import type { ObjectStore } from '../storage/types.js';
import type { AddFile, DataFileOptions, DataFileWriter, EncodeOn } from '../types.js';
import { dataFilePath, normalisePartitionValue } from './partition-path.js';
import { DataFileStats } from './stats.js';
import { planStoredLayout, storedBatch, type StoredLayout } from './stored-batch.js';

export interface DataFileDeps {
  /**
   * Where Parquet is encoded, overriding `DataFileOptions.encodeOn` (tests): a given worker, `'in-thread'` (the
   * calling thread). Default: as `encodeOn` says; `'worker'` is the process's shared encoder worker (acquired at
   * the first row, released by close/abort).
   */
  readonly encoder?: EncoderWorker | 'in-thread';
  /** Test hook at `parquet-write` (bytes handed to the upload) and `staged` (upload closed). */
  readonly faults?: FaultHook;
  /** Clock for `modificationTime` (epoch ms). */
  readonly now?: () => number;
  /** Unique id in the file name (tests). */
  readonly uuid?: () => string;
}

export const LAKEHOUSE_EMPTY_DATA_FILE = 'LAKEHOUSE_EMPTY_DATA_FILE';

class StoreDataFileWriter implements DataFileWriter {
  readonly #store: ObjectStore;
  readonly #objectPath: string;
  readonly #addPath: string;
  readonly #partitionValues: Readonly<Record<string, string | null>>;
  readonly #layout: StoredLayout;
  readonly #stats: DataFileStats;
  readonly #keyValueMetadata: ReadonlyMap<string, string>;
  readonly #deps: DataFileDeps;
  readonly #encodeOn: EncodeOn;
  readonly #encoderSlot: number;
  #writer: ParquetFileWriter | undefined;
  #opening: Promise<ParquetFileWriter> | undefined;
  #sharedEncoder: EncoderWorker | undefined;
  #rows = 0;
  #state: 'open' | 'closed' | 'aborted' = 'open';

  constructor(store: ObjectStore, tableRoot: string, options: DataFileOptions, deps: DataFileDeps) {
    this.#store = store;
    this.#deps = deps;
    const partitionValues: Record<string, string | null> = {};
    for (const [column, value] of Object.entries(options.partitionValues)) partitionValues[column] = normalisePartitionValue(value);
    this.#partitionValues = partitionValues;
    const { relPath, addPath } = dataFilePath(partitionValues, (deps.uuid ?? randomUUID)());
    this.#objectPath = joinPath(tableRoot.replace(/\/+$/, ''), relPath);
    this.#addPath = addPath;
    this.#layout = planStoredLayout(options.schema, partitionValues);
    this.#stats = new DataFileStats(
      this.#layout.schema.fields,
      new Set(options.statsColumns ?? []),
      this.#layout.partitions,
      options.schema.fields.map((f) => f.name).concat(this.#layout.partitions.filter((p) => !options.schema.fields.some((f) => f.name === p.name)).map((p) => p.name)),
    );
    this.#keyValueMetadata = options.keyValueMetadata ?? new Map();
    this.#encodeOn = options.encodeOn ?? 'worker';
    this.#encoderSlot = options.encoderSlot ?? 0;
  }

  get rows(): number {
    return this.#rows;
  }

  async #open(): Promise<ParquetFileWriter> {
    if (this.#writer) return this.#writer;
    this.#opening ??= (async () => {
      let encoder: EncoderWorker | undefined;
      const choice = this.#deps.encoder ?? (this.#encodeOn === 'calling-thread' ? 'in-thread' : undefined);
      if (choice === undefined) encoder = this.#sharedEncoder = acquireEncoder(this.#encoderSlot);
      else if (choice !== 'in-thread') encoder = choice;
      try {
        const upload = await this.#store.createUpload(this.#objectPath);
        this.#writer = await ParquetFileWriter.open({
          upload,
          keyValueMetadata: this.#keyValueMetadata,
          ...(this.#deps.faults ? { faults: this.#deps.faults } : {}),
          ...(encoder ? { encoder } : {}),
        });
        return this.#writer;
      } catch (error) {
        this.#release();
        throw error;
      }
    })();
    return this.#opening;
  }

  #release(): void {
    const encoder = this.#sharedEncoder;
    this.#sharedEncoder = undefined;
    if (encoder) releaseEncoder(encoder);
  }

  #assertOpen(): void {
    if (this.#state !== 'open') {
      throw new InternalError(`data file ${this.#addPath} is already ${this.#state}`, { code: 'LAKEHOUSE_DATA_FILE_CLOSED', context: { path: this.#addPath } });
    }
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#assertOpen();
    if (batch.numRows === 0) return;
    const stored = storedBatch(batch, this.#layout);
    const writer = await this.#open();
    this.#stats.add(stored);
    this.#rows += stored.numRows;
    await writer.write(stored);
  }

  async close(): Promise<AddFile> {
    this.#assertOpen();
    if (this.#rows === 0) {
      this.#state = 'aborted';
      await this.#abortWriter();
      throw new InternalError(
        `data file ${this.#addPath} received no rows; a Delta table holds no empty files, so call abort() instead of close() when rows is 0`,
        { code: LAKEHOUSE_EMPTY_DATA_FILE, context: { path: this.#addPath } },
      );
    }
    this.#state = 'closed';
    const writer = await this.#open();
    let written;
    try {
      written = await writer.close();
    } finally {
      this.#release();
    }
    const numRecords = this.#stats.numRecords;
    return {
      path: this.#addPath,
      partitionValues: this.#partitionValues,
      size: written.bytes,
      modificationTime: Math.trunc((this.#deps.now ?? Date.now)()),
      dataChange: true,
      stats: this.#stats.toJson(),
      numRecords,
    };
  }

  async #abortWriter(): Promise<void> {
    try {
      const writer = this.#writer ?? (this.#opening ? await this.#opening.catch(() => undefined) : undefined);
      await writer?.abort();
    } finally {
      this.#release();
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'aborted') return;
    this.#state = 'aborted';
    await this.#abortWriter();
  }
}

/**
 * A writer of one new data file under `tableRoot` (a store path, '' for the store root). Nothing is written
 * until the first row; see `DataFileWriter`.
 */
export async function createDataFile(store: ObjectStore, tableRoot: string, options: DataFileOptions, deps: DataFileDeps = {}): Promise<DataFileWriter> {
  return new StoreDataFileWriter(store, tableRoot, options, deps);
}
