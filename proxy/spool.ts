/**
 * The durable spool writer: appends NDJSON lines to the newest segment and fsyncs before the caller's promise
 * resolves. Appends that arrive while a write+fsync is in flight are grouped into the next one (group commit),
 * so many concurrent requests share one fsync. A segment is rotated when it would exceed `segmentBytes`.
 * A started writer always opens a NEW segment (sequence = newest existing + 1), so a torn tail left by a crash
 * is never appended to. One writer per folder: `.writer.lock` is a lease (connector-spec/lease) naming the
 * proxy's host, pid and process start time. A restart takes it over at once when that process is gone (absent,
 * a zombie, or its pid reused, as after a container restart); a proxy on another host waits out its lease.
 */
import { closeSync, fsync, fsyncSync, openSync, write } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { TransientError, acquireLease, describeExpiry, describeHolder, type Lease, type LeaseHeld, type Logger, type ProcessIdentitySource } from '../connector-spec/index.js';
import { segmentName, segmentSequence } from '../sources/mixpanel_proxy/index.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const LOCK_NAME = '.writer.lock';

export interface SpoolWriterOptions {
  readonly dir: string;
  /** Rotate when a segment would grow beyond this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Says when a stale lock is taken over, or who holds it while this writer waits. */
  readonly logger?: Logger;
  /** Lease of the spool lock (default 2 minutes): a proxy on another host waits at most this long after a crash. */
  readonly leaseMs?: number;
  /** Tests: injected process identity and clock. */
  readonly identity?: ProcessIdentitySource;
  readonly now?: () => number;
}

export interface SpoolStats {
  readonly segment: string;
  readonly linesWritten: number;
  readonly bytesWritten: number;
  readonly fsyncs: number;
  readonly failures: number;
}

interface Pending {
  readonly data: string;
  resolve(): void;
  reject(error: unknown): void;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Folders a writer of THIS process holds (a lock file with our own pid is otherwise a previous incarnation's:
 * in a container the restarted proxy often gets the same pid, e.g. 1). */
const heldInProcess = new Set<string>();

function spoolLockedError(dir: string): (held: LeaseHeld) => Error {
  return (held) =>
    new TransientError(
      `spool ${dir} is in use by process ${held.holder.pid ?? '?'} (${describeHolder(held.holder)}; ${held.file}); ${describeExpiry(held.holder)}; run one proxy per spool folder or give this one its own --spool`,
      { code: 'SPOOL_LOCKED', context: { path: held.file, holderPid: held.holder.pid, holderHost: held.holder.host, leaseExpiresAt: held.holder.leaseExpiresAt } },
    );
}

async function takeLock(options: SpoolWriterOptions): Promise<Lease> {
  const dir = options.dir;
  if (heldInProcess.has(path.resolve(dir))) throw new Error(`spool ${dir} already has a writer in this process; give each proxy its own --spool`);
  // A live proxy on this host: fail at once. One that may be dead elsewhere (a rescheduled pod): wait out its
  // lease rather than restart in a loop.
  const lease = await acquireLease(path.join(dir, LOCK_NAME), {
    waitMs: 0,
    awaitForeignExpiry: true,
    heldError: spoolLockedError(dir),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  heldInProcess.add(path.resolve(dir));
  return lease;
}

export class SpoolWriter {
  private fd = -1;
  private segment = '';
  private sequence = 0;
  private size = 0;
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  private lease: Lease | undefined;
  private stats = { linesWritten: 0, bytesWritten: 0, fsyncs: 0, failures: 0 };
  private readonly segmentBytes: number;

  private constructor(private readonly dir: string, segmentBytes: number) {
    this.segmentBytes = segmentBytes;
  }

  static async open(options: SpoolWriterOptions): Promise<SpoolWriter> {
    await fs.mkdir(options.dir, { recursive: true });
    const writer = new SpoolWriter(options.dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    writer.lease = await takeLock(options);
    const names = await fs.readdir(options.dir);
    const newest = Math.max(0, ...names.map((n) => segmentSequence(n) ?? 0));
    await writer.openSegment(newest + 1);
    return writer;
  }

  private async openSegment(sequence: number): Promise<void> {
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
    this.sequence = sequence;
    this.segment = segmentName(sequence);
    this.fd = openSync(path.join(this.dir, this.segment), 'a');
    this.size = 0;
    await fsyncDir(this.dir); // the new name is durable before any line in it is acknowledged
  }

  /** Append whole lines (each ending in `\n`); resolves once they are on disk (fsync). */
  append(lines: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('spool writer is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data: lines, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const data = Buffer.from(batch.map((p) => p.data).join(''), 'utf8');
          if (this.size > 0 && this.size + data.length > this.segmentBytes) await this.openSegment(this.sequence + 1);
          await this.writeAll(data);
          this.size += data.length;
          this.stats.bytesWritten += data.length;
          for (const p of batch) this.stats.linesWritten += countLines(p.data);
          for (const p of batch) p.resolve();
        } catch (error) {
          this.stats.failures++;
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** write + fsync on the libuv thread pool (the event loop keeps serving), one pair per group. */
  private async writeAll(data: Buffer): Promise<void> {
    const fd = this.fd;
    let off = 0;
    while (off < data.length) {
      off += await new Promise<number>((resolve, reject) => write(fd, data, off, data.length - off, null, (error, n) => (error ? reject(error) : resolve(n))));
    }
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
    this.stats.fsyncs++;
  }

  get info(): SpoolStats {
    return { segment: this.segment, ...this.stats };
  }

  /** Flush what is queued, close the segment and release the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
    await this.lease?.release();
    heldInProcess.delete(path.resolve(this.dir));
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
