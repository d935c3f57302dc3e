/**
 * The export request with a body whose read cost does not depend on how the server chunks or paces it.
 *
 * undici's `request()` body is a Readable with a 64 KiB buffer: whenever the consumer (gunzip, then the parser)
 * is slower than the server, every read pauses the HTTP parser and the next one resumes it. Each resume reads the
 * socket in paused mode (`socket.read()` concatenates everything buffered), copies it into the parser, delivers
 * one HTTP chunk and puts the rest back (`unshift`): with small HTTP chunks a byte is copied many times, and most
 * of the CPU goes there (issue 17: 25–28% of a run; 12 s instead of 2.4 s in a bare reproduction).
 *
 * Here the response goes through an undici dispatch handler instead. Every HTTP chunk is taken as soon as the
 * parser delivers it, into a queue (the Readable's own buffer list: whole Buffers, never concatenated), and the
 * parser is paused only when the queue holds more than `highWaterMark` bytes, and resumed once the consumer has
 * drained it below `lowWaterMark`. So the socket is paused once per (high − low) bytes at most, not once per
 * read. Tiny HTTP chunks (a server writing a few bytes at a time) are copied once into 64 KiB slabs, so what
 * follows (gunzip, framing) sees the same large pieces whatever the server did.
 *
 * The body ends only on the server's clean end of message; a reset, a timeout or an abort destroys it with the
 * transport's error (the caller maps that to TransientError). Destroying the body aborts the request.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

export interface ExportBodyLimits {
  /** Queued body bytes above which the HTTP parser is paused. */
  readonly highWaterMark: number;
  /** Queued body bytes below which a paused parser is resumed. */
  readonly lowWaterMark: number;
  /** HTTP chunks smaller than this are copied into a slab instead of being queued one by one. */
  readonly coalesceBelow: number;
  /** Size of a slab of coalesced small chunks. */
  readonly slabBytes: number;
}

export const DEFAULT_EXPORT_BODY_LIMITS: ExportBodyLimits = Object.freeze({
  highWaterMark: 2 * 1024 * 1024,
  lowWaterMark: 512 * 1024,
  coalesceBelow: 16 * 1024,
  slabBytes: 64 * 1024,
});

export interface ExportHttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: ExportBody;
}

export interface ExportRequestOptions {
  readonly method?: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal | undefined;
  readonly limits?: Partial<ExportBodyLimits>;
}

/** The response body: a Readable fed by the dispatch handler, with `text()` for small (error) bodies. */
export class ExportBody extends Readable {
  readonly #limits: ExportBodyLimits;
  #controller: Dispatcher.DispatchController | null = null;
  #slab: Buffer | null = null;
  #slabUsed = 0;
  #flushScheduled = false;
  #ended = false;
  /** True while the handler is inside `onResponseData` (a resume must not re-enter the parser). */
  #delivering = false;
  /** Times the HTTP parser was paused because the queue was full (for tests and the micro-bench). */
  pauses = 0;
  /** The most body bytes queued at once (the queue's bound in practice: highWaterMark plus one delivery). */
  peakQueuedBytes = 0;

  constructor(limits: ExportBodyLimits) {
    // The Readable's own buffer is the queue; its highWaterMark only decides when `_read` is called.
    super({ highWaterMark: limits.lowWaterMark });
    this.#limits = limits;
  }

