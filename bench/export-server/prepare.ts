/**
 * The export server's preparation of a data folder, done once and cached: for each `YYYY-MM-DD…jsonl` file, its
 * line count, CRC-32, the range of `time` and `mp_processing_time_ms` over its lines, and a raw-deflate copy cut
 * into independently compressed segments of irregular size, each ending on a sync flush. Segments of several
 * files can then be concatenated into one gzip member at request time (see `gzipFrame`), so answering costs no
 * compression, and the deflate block structure is this server's own, not the connector's nor the emulator's.
 *
 * Each line's `time` and `mp_processing_time_ms` are its first `"time":` and `"mp_processing_time_ms":` (Mixpanel
 * export lines start their properties with them).
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface IndexedFile {
  readonly name: string;
  /** `YYYY-MM-DD`: the event date of every line (the file name's prefix). */
  readonly date: string;
  readonly path: string;
  readonly bytes: number;
  readonly lines: number;
  readonly crc: number;
  readonly minProcessing: number;
  readonly maxProcessing: number;
  readonly minTime: number;
  readonly maxTime: number;
  readonly deflatePath: string;
  readonly deflateBytes: number;
}

export interface PrepareOptions {
  /** zlib level of the cached deflate segments (default 6). */
  readonly level?: number;
  /** Seed of the irregular segment sizes. */
  readonly seed?: number;
  readonly log?: (text: string) => void;
}

const FILE = /^(\d{4}-\d{2}-\d{2}).*\.jsonl$/;
const TIME = Buffer.from('"time":');
const PROCESSING = Buffer.from('"mp_processing_time_ms":');
const NEWLINE = 0x0a;

/** xorshift32 in [0, 1). */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** The integer after `key` within line [start, end), or null. */
function numberAfter(buf: Buffer, key: Buffer, start: number, end: number): number | null {
  const at = buf.indexOf(key, start);
  if (at === -1 || at >= end) return null;
  let i = at + key.length;
  while (buf[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++, digits++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return digits === 0 ? null : n;
}

/** Calls `line(start, end, time, processing)` for each complete line of `buf`; returns where the unfinished tail starts. */
export function scanLines(buf: Buffer, line: (start: number, end: number, time: number | null, processing: number | null) => void): number {
  let start = 0;
  for (let nl = buf.indexOf(NEWLINE); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
    line(start, nl + 1, numberAfter(buf, TIME, start, nl), numberAfter(buf, PROCESSING, start, nl));
    start = nl + 1;
  }
  return start;
}

/** Raw deflate of `plain` with a sync flush at the end: a piece that can be followed by any other such piece. */
export function deflateSegment(plain: Buffer, level: number): Buffer {
  return deflateRawSync(plain, { level, finishFlush: constants.Z_SYNC_FLUSH });
}

async function indexFile(path: string, name: string, date: string, deflatePath: string, options: PrepareOptions): Promise<IndexedFile> {
  const level = options.level ?? 6;
  const size = xorshift((options.seed ?? 1) ^ [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261));
  let target = 0;
  const nextTarget = (): number => 48 * 1024 + Math.floor(size() * 900 * 1024);
  target = nextTarget();
  let carry = Buffer.alloc(0);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lines = 0;
  let bytes = 0;
  let crc = 0;
  let minProcessing = Number.POSITIVE_INFINITY;
  let maxProcessing = Number.NEGATIVE_INFINITY;
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  const out = await open(`${deflatePath}.tmp`, 'w');
  let deflateBytes = 0;
  const emit = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const segment = deflateSegment(Buffer.concat(pending, pendingBytes), level);
    await out.write(segment);
    deflateBytes += segment.length;
    pending = [];
    pendingBytes = 0;
    target = nextTarget();
  };
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const tail = scanLines(buf, (_s, _e, time, processing) => {
        lines++;
        if (time !== null) {
          if (time < minTime) minTime = time;
          if (time > maxTime) maxTime = time;
        }
        if (processing !== null) {
          if (processing < minProcessing) minProcessing = processing;
          if (processing > maxProcessing) maxProcessing = processing;
        }
      });
      const complete = buf.subarray(0, tail);
      carry = Buffer.from(buf.subarray(tail));
      bytes += complete.length;
      crc = crc32(complete, crc);
      pending.push(complete);
      pendingBytes += complete.length;
      if (pendingBytes >= target) await emit();
    }
    if (carry.length > 0) throw new Error(`${path}: the last line has no newline`);
    await emit();
  } finally {
    await out.close();
  }
  await rename(`${deflatePath}.tmp`, deflatePath);
  return { name, date, path, bytes, lines, crc, minProcessing, maxProcessing, minTime, maxTime, deflatePath, deflateBytes };
}

/**
 * Index every `YYYY-MM-DD…jsonl` file of `dir` (sorted by name), reusing the cache in `cacheDir` when the file's
 * size and mtime are unchanged.
 */
export async function prepareDirectory(dir: string, cacheDir: string, options: PrepareOptions = {}): Promise<IndexedFile[]> {
  await mkdir(cacheDir, { recursive: true });
  const names = (await readdir(dir)).filter((n) => FILE.test(n)).sort();
  const files: IndexedFile[] = [];
  const started = performance.now();
  let compressed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path);
    const deflatePath = join(cacheDir, `${name}.deflate`);
    const metaPath = join(cacheDir, `${name}.json`);
    const key = { size: info.size, mtimeMs: info.mtimeMs, level: options.level ?? 6, seed: options.seed ?? 1 };
    if (existsSync(metaPath) && existsSync(deflatePath)) {
      const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { key: typeof key; file: IndexedFile };
      if (JSON.stringify(meta.key) === JSON.stringify(key)) {
        files.push({ ...meta.file, path, deflatePath });
        continue;
      }
    }
    const file = await indexFile(path, name, FILE.exec(name)![1]!, deflatePath, options);
    await writeFile(metaPath, JSON.stringify({ key, file }));
    files.push(file);
    compressed += file.bytes;
  }
  if (compressed > 0) options.log?.(`indexed and compressed ${(compressed / 1e6).toFixed(0)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return files;
}

const CRC_MASK = 0xffffffff;
const ZEROS = Buffer.alloc(1 << 20);

/**
 * CRC-32 of A‖B from crc(A), crc(B) and |B|, without the bytes. CRC-32 is affine over GF(2): with R(s, M) the
 * register after M from state s, crc(A‖B) = R(crc(A), 0^|B|) ⊕ crc(B). `zlib.crc32(data, value)` computes
 * R(value ⊕ mask, data) ⊕ mask, so the zero-byte shift R(s, 0^n) is `crc32(zeros(n), s ⊕ mask) ⊕ mask`.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  let register = crcA >>> 0;
  for (let left = lengthB; left > 0; left -= ZEROS.length) {
    const zeros = ZEROS.subarray(0, Math.min(left, ZEROS.length));
    register = (crc32(zeros, (register ^ CRC_MASK) >>> 0) ^ CRC_MASK) >>> 0;
  }
  return (register ^ crcB) >>> 0;
}

/** The 10-byte gzip header (no name, no mtime) and the end: an empty final block, CRC-32 and length mod 2^32. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);

export function gzipTrailer(crc: number, length: number): Buffer {
  const end = Buffer.alloc(10);
  end[0] = 0x03; // BFINAL=1, BTYPE=01 (fixed Huffman), end-of-block: an empty final block
  end[1] = 0x00;
  end.writeUInt32LE(crc >>> 0, 2);
  end.writeUInt32LE(length % 2 ** 32, 6);
  return end;
}
