/**
 * A worker thread that encodes Parquet (parquet-wasm) for the files of one writer, so encoding runs on the
 * second core while the main thread parses. The worker only turns Arrow IPC into Parquet bytes; the main
 * thread writes them, fsyncs and renames (every crash point stays on the main thread). One worker per
 * PartitionedWriter: it is terminated when the writer closes, which returns its WASM memory.
 */
import { Worker } from 'node:worker_threads';
import type { ParquetColumnPlan } from './parquet-properties.mjs';
import { workerFlags } from '../../connector-spec/index.js';

export interface EncodedFileHandlers {
  onChunk(bytes: Uint8Array): void;
  onTaken(): void;
  onDone(): void;
  onError(error: Error): void;
}

type Message =
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

  constructor() {
    this.worker = new Worker(new URL('./parquet-encoder-worker.mjs', import.meta.url), { execArgv: workerFlags() });
    this.worker.unref(); // referenced only while a file is open, so an idle worker never holds the process
    this.worker.on('message', (m: Message) => {
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
   * Send one Arrow IPC stream (its buffer is transferred). The file's first batch carries its column plan: the
   * worker builds the writer properties from it (a file ended without a batch uses the parquet defaults).
   */
  batch(id: number, ipc: Uint8Array, plan?: ParquetColumnPlan): void {
    const owned = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc : ipc.slice();
    this.worker.postMessage({ type: 'batch', id, ipc: owned, ...(plan ? { plan } : {}) }, [owned.buffer as ArrayBuffer]);
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

  async terminate(): Promise<void> {
    this.files.clear();
    await this.worker.terminate();
  }
}

/** How long an unused shared worker lives before it is terminated (its WASM memory returned). */
const IDLE_MS = 1_000;
let shared: EncoderWorker | undefined;
let users = 0;
let idleTimer: NodeJS.Timeout | undefined;

/**
 * The process's encoder worker, shared by the writers of a run (a run's calls reuse it instead of paying the
 * worker start-up each time). Each `acquireEncoder` needs one `releaseEncoder`; the worker is terminated once
 * it has been unused for IDLE_MS.
 */
export function acquireEncoder(): EncoderWorker {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  users++;
  if (shared?.isDead) shared = undefined;
  return (shared ??= new EncoderWorker());
}

export function releaseEncoder(encoder: EncoderWorker): void {
  if (encoder !== shared) {
    void encoder.terminate();
    return;
  }
  users = Math.max(0, users - 1);
  if (users > 0) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (users > 0 || shared !== encoder) return;
    shared = undefined;
    void encoder.terminate();
  }, IDLE_MS);
  idleTimer.unref();
}
