/**
 * Streams apache-arrow RecordBatches into one Parquet file with parquet-wasm `transformParquetStream`
 * (ZSTD, 16k-row row groups, the Arrow schema embedded, table metadata in the key-value metadata; dictionaries
 * and statistics per column as parquet-columns.ts decides from the file's first SAMPLE_ROWS rows, see
 * parquet-properties.mjs).
 * The bytes go to an `Upload` chunk by chunk as the encoder emits them (never the whole file in memory):
 * `close()` finishes the upload (the object appears), `abort()` aborts it (nothing appears).
 */
import type { RecordBatch } from 'apache-arrow';
import type { RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import type { Upload } from '../storage/types.js';
import { SAMPLE_ROWS, parquetColumnPlan, primaryKeysOf } from './parquet-columns.js';
import { IpcStreamBuffer } from './ipc-stream-buffer.js';
import type { EncoderWorker } from './parquet-encoder.js';
import type { ParquetColumnPlan } from './parquet-properties.mjs';
import { loadParquetWasm } from './parquet-wasm.js';

/**
 * A test hook called at named steps (`parquet-write`: bytes were handed to the sink; `staged`: the sink was
 * closed, the file is in place). The runner's FaultInjector fits; production passes one whose `check` does nothing.
 */
export interface FaultHook {
  check(point: string): void;
}

export const noFaultHook: FaultHook = { check() {} };

/** Rows per row group: the encoder buffers one per open file (32k peaked ~35 MiB higher at 1M events). */
export const ROW_GROUP_ROWS = 16_384;

export interface WrittenFile {
  /** The store path the upload reported. */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface ParquetWriterOptions {
  /** Where the bytes go (`store.createUpload(path)`). */
  readonly upload: Upload;
  /** Extra Parquet key-value metadata (the Arrow schema metadata is embedded too). */
  readonly keyValueMetadata: ReadonlyMap<string, string>;
  readonly faults?: FaultHook;
  /** Encode on this worker thread instead of the calling thread (the upload is still written from this one). */
  readonly encoder?: EncoderWorker;
}

const CREATED_BY = 'mixpanel-lakeflow runner (parquet-wasm)';
/** Batches a worker-encoded file may have queued beyond the one being encoded. */
const IN_FLIGHT = 2;
/** Rows a worker-encoded file sends at most per message (~3 MB of IPC for real-shaped events). */
export const PIECE_ROWS = 4_096;

/** apache-arrow batch → wasm batches through the IPC stream format (libraries.md §6), serialized into `ipc`'s buffer. */
async function toWasmBatches(batch: RecordBatch, ipc: IpcStreamBuffer): Promise<WasmRecordBatch[]> {
  const { Table: WasmTable } = await loadParquetWasm();
  const table = WasmTable.fromIPCStream(ipc.streamOf(batch)); // copied into WebAssembly memory here
  try {
    return table.recordBatches();
  } finally {
    table.free();
  }
}

export class ParquetFileWriter {
  private readonly upload: Upload;
  private readonly faults: FaultHook;
  private readonly queue: WasmRecordBatch[] = [];
  private wake: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private ended = false;
  private finished = false;
  private failure: unknown;
  private rows = 0;
  private bytes = 0;
  private readonly done: Promise<void>;
  private readonly keyValueMetadata: ReadonlyMap<string, string>;
  /** The column plan, fixed by the file's first SAMPLE_ROWS rows (undefined: no batch came, parquet defaults). */
  private planned = false;
  /** The first batches, held until they hold SAMPLE_ROWS rows or the file ends: the plan is decided from them. */
  private held: RecordBatch[] = [];
  private heldRows = 0;
  private resolvePlan: ((plan: ParquetColumnPlan | undefined) => void) | undefined;
  private readonly plan = new Promise<ParquetColumnPlan | undefined>((resolve) => (this.resolvePlan = resolve));
  /** Worker mode: the file id on the encoder, batches not yet taken, and the chain of chunk writes. */
  private readonly encoder: EncoderWorker | undefined;
  private encoderId = -1;
  private inFlight = 0;
  private taken: (() => void) | undefined;
  private writes: Promise<void> = Promise.resolve();
  /** Calling-thread mode: the buffer each batch's IPC stream is written into on its way to WebAssembly memory. */
  private readonly ipc = new IpcStreamBuffer();

  private constructor(options: ParquetWriterOptions, upload: Upload) {
    this.upload = upload;
    this.faults = options.faults ?? noFaultHook;
    this.encoder = options.encoder;
    this.keyValueMetadata = options.keyValueMetadata;
    if (this.encoder) {
      this.done = this.startOnWorker(this.encoder, options.keyValueMetadata);
      this.done.catch(() => {});
      return;
    }
    const input = new ReadableStream<WasmRecordBatch>(
      {
        pull: async (controller) => {
          while (this.queue.length === 0 && !this.ended) {
            await new Promise<void>((resolve) => (this.wake = resolve));
          }
          const next = this.queue.shift();
          this.drained?.();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    this.done = this.pump(input, options.keyValueMetadata).catch((error: unknown) => {
      this.failure = error;
      this.drained?.();
      throw error;
    });
    // The failure is surfaced by write()/close(); avoid an unhandled rejection meanwhile.
    this.done.catch(() => {});
  }

  static async open(options: ParquetWriterOptions): Promise<ParquetFileWriter> {
    return new ParquetFileWriter(options, options.upload);
  }

  /** Hand one encoded chunk to the sink (in order; the chain of writes keeps them ordered). */
  private async sink(bytes: Uint8Array): Promise<void> {
    if (this.finished) throw new Error('parquet writer closed');
    await this.upload.write(bytes);
    this.bytes += bytes.byteLength;
    this.faults.check('parquet-write');
  }

  /** Worker mode: the worker encodes; chunks come back and are written here, in order, with the same fault points. */
  private startOnWorker(encoder: EncoderWorker, kv: ReadonlyMap<string, string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (this.failure === undefined) this.failure = error;
        this.taken?.();
        reject(error);
      };
      this.encoderId = encoder.open(kv, ROW_GROUP_ROWS, CREATED_BY, {
        onChunk: (bytes) => {
          this.writes = this.writes.then(async () => {
            if (this.failure !== undefined) return;
            await this.sink(bytes);
          });
          this.writes.catch(fail);
        },
        onTaken: () => {
          this.inFlight--;
          this.taken?.();
        },
        onDone: () => {
          this.writes.then(resolve, fail);
        },
        onError: fail,
      });
    });
  }

  /** Fix the column plan: from the first batches, or none when the file ends (or aborts) before any batch. */
  private fixPlan(first: readonly RecordBatch[]): ParquetColumnPlan | undefined {
    if (this.planned) return undefined;
    this.planned = true;
    const plan = first.length > 0 ? parquetColumnPlan(first, primaryKeysOf(this.keyValueMetadata)) : undefined;
    this.resolvePlan?.(plan);
    return plan;
  }

  /** Decide the plan from the held batches and hand them to the encoder (the first carries the plan). */
  private async release(): Promise<void> {
    const held = this.held.splice(0);
    this.heldRows = 0;
    const plan = this.fixPlan(held);
    for (let i = 0; i < held.length; i++) await this.encode(held[i]!, i === 0 ? plan : undefined);
  }

  private async pump(input: ReadableStream<WasmRecordBatch>, kv: ReadonlyMap<string, string>): Promise<void> {
    const columns = await this.plan;
    const { transformParquetStream } = await loadParquetWasm();
    const { parquetWriterProperties } = await import('./parquet-properties.mjs');
    const properties = parquetWriterProperties({ keyValueMetadata: kv, rowGroupRows: ROW_GROUP_ROWS, createdBy: CREATED_BY, columns });
    const output = (await transformParquetStream(input, properties)) as ReadableStream<Uint8Array>;
    const reader = output.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await this.sink(value);
    }
  }

  /**
   * Append one batch; resolves once the encoder has taken it (backpressure). The file's first batches are held
   * (fewer than SAMPLE_ROWS rows in all) until they hold SAMPLE_ROWS rows, so the column plan never rests on a sliver.
   */
  async write(batch: RecordBatch): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (batch.numRows === 0) return;
    this.rows += batch.numRows;
    if (!this.planned) {
      this.held.push(batch);
      this.heldRows += batch.numRows;
      if (this.heldRows >= SAMPLE_ROWS) await this.release();
      return;
    }
    await this.encode(batch, undefined);
  }

  private async encode(batch: RecordBatch, plan: ParquetColumnPlan | undefined): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.encoder) {
      // In pieces of at most PIECE_ROWS rows: what is in flight to the worker (and the transfer buffers it hands
      // back for reuse) stays a few MB, whatever the size of the batches written.
      for (let at = 0; at < batch.numRows; at += PIECE_ROWS) {
        const piece = at === 0 && batch.numRows <= PIECE_ROWS ? batch : batch.slice(at, Math.min(batch.numRows, at + PIECE_ROWS));
        this.inFlight++;
        this.encoder.batch(this.encoderId, piece, at === 0 ? plan : undefined);
        while (this.inFlight > IN_FLIGHT && this.failure === undefined) {
          await new Promise<void>((resolve) => (this.taken = resolve));
        }
        if (this.failure !== undefined) throw this.failure;
      }
      return;
    }
    this.queue.push(...(await toWasmBatches(batch, this.ipc)));
    this.wake?.();
    while (this.queue.length > 0 && this.failure === undefined) {
      await new Promise<void>((resolve) => (this.drained = resolve));
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Finish the file: flush the encoder, then close the sink (the object appears whole, or not at all). */
  async close(): Promise<WrittenFile> {
    if (this.failure !== undefined) {
      await this.abort();
      throw this.failure;
    }
    try {
      if (!this.planned) await this.release();
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.ended = true; // the plan is fixed by now: release() above decides it, from no batch at all if none came
    this.wake?.();
    if (this.encoder) this.encoder.end(this.encoderId);
    let stored;
    try {
      await this.done;
      this.finished = true;
      this.ipc.release();
      stored = await this.upload.close();
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.faults.check('staged');
    return { path: stored.path, rows: this.rows, bytes: this.bytes };
  }

  /** Drop the file (a failed call): the upload is aborted, nothing appears. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.encoder && !this.ended) this.encoder.abort(this.encoderId);
    this.ended = true;
    this.held = [];
    this.fixPlan([]);
    this.wake?.();
    for (const batch of this.queue.splice(0)) batch.free();
    await this.done.catch(() => {});
    await this.writes.catch(() => {});
    this.finished = true;
    this.ipc.release();
    await this.upload.abort();
  }
}
