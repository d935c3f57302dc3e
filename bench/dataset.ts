/**
 * Pre-generated bench datasets under `.bench/` (gitignored), built once per (size, window, seed) and reused:
 * - events: one JSONL file per UTC day (plus a gzip copy), so the server answers `/api/2.0/export` for any
 *   date range by streaming whole files;
 * - profiles: engage pages of 1000, each pre-rendered as the inside of a JSON array, with a byte index.
 * A `manifest.json` written last marks a complete dataset.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import { eventLine, profileJson } from './generator.js';

export const DAY_MS = 86_400_000;
/** The last day that holds data; every dataset ends here, so the bench clock is fixed too. */
export const LAST_DATA_DAY = '2026-03-31';

export interface DayFile {
  readonly date: string;
  readonly events: number;
  readonly bytes: number;
  readonly gzBytes: number;
  readonly minProcessingMs: number;
  readonly maxProcessingMs: number;
}

export interface EventsManifest {
  readonly kind: 'events';
  readonly events: number;
  readonly days: number;
  readonly seed: number;
  readonly bytes: number;
  readonly gzBytes: number;
  readonly files: readonly DayFile[];
}

export interface EventsDataset extends EventsManifest {
  readonly dir: string;
}

export interface ProfilesManifest {
  readonly kind: 'profiles';
  readonly profiles: number;
  readonly seed: number;
  /** Bytes of `profiles.bin`: every profile's JSON followed by a comma, in `$last_seen` order. */
  readonly bytes: number;
  readonly lastSeenFromMs: number;
  readonly lastSeenSpanMs: number;
}

export interface ProfilesDataset extends ProfilesManifest {
  readonly dir: string;
}

/** `$last_seen` of profile i: non-decreasing in i, whole seconds (engage dates have no milliseconds). */
export function profileLastSeenMs(m: Pick<ProfilesManifest, 'profiles' | 'lastSeenFromMs' | 'lastSeenSpanMs'>, i: number): number {
  return Math.floor((m.lastSeenFromMs + Math.floor((i * m.lastSeenSpanMs) / Math.max(1, m.profiles))) / 1000) * 1000;
}

export function dayStartMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

export function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function dayFilePath(dir: string, date: string, gzip: boolean): string {
  return join(dir, `${date}.jsonl${gzip ? '.gz' : ''}`);
}

/** Write a chunk to a stream, waiting for `drain` when its buffer is full (backpressure). */
async function write(stream: WriteStream | Gzip, chunk: string | Buffer): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

async function end(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, 'close');
}

/** Generate one day's JSONL and its gzip copy (gzip runs on the libuv pool while JS builds the next lines). */
async function writeDay(dir: string, seed: number, date: string, firstIndex: number, count: number): Promise<DayFile> {
  const plain = createWriteStream(dayFilePath(dir, date, false) + '.tmp');
  const gzFile = createWriteStream(dayFilePath(dir, date, true) + '.tmp');
  const gzip = createGzip({ level: 6 });
  gzip.pipe(gzFile);
  const start = dayStartMs(date);
  let bytes = 0;
  let minProcessingMs = Number.POSITIVE_INFINITY;
  let maxProcessingMs = 0;
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const index = firstIndex + i;
    const timeMs = start + Math.floor(((i + 0.5) * DAY_MS) / count);
    const processingMs = timeMs + 500 + ((index * 7919) % 60_000);
    if (processingMs < minProcessingMs) minProcessingMs = processingMs;
    if (processingMs > maxProcessingMs) maxProcessingMs = processingMs;
    chunk += eventLine(seed, index, { timeMs, processingMs }) + '\n';
    if (chunk.length > 1 << 20 || i === count - 1) {
      const buffer = Buffer.from(chunk, 'utf8');
      bytes += buffer.length;
      chunk = '';
      await Promise.all([write(plain, buffer), write(gzip, buffer)]);
    }
  }
  gzip.end();
  await Promise.all([end(plain), once(gzFile, 'close')]);
  await rename(dayFilePath(dir, date, false) + '.tmp', dayFilePath(dir, date, false));
  await rename(dayFilePath(dir, date, true) + '.tmp', dayFilePath(dir, date, true));
  return { date, events: count, bytes, gzBytes: gzFile.bytesWritten, minProcessingMs, maxProcessingMs };
}

/** The N events spread evenly over the `days` UTC days ending on LAST_DATA_DAY; generated once, then reused. */
export async function ensureEventsDataset(root: string, events: number, days: number, seed = 1, log: (msg: string) => void = () => {}): Promise<EventsDataset> {
  const dir = join(root, `events-${events}-${days}d-s${seed}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    return { ...(JSON.parse(await readFile(manifestPath, 'utf8')) as EventsManifest), dir };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  const firstDay = dayStartMs(LAST_DATA_DAY) - (days - 1) * DAY_MS;
  const files: DayFile[] = [];
  let index = 0;
  for (let d = 0; d < days; d++) {
    const count = Math.floor(events / days) + (d < events % days ? 1 : 0);
    files.push(await writeDay(dir, seed, dateOf(firstDay + d * DAY_MS), index, count));
    index += count;
  }
  const manifest: EventsManifest = {
    kind: 'events',
    events,
    days,
    seed,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    gzBytes: files.reduce((s, f) => s + f.gzBytes, 0),
    files,
  };
  await writeFile(manifestPath, JSON.stringify(manifest, null, 1));
  log(`generated ${events} events over ${days} day(s) in ${((performance.now() - started) / 1000).toFixed(1)} s → ${dir}`);
  return { ...manifest, dir };
}

/**
 * N engage profiles whose `$last_seen` spreads over the 30 days ending on LAST_DATA_DAY, in `$last_seen` order,
 * in `profiles.bin` (each followed by a comma) with `offsets.bin` (N+1 little-endian uint32 start offsets), so
 * any page of any `$last_seen` suffix is one byte range.
 */
export async function ensureProfilesDataset(root: string, profiles: number, seed = 1, log: (msg: string) => void = () => {}): Promise<ProfilesDataset> {
  const dir = join(root, `profiles-${profiles}-s${seed}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    return { ...(JSON.parse(await readFile(manifestPath, 'utf8')) as ProfilesManifest), dir };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  const out = createWriteStream(join(dir, 'profiles.bin'));
  const shape = { profiles, lastSeenFromMs: dayStartMs(LAST_DATA_DAY) - 29 * DAY_MS, lastSeenSpanMs: 30 * DAY_MS - 1000 };
  const offsets = new Uint32Array(profiles + 1);
  let offset = 0;
  let chunk = '';
  for (let i = 0; i < profiles; i++) {
    const text = profileJson(seed, i, profileLastSeenMs(shape, i)) + ',';
    offsets[i] = offset;
    offset += Buffer.byteLength(text, 'utf8');
    chunk += text;
    if (chunk.length > 1 << 20 || i === profiles - 1) {
      await write(out, chunk);
      chunk = '';
    }
  }
  offsets[profiles] = offset;
  await end(out);
  if (offset >= 2 ** 32) throw new RangeError(`profiles.bin is ${offset} bytes; offsets are uint32 (use fewer profiles)`);
  await writeFile(join(dir, 'offsets.bin'), new Uint8Array(offsets.buffer));
  const manifest: ProfilesManifest = { kind: 'profiles', seed, bytes: offset, ...shape };
  await writeFile(manifestPath, JSON.stringify(manifest));
  log(`generated ${profiles} profiles in ${((performance.now() - started) / 1000).toFixed(1)} s → ${dir}`);
  return { ...manifest, dir };
}
