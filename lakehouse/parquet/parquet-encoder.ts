/**
 * A worker thread that encodes Parquet (parquet-wasm), so encoding runs on another core than the main thread's
 * work. The worker only turns Arrow IPC into Parquet bytes; the main thread writes them, fsyncs and renames (every
 * crash point stays on the main thread). The process shares one worker per slot (`acquireEncoder`); an unused one
 * is terminated after IDLE_MS, which returns its WASM memory.
 */
import { Worker } from 'node:worker_threads';
import type { RecordBatch } from 'apache-arrow';
import type { ParquetColumnPlan } from './parquet-properties.mjs';
import { workerFlags } from '../../connector-spec/index.js';
import { copyPieces, ipcPiecesOf } from './ipc-stream-buffer.js';

export interface EncodedFileHandlers {
  onChunk(bytes: Uint8Array): void;
  onTaken(): void;
  onDone(): void;
  onError(error: Error): void;
}

type Message =
  | { type: 'spare'; id: number; buffer: ArrayBuffer }
  | { type: 'taken'; id: number }
  | { type: 'chunk'; id: number; bytes: Uint8Array }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; message: string };

let filesOnWorkers = 0;

/** Files this process has encoded on an encoder worker so far (where the Parquet was encoded is observable). */
export function filesEncodedOnWorkers(): number {
  return filesOnWorkers;
}

export class EncoderWorker {
  private readonly worker: Worker;
  private readonly files = new Map<number, EncodedFileHandlers>();
  private nextId = 0;
  private dead: Error | undefined;
  /**
   * Transfer buffers the worker handed back once their stream was in WebAssembly memory, for the next batches. A
   * fresh buffer per batch, freed only when the worker's heap is collected (rarely), grew the process's malloc
   * heap by tens of MiB (README, Measured, R: encode lanes).
   */
  private readonly spare: ArrayBuffer[] = [];
  private allocated = 0;

  constructor() {
    this.worker = new Worker(new URL('./parquet-encoder-worker.mjs', import.meta.url), { execArgv: workerFlags() });
    this.worker.unref(); // referenced only while a file is open, so an idle worker never holds the process
    this.worker.on('message', (m: Message) => {
      if (m.type === 'spare') {
        this.keepSpare(m.buffer);
        return;
      }
      const file = this.files.get(m.id);
      if (!file) return;
      if (m.type === 'taken') file.onTaken();
      else if (m.type === 'chunk') file.onChunk(m.bytes);
      else if (m.type === 'done') {
        this.forget(m.id);
        file.onDone();
      } else {
        this.forget(m.id);
        file.onError(new Error(`parquet encoder: ${m.message}`));
      }
    });
    const fail = (error: Error) => {
      this.dead = error;
      const open = [...this.files.values()];
      this.files.clear();
      this.worker.unref();
      for (const file of open) file.onError(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      this.dead ??= new Error(`parquet encoder worker exited (code ${code})`);
      if (this.files.size > 0) fail(this.dead);
    });
  }

  /** The worker failed or exited; a new one is needed. */
  get isDead(): boolean {
    return this.dead !== undefined;
  }

  open(keyValueMetadata: ReadonlyMap<string, string>, rowGroupRows: number, createdBy: string, handlers: EncodedFileHandlers): number {
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    filesOnWorkers++;
    this.files.set(id, handlers);
    if (this.files.size === 1) this.worker.ref();
    this.worker.postMessage({ type: 'open', id, kv: [...keyValueMetadata], rowGroupRows, createdBy });
    return id;
  }

