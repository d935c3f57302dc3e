/**
 * The durable spool writer: appends NDJSON lines to the newest segment and fsyncs before the caller's promise
 * resolves. Appends that arrive while a write+fsync is in flight are grouped into the next one (group commit),
 * so many concurrent requests share one fsync. A segment is rotated when it would exceed `segmentBytes`.
 * A started writer always opens a NEW segment (sequence = newest existing + 1), so a torn tail left by a crash
 * is never appended to. One writer per folder: `.writer.lock` holds the pid; a lock of a dead process is taken over.
 */
import { closeSync, constants, fsync, fsyncSync, openSync, write } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { segmentName, segmentSequence } from '../sources/mixpanel_proxy/spool-format.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const LOCK_NAME = '.writer.lock';

export interface SpoolWriterOptions {
  readonly dir: string;
  /** Rotate when a segment would grow beyond this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
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

async function takeLock(dir: string): Promise<string> {
  const file = path.join(dir, LOCK_NAME);
  if (heldInProcess.has(path.resolve(dir))) throw new Error(`spool ${dir} already has a writer in this process; give each proxy its own --spool`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fs.open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await handle.writeFile(`${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`);
      await handle.sync();
      await handle.close();
      heldInProcess.add(path.resolve(dir));
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let pid = NaN;
      try {
        pid = Number((JSON.parse(await fs.readFile(file, 'utf8')) as { pid?: unknown }).pid);
      } catch {
        // unreadable lock: treat as stale
      }
      if (Number.isSafeInteger(pid) && pid !== process.pid && processAlive(pid)) {
        throw new Error(`spool ${dir} is in use by process ${pid} (${file}); run one proxy per spool folder or give this one its own --spool`);
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new Error(`could not take the spool lock ${file}`);
}

export class SpoolWriter {
  private fd = -1;
  private segment = '';
  private sequence = 0;
  private size = 0;
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  private lockFile = '';
  private stats = { linesWritten: 0, bytesWritten: 0, fsyncs: 0, failures: 0 };
  private readonly segmentBytes: number;

  private constructor(private readonly dir: string, segmentBytes: number) {
    this.segmentBytes = segmentBytes;
  }

  static async open(options: SpoolWriterOptions): Promise<SpoolWriter> {
    await fs.mkdir(options.dir, { recursive: true });
    const writer = new SpoolWriter(options.dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    writer.lockFile = await takeLock(options.dir);
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
    await fs.rm(this.lockFile, { force: true });
    heldInProcess.delete(path.resolve(this.dir));
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
