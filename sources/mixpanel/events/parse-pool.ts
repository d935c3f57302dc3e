/**
 * Parse workers for the export body: the calling thread reads HTTP, gunzips and cuts the body into chunks of
 * complete lines; up to `size` worker threads turn chunks into Arrow batches (parse → map → Arrow), so parsing
 * uses the other cores while the runner writes. Results come back in submission order (the caller awaits them in
 * order), so rows keep the body's order. Workers start on first use and are referenced only while busy: an idle
 * pool never keeps the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { tableFromIPC } from 'apache-arrow';
import { DataError, InternalError, TransientError, rememberIpcStream, runtimeEntry, workerFlags, type ConnectorError } from '../../../connector-spec/index.js';
import type { ChunkResult, ChunkSettings } from './parse-chunk.js';
import { parseWorkerReply, type ParseWorkerRequest, type WorkerError } from './parse-protocol.js';

/**
 * Default worker count: one per core beyond the first, at most 4 (the main thread parses too whenever every
 * worker is busy, and the runner's Parquet encoder has its own thread).
 */
export function defaultParseWorkers(cores: number = availableParallelism()): number {
  return Math.max(0, Math.min(4, cores - 1));
}

interface Job {
  readonly request: ParseWorkerRequest;
  readonly resolve: (result: ChunkResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  /** Chunks posted to this worker and not yet answered, oldest first (a worker answers in order). */
  readonly jobs: Job[];
  /** Terminates the worker once it has been idle for the pool's `idleMs` (its heap is returned). */
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * How long an idle parse worker lives. Once an export body is read, its call's rows are merged and encoded on
 * the other threads for seconds (a cdc call is written after its read): a worker kept for the next call would
 * hold its whole V8 heap through that peak. The read retires its idle workers itself when the body ends
 * (`retireIdle`); this timer covers a read that ended otherwise (an error, an abandoned call).
 */
export const PARSE_WORKER_IDLE_MS = 500;

/**
 * Chunks posted to one worker at a time: the one it parses and the next. With one, a worker that finished its
 * chunk waited for this thread's event loop to hand it another, and this thread is busy for tens of
 * milliseconds at a time (its own chunk, the runner's writes): the worker sat idle a quarter of a 1M-event read.
 */
export const POSTED_PER_WORKER = 2;

/**
 * A parse worker's young generation, in MiB (`resourceLimits`; V8's default for a worker is 48). The worker turns
 * ~1 MiB chunks into Arrow batches and keeps nothing between chunks, so a small nursery holds all it needs. With
 * the command's main-thread cap (cli/launch-env.ts) the bench's peaks fell by up to ~55 MiB, most at 5M events,
 * whose peak is a later call's read while this worker is alive, in the same time or less (README, Measured, P).
 */
export const PARSE_WORKER_YOUNG_MB = 8;

/** The worker module: compiled parse-thread.js from dist/, or parse-thread.ts through tsx from the sources. */
const WORKER_ENTRY = runtimeEntry(import.meta.url, './parse-thread');

function errorFromWorker(e: WorkerError): ConnectorError {
  const options = { code: e.code, context: e.context };
  if (e.kind === 'transient') return new TransientError(e.message, options);
  if (e.kind === 'data') return new DataError(e.message, options);
  return new InternalError(e.message, options);
}

export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  /**
   * @param size worker threads (≥ 1), started on first use
   * @param entry the worker module (tests substitute a failing one); default parse-thread
   */
  constructor(
    readonly size: number,
    private readonly entry: { readonly file: string; readonly execArgv: readonly string[] } = WORKER_ENTRY,
    private readonly idleMs: number = PARSE_WORKER_IDLE_MS,
  ) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`ParsePool size must be ≥ 1, got ${size}`);
  }

  /** Worker threads alive now (started on use, retired when idle). */
  get workers(): number {
    return this.slots.length;
  }

  /** Chunks given and not yet answered (running or queued). */
  get pending(): number {
    let posted = 0;
    for (const slot of this.slots) posted += slot.jobs.length;
    return this.queue.length + posted;
  }

  /** Room for a chunk: fewer than POSTED_PER_WORKER per worker pending (one running, the next already posted). */
  get hasRoom(): boolean {
    return !this.closed && this.pending < POSTED_PER_WORKER * this.size;
  }

  /** Parse one chunk on a worker. `bytes` is transferred (unusable here afterwards). */
  parse(bytes: ArrayBuffer, baseOffset: number, settings: ChunkSettings): Promise<ChunkResult> {
    if (this.closed) return Promise.reject(new InternalError('the events parse pool is closed', { code: 'MP_PARSE_POOL_CLOSED' }));
    return new Promise<ChunkResult>((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, bytes, baseOffset, settings }, resolve, reject });
      this.dispatch();
    });
  }

  /** Stop the workers; queued and running chunks fail. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new InternalError('the events parse pool was closed', { code: 'MP_PARSE_POOL_CLOSED' });
    for (const job of this.queue.splice(0)) job.reject(gone);
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      clearTimeout(slot.idleTimer);
      for (const job of slot.jobs.splice(0)) job.reject(gone);
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  /**
   * Post queued chunks to workers, up to POSTED_PER_WORKER each: the next chunk already waits in a worker's own
   * message queue when it finishes one, so it never idles while this thread is busy (parsing a chunk itself,
   * writing rows) and cannot hand it work.
   */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.slots) if (s.jobs.length < POSTED_PER_WORKER && (slot === undefined || s.jobs.length < slot.jobs.length)) slot = s;
      if (slot === undefined || (slot.jobs.length > 0 && this.slots.length < this.size)) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      slot.jobs.push(job);
      slot.worker.ref();
      slot.worker.postMessage(job.request, [job.request.bytes]);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.entry.file, {
      execArgv: [...this.entry.execArgv, ...workerFlags()],
      resourceLimits: { maxYoungGenerationSizeMb: PARSE_WORKER_YOUNG_MB },
    });
    const slot: Slot = { worker, jobs: [], idleTimer: undefined };
    worker.unref();
    const retire = (error: ConnectorError): void => {
      clearTimeout(slot.idleTimer);
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      for (const job of slot.jobs.splice(0)) job.reject(error);
      this.dispatch();
    };
    worker.on('message', (message: unknown) => {
      const job = slot.jobs.shift();
      if (slot.jobs.length === 0) worker.unref();
      if (job !== undefined) {
        try {
          const reply = parseWorkerReply(message);
          if (reply.type === 'failed') job.reject(errorFromWorker(reply.error));
          else {
            const stream = reply.ipc === null ? null : new Uint8Array(reply.ipc);
            const batches = stream === null ? [] : tableFromIPC(stream).batches;
            // A chunk is usually one batch: its stream is then what the runner's staging would write again.
            if (stream !== null && batches.length === 1) rememberIpcStream(batches[0]!, stream);
            job.resolve({ batches, rows: reply.rows, counters: reply.counters, zoneShift: reply.zoneShift });
          }
        } catch (error) {
          job.reject(error);
        }
      }
      this.dispatch();
      if (slot.jobs.length === 0) this.retireWhenIdle(slot);
    });
    worker.on('error', (error) => {
      retire(new TransientError(`An events parse worker failed (${error.message}): the slice is retried`, { code: 'MP_PARSE_WORKER_FAILED' }));
    });
    worker.on('exit', (code) => {
      if (!this.closed) retire(new TransientError(`An events parse worker exited (code ${code}): the slice is retried`, { code: 'MP_PARSE_WORKER_FAILED' }));
    });
    this.slots.push(slot);
    return slot;
  }

  /**
   * Terminate the workers that hold no chunk now, without waiting for `idleMs`: called when an export body has
   * been read, because the call's merge and encoding start at once and would otherwise overlap the worker's heap.
   */
  retireIdle(): void {
    for (const slot of [...this.slots]) {
      if (slot.jobs.length > 0) continue;
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      this.slots.splice(this.slots.indexOf(slot), 1);
      void slot.worker.terminate();
    }
  }

  private retireWhenIdle(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      const index = this.slots.indexOf(slot);
      if (slot.jobs.length > 0 || index < 0) return;
      this.slots.splice(index, 1);
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }
}
