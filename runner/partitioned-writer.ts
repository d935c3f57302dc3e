/**
 * Writes a stream of batches into Parquet files per partition value (hive style `<col>=<value>/`),
 * or a single file when the table is not partitioned. Files land under `baseDir` with their final
 * relative paths, each written temp → fsync → rename.
 *
 * Memory: each open file has an encoder buffering up to a row group, so at most `maxOpen` files are open at
 * once; opening another finishes the least recently used one. A partition whose rows come back after its file
 * was finished gets another part file (the call's files of one partition are then several; that is fine).
 */
import path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { partitionRuns } from './arrow-rows.js';
import type { FaultInjector } from './faults.js';
import { acquireEncoder, releaseEncoder, type EncoderWorker } from '../lakehouse/parquet/parquet-encoder.js';
import { ParquetFileWriter } from '../lakehouse/parquet/parquet-writer.js';

export interface PartFile {
  /** Path relative to `baseDir` (`event_date=2026-11-20/part-00000000000000000003-0.parquet`). */
  readonly relPath: string;
  readonly absPath: string;
  readonly rows: number;
  readonly bytes: number;
  readonly partitionValues: Readonly<Record<string, string>>;
}

export interface PartitionedWriterOptions {
  readonly baseDir: string;
  readonly partitionBy?: string;
  /** File name prefix, e.g. `part-00000000000000000003`. */
  readonly prefix: string;
  readonly keyValueMetadata: ReadonlyMap<string, string>;
  readonly faults: FaultInjector;
  /** Called with bytes written so far across files (progress). */
  readonly onBytes?: (bytes: number) => void;
  /** Number of the first file (`<prefix>-<n>.parquet`); another writer of the same folder starts after it. */
  readonly firstIndex?: number;
  /** Most files open at once (default MAX_OPEN_FILES). */
  readonly maxOpen?: number;
  /**
   * Encode on the shared worker thread (default: true, unless LAKEFLOW_ENCODER_WORKER=0); it ends when unused
   * for a moment, returning its WASM memory.
   */
  readonly worker?: boolean;
}

/** Files (encoders) a writer keeps open at once; a 30-day window would otherwise keep 30. */
export const MAX_OPEN_FILES = 4;

export class PartitionedWriter {
  /** Open files, least recently used first. */
  private readonly writers = new Map<string, { writer: ParquetFileWriter; relPath: string }>();
  private readonly finished: PartFile[] = [];
  private counter: number;
  private encoder: EncoderWorker | undefined;
  constructor(private readonly options: PartitionedWriterOptions) {
    this.counter = options.firstIndex ?? 0;
  }

  /** The number the next file would get (a writer sharing the folder starts here). */
  get nextIndex(): number {
    return this.counter;
  }

  private async writerFor(partition: string | undefined): Promise<ParquetFileWriter> {
    const key = partition ?? '';
    const existing = this.writers.get(key);
    if (existing) {
      if (this.writers.size > 1) {
        this.writers.delete(key);
        this.writers.set(key, existing);
      }
      return existing.writer;
    }
    const maxOpen = Math.max(1, this.options.maxOpen ?? MAX_OPEN_FILES);
    while (this.writers.size >= maxOpen) {
      const [oldest] = this.writers.keys();
      await this.finish(oldest!);
    }
    const dir = partition === undefined ? '' : `${this.options.partitionBy}=${partition}/`;
    const relPath = `${dir}${this.options.prefix}-${this.counter++}.parquet`;
    if ((this.options.worker ?? process.env['LAKEFLOW_ENCODER_WORKER'] !== '0') && !this.encoder) this.encoder = acquireEncoder();
    const writer = await ParquetFileWriter.open({
      file: path.join(this.options.baseDir, relPath),
      keyValueMetadata: this.options.keyValueMetadata,
      faults: this.options.faults,
      ...(this.encoder ? { encoder: this.encoder } : {}),
    });
    this.writers.set(key, { writer, relPath });
    return writer;
  }

  async write(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    const column = this.options.partitionBy;
    if (column === undefined) {
      await (await this.writerFor(undefined)).write(batch);
      return;
    }
    for (const [value, part] of partitionRuns(batch, column)) await (await this.writerFor(value)).write(part);
  }

  /** Write a batch into an explicit partition (merge output, already grouped). */
  async writeToPartition(partition: string | undefined, batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    await (await this.writerFor(partition)).write(batch);
  }

  /** Finish one open file (fsynced and renamed to its staged name). */
  private async finish(partition: string): Promise<void> {
    const open = this.writers.get(partition)!;
    this.writers.delete(partition);
    let written;
    try {
      written = await open.writer.close();
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.options.onBytes?.(written.bytes);
    this.finished.push({
      relPath: open.relPath,
      absPath: written.path,
      rows: written.rows,
      bytes: written.bytes,
      partitionValues: this.options.partitionBy !== undefined && partition !== '' ? { [this.options.partitionBy]: decodeURIComponent(partition) } : {},
    });
  }

  async close(): Promise<PartFile[]> {
    for (const partition of [...this.writers.keys()]) await this.finish(partition);
    await this.stopEncoder();
    return this.finished.splice(0);
  }

  private async stopEncoder(): Promise<void> {
    const encoder = this.encoder;
    this.encoder = undefined;
    if (encoder) releaseEncoder(encoder);
  }

  /** Drop the open files (a failed call). Finished files are left to the caller's staging cleanup. */
  async abort(): Promise<void> {
    const open = [...this.writers.values()];
    this.writers.clear();
    for (const { writer } of open) await writer.abort().catch(() => {});
    this.finished.length = 0;
    await this.stopEncoder().catch(() => {});
  }
}