  /** @internal the handler's controller (it changes if undici retries the request on a new socket). */
  attach(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  /**
   * @internal one HTTP chunk from the parser.
   *
   * The parser is paused only here, right after this call queued bytes: pushed (which lets Node call `_read`, and
   * so `#resume`, again once the consumer drains) or left in the slab with a flush scheduled (which pushes soon).
   * An empty chunk queues nothing and must not pause: undici's parser delivers one when it resumes with nothing
   * buffered on the socket, and Node calls `_read` before it hands the consumer what is queued, so the queue can
   * still be above the high-water mark at that moment. Pausing then, with no push to come, would leave the parser
   * paused for good (the consumer drains the queue and waits for a push; Node never calls `_read` again).
   */
  accept(chunk: Buffer): void {
    if (this.destroyed || chunk.length === 0) return;
    this.#delivering = true;
    try {
      if (chunk.length < this.#limits.coalesceBelow) this.#coalesce(chunk);
      else {
        this.#flushSlab();
        this.push(chunk);
      }
      const queued = this.readableLength + this.#slabUsed;
      if (queued > this.peakQueuedBytes) this.peakQueuedBytes = queued;
      if (queued > this.#limits.highWaterMark && this.#controller !== null && !this.#controller.paused) {
        this.pauses++;
        this.#controller.pause();
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** @internal the server ended the message cleanly. */
  endOfMessage(): void {
    if (this.destroyed || this.#ended) return;
    this.#ended = true;
    this.#flushSlab();
    this.push(null);
  }

  override _read(): void {
    // Node calls this when a read leaves fewer than highWaterMark (= lowWaterMark) bytes queued: the consumer
    // wants more. Hand over a partly filled slab rather than wait for it to fill, and resume a paused parser.
    if (this.readableLength === 0) this.#flushSlab();
    this.#resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#slab = null;
    this.#slabUsed = 0;
    const controller = this.#controller;
    if (!this.#ended && controller !== null && !controller.aborted) controller.abort(error ?? abortedByConsumer());
    callback(error);
  }

  /** The whole body as UTF-8 text (for small error bodies). */
  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  #coalesce(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#slab === null) {
        this.#slab = Buffer.allocUnsafe(this.#limits.slabBytes);
        this.#slabUsed = 0;
      }
      const n = chunk.copy(this.#slab, this.#slabUsed, at);
      this.#slabUsed += n;
      at += n;
      if (this.#slabUsed === this.#slab.length) this.#flushSlab();
    }
    // A slow server may never fill the slab: hand what there is over once the parser is done with this read.
    if (this.#slabUsed > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        if (!this.destroyed && !this.#ended) this.#flushSlab();
      });
    }
  }

  #flushSlab(): void {
    if (this.#slab === null || this.#slabUsed === 0) return;
    const filled = this.#slab.subarray(0, this.#slabUsed);
    this.#slab = null;
    this.#slabUsed = 0;
    this.push(filled);
  }

  #resume(): void {
    const controller = this.#controller;
    if (controller === null || !controller.paused || this.destroyed) return;
    if (this.#delivering) {
      queueMicrotask(() => this.#resume());
      return;
    }
    controller.resume();
  }
}

function abortedByConsumer(): Error {
  const error = new Error('The export body was closed by its reader before it ended');
  error.name = 'AbortError';
  return error;
}

/**
 * One request through `dispatcher` (the client's undici Agent: its connect, headers and body timeouts apply).
 * Resolves at the response headers with the status, the headers and the body; rejects with the transport's error
 * when no response starts (refused, DNS, reset before the headers, headers timeout, abort).
 */
export function requestExportBody(dispatcher: Dispatcher, url: string, options: ExportRequestOptions): Promise<ExportHttpResponse> {
  const limits: ExportBodyLimits = { ...DEFAULT_EXPORT_BODY_LIMITS, ...options.limits };
  if (!(limits.lowWaterMark > 0 && limits.lowWaterMark < limits.highWaterMark)) {
    throw new RangeError(`export body limits: need 0 < lowWaterMark < highWaterMark, got ${limits.lowWaterMark} and ${limits.highWaterMark}`);
  }
  const target = new URL(url);
  const signal = options.signal;
  return new Promise<ExportHttpResponse>((resolve, reject) => {
    let body: ExportBody | null = null;
    let controller: Dispatcher.DispatchController | null = null;
    let settled = false;
    const onAbort = (): void => {
      const reason = signal?.reason instanceof Error ? signal.reason : abortedByConsumer();
      if (body !== null) body.destroy(reason);
      else controller?.abort(reason);
      if (!settled) {
        settled = true;
        reject(reason);
      }
    };
    const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        body?.attach(c);
        if (signal?.aborted) c.abort(signal.reason instanceof Error ? signal.reason : abortedByConsumer());
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: the real response follows
        body = new ExportBody(limits);
        // The body may fail before its reader attaches (the call is still being handed over): keep that from being
        // an unhandled 'error' event. The reader still sees it (`errored`, `finished()`, async iteration).
        body.on('error', () => {});
        body.attach(c);
        body.once('close', cleanup);
        settled = true;
        resolve({ statusCode, headers, body });
      },
      onResponseData(_c, chunk) {
        body?.accept(chunk);
      },
      onResponseEnd() {
        body?.endOfMessage();
        if (body === null) cleanup();
      },
      onResponseError(_c, error) {
        if (body !== null) {
          if (!body.destroyed) body.destroy(error);
          return;
        }
        cleanup();
        if (!settled) {
          settled = true;
          reject(error);
        }
      },
    };
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : abortedByConsumer());
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    dispatcher.dispatch(
      {
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: { ...options.headers },
        ...(options.body !== undefined ? { body: options.body } : {}),
      },
      handler,
    );
  });
}