  /**
   * Send one batch as an Arrow IPC stream, written into a spare transfer buffer (or a new one) that is transferred
   * to the worker and comes back once the worker has copied the stream into WebAssembly memory. The file's first
   * batch carries its column plan: the worker builds the writer properties from it (a file ended without a batch
   * uses the parquet defaults).
   */
  batch(id: number, batch: RecordBatch, plan?: ParquetColumnPlan): void {
    const stream = ipcPiecesOf(batch);
    const buffer = this.takeSpare(stream.length);
    copyPieces(stream, new Uint8Array(buffer));
    this.worker.postMessage({ type: 'batch', id, ipc: buffer, length: stream.length, ...(plan ? { plan } : {}) }, [buffer]);
  }

  /** The smallest spare buffer of at least `length` bytes, or a new one with a quarter more room. */
  private takeSpare(length: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const size = this.spare[i]!.byteLength;
      if (size >= length && (best < 0 || size < this.spare[best]!.byteLength)) best = i;
    }
    if (best >= 0) return this.spare.splice(best, 1)[0]!;
    this.allocated++;
    return new ArrayBuffer(Math.ceil(length * 1.25));
  }

  /** Keep a returned buffer; past MAX_SPARE buffers the smallest goes. */
  private keepSpare(buffer: ArrayBuffer): void {
    if (this.dead) return;
    this.spare.push(buffer);
    if (this.spare.length > MAX_SPARE) {
      let smallest = 0;
      for (let i = 1; i < this.spare.length; i++) if (this.spare[i]!.byteLength < this.spare[smallest]!.byteLength) smallest = i;
      this.spare.splice(smallest, 1);
    }
  }

  end(id: number): void {
    this.worker.postMessage({ type: 'end', id });
  }

  abort(id: number): void {
    this.worker.postMessage({ type: 'abort', id });
  }

  private forget(id: number): void {
    this.files.delete(id);
    if (this.files.size === 0) this.worker.unref();
  }

  /** Transfer buffers allocated so far, and spare ones held now (for tests). */
  get transferBuffers(): { readonly allocated: number; readonly spare: number } {
    return { allocated: this.allocated, spare: this.spare.length };
  }

  async terminate(): Promise<void> {
    this.files.clear();
    this.spare.length = 0;
    await this.worker.terminate();
  }
}

/**
 * Spare transfer buffers an encoder keeps: the batches a file may have in flight (the writer's IN_FLIGHT, 2) plus
 * the one being written and the one on its way back.
 */
const MAX_SPARE = 4;

/** How long an unused shared worker lives before it is terminated (its WASM memory returned). */
const IDLE_MS = 1_000;
interface SharedSlot {
  worker: EncoderWorker | undefined;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/** The shared workers by slot: slot 0 serves every writer; the cdc merge's lanes encode on slots 0, 1, … at once. */
const slots: SharedSlot[] = [];

/**
 * The process's encoder worker of `slot` (default 0), shared by the writers of a run (a run's calls reuse it
 * instead of paying the worker start-up each time). Each `acquireEncoder` needs one `releaseEncoder`; a worker is
 * terminated once it has been unused for IDLE_MS.
 */
export function acquireEncoder(slot = 0): EncoderWorker {
  if (!Number.isInteger(slot) || slot < 0) throw new RangeError(`encoder slot must be an integer ≥ 0, got ${slot}`);
  const s = (slots[slot] ??= { worker: undefined, users: 0, idleTimer: undefined });
  if (s.idleTimer) clearTimeout(s.idleTimer);
  s.idleTimer = undefined;
  s.users++;
  if (s.worker?.isDead) s.worker = undefined;
  return (s.worker ??= new EncoderWorker());
}

export function releaseEncoder(encoder: EncoderWorker): void {
  const s = slots.find((x) => x?.worker === encoder);
  if (!s) {
    void encoder.terminate();
    return;
  }
  s.users = Math.max(0, s.users - 1);
  if (s.users > 0) return;
  s.idleTimer = setTimeout(() => {
    s.idleTimer = undefined;
    if (s.users > 0 || s.worker !== encoder) return;
    s.worker = undefined;
    void encoder.terminate();
  }, IDLE_MS);
  s.idleTimer.unref();
}
