/**
 * Writes a stream of batches into one Parquet file per partition value (hive style `<col>=<value>/`),
 * or a single file when the table is not partitioned. Files land under `baseDir` with their final
 * relative paths, each written temp → fsync → rename.
 */
import path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { splitByPartition } from './arrow-rows.js';
import type { FaultInjector } from './faults.js';
import { ParquetFileWriter } from './parquet-writer.js';

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
}

export class PartitionedWriter {
  private readonly writers = new Map<string, { writer: ParquetFileWriter; relPath: string }>();
  private counter = 0;
  constructor(private readonly options: PartitionedWriterOptions) {}

  private async writerFor(partition: string | undefined): Promise<ParquetFileWriter> {
    const key = partition ?? '';
    const existing = this.writers.get(key);
    if (existing) return existing.writer;
    const dir = partition === undefined ? '' : `${this.options.partitionBy}=${partition}/`;
    const relPath = `${dir}${this.options.prefix}-${this.counter++}.parquet`;
    const writer = await ParquetFileWriter.open({
      file: path.join(this.options.baseDir, relPath),
      keyValueMetadata: this.options.keyValueMetadata,
      faults: this.options.faults,
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
    for (const [value, part] of splitByPartition(batch, column)) await (await this.writerFor(value)).write(part);
  }

  /** Write a batch into an explicit partition (merge output, already grouped). */
  async writeToPartition(partition: string | undefined, batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    await (await this.writerFor(partition)).write(batch);
  }

  async close(): Promise<PartFile[]> {
    const out: PartFile[] = [];
    try {
      for (const [partition, { writer, relPath }] of this.writers) {
        const written = await writer.close();
        this.options.onBytes?.(written.bytes);
        out.push({
          relPath,
          absPath: written.path,
          rows: written.rows,
          bytes: written.bytes,
          partitionValues: this.options.partitionBy !== undefined && partition !== '' ? { [this.options.partitionBy]: decodeURIComponent(partition) } : {},
        });
      }
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.writers.clear();
    return out;
  }

  async abort(): Promise<void> {
    for (const { writer } of this.writers.values()) await writer.abort().catch(() => {});
    this.writers.clear();
  }
}
