/**
 * Real-shaped bench datasets (`.bench/real-<N>-<days>d-s<seed>-g<generator version>/`), generated once and reused. N distinct events
 * over `days` UTC days ending on LAST_DATA_DAY, laid out as the export server serves them (files in name order):
 *
 *   YYYY-MM-DD.r1.0001-1-orig.jsonl   originals (a run of 5k–30k events, in time order; ~1% processed late:
 *   YYYY-MM-DD.r1.0001-2-copy.jsonl   hours to days after `time`) followed by re-sent copies of ~1% of them
 *   YYYY-MM-DD.r1.0002-1-orig.jsonl   (same event, distinct_id, time — 10% a different millisecond of the same
 *   …                                  second — and $insert_id; a later mp_processing_time_ms): same day, same call
 *   YYYY-MM-DD.r2.jsonl               processed between the first and the second run: cross-call copies of ~0.2%
 *                                     of the events of the last 5 days, and new late events (0.1% of N) on those days
 *
 * Every `r1` line is processed at or before the first run's upper bound U1 (BENCH_NOW − 10 min safety lag), every
 * `r2` line in (U1, U2] (U2: one hour later), so the first run receives exactly the r1 files and the second exactly
 * the r2 files. The expected distinct events (in total and per event date) are counted here, by construction and
 * Mixpanel's rule (a copy shares event, distinct_id, time in seconds and $insert_id), not by the connector's code.
 * A `manifest.json` written last marks a complete dataset.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DAY_MS, LAST_DATA_DAY, dateOf, dayStartMs } from '../dataset.js';
import { prng } from '../generator.js';
import { REAL_GENERATOR_VERSION, hasInsertId, realEventLine } from './generator.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** The connector's default safety lag (events option `safety_lag`, 10 minutes). */
export const SAFETY_LAG_MS = 10 * MINUTE_MS;
/** The connector's default `lookback_days`: how far back the second run re-scans. */
export const LOOKBACK_DAYS = 5;
/** The first run's clock: 01:00 UTC the day after the last data day (as the other bench rows). */
export const FIRST_RUN_NOW_MS = dayStartMs(LAST_DATA_DAY) + DAY_MS + HOUR_MS;
/** The second (incremental) run's clock: one hour later. */
export const SECOND_RUN_NOW_MS = FIRST_RUN_NOW_MS + HOUR_MS;

export type RealFileKind = 'orig' | 'copy' | 'run2';

export interface RealFile {
  readonly name: string;
  readonly date: string;
  readonly kind: RealFileKind;
  readonly lines: number;
  readonly bytes: number;
}

export interface ExpectedRows {
  readonly total: number;
  readonly byDay: Readonly<Record<string, number>>;
}

export interface RealManifest {
  readonly kind: 'real-events';
  readonly version: 1;
  readonly events: number;
  readonly days: number;
  readonly seed: number;
  /** Upper processing-time bounds of the two runs (the source's `now − safety_lag`). */
  readonly firstUpperMs: number;
  readonly secondUpperMs: number;
  readonly files: readonly RealFile[];
  readonly expected: { readonly firstRun: ExpectedRows; readonly secondRun: ExpectedRows };
  readonly counts: {
    readonly copiesWithinRun: number;
    readonly copiesSameSecond: number;
    readonly copiesAcrossRuns: number;
    readonly lateFirstRun: number;
    readonly lateSecondRun: number;
    readonly withoutInsertId: number;
  };
}

export interface RealDataset extends RealManifest {
  readonly dir: string;
}

/** The files one run is served, in body order: the first run with or without the copies, or the second run. */
export function servedFiles(dataset: RealDataset, run: 'first' | 'first-no-copies' | 'second'): RealFile[] {
  return dataset.files.filter((f) => (run === 'second' ? f.kind === 'run2' : f.kind === 'orig' || (run === 'first' && f.kind === 'copy')));
}

/** The export server's `--skip` for the same data without the re-sent copies. */
export const SKIP_COPIES = '-copy\\.jsonl$';

class FileWriter {
  #stream: WriteStream;
  #text = '';
  lines = 0;
  bytes = 0;
  constructor(readonly path: string) {
    this.#stream = createWriteStream(`${path}.tmp`);
  }
  async line(text: string): Promise<void> {
    this.#text += text + '\n';
    this.lines++;
    if (this.#text.length > 1 << 20) await this.#flush();
  }
  async #flush(): Promise<void> {
    if (this.#text === '') return;
    const buffer = Buffer.from(this.#text, 'utf8');
    this.#text = '';
    this.bytes += buffer.length;
    if (!this.#stream.write(buffer)) await once(this.#stream, 'drain');
  }
  async close(): Promise<void> {
    await this.#flush();
    this.#stream.end();
    await once(this.#stream, 'close');
    await rename(`${this.path}.tmp`, this.path);
  }
}

interface Copy {
  readonly index: number;
  readonly timeMs: number;
  readonly processingMs: number;
}

/** Generate (or reuse) the dataset of `events` distinct events over `days` days. */
export async function ensureRealDataset(root: string, events: number, days: number, seed = 1, log: (msg: string) => void = () => {}): Promise<RealDataset> {
  const dir = join(root, `real-${events}-${days}d-s${seed}-g${REAL_GENERATOR_VERSION}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) return { ...(JSON.parse(await readFile(manifestPath, 'utf8')) as RealManifest), dir };
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  const u1 = FIRST_RUN_NOW_MS - SAFETY_LAG_MS;
  const u2 = SECOND_RUN_NOW_MS - SAFETY_LAG_MS;
  const rand = prng(seed * 7_777 + days);
  const firstDay = dayStartMs(LAST_DATA_DAY) - (days - 1) * DAY_MS;
  const lookbackFrom = dayStartMs(dateOf(u1)) - LOOKBACK_DAYS * DAY_MS;
  const files: RealFile[] = [];
  const first: Record<string, number> = {};
  const second: Record<string, number> = {};
  const counts = { copiesWithinRun: 0, copiesSameSecond: 0, copiesAcrossRuns: 0, lateFirstRun: 0, lateSecondRun: 0, withoutInsertId: 0 };
  const done = async (writer: FileWriter, date: string, kind: RealFileKind): Promise<void> => {
    await writer.close();
    if (writer.lines === 0) await rm(writer.path, { force: true });
    else files.push({ name: writer.path.slice(dir.length + 1), date, kind, lines: writer.lines, bytes: writer.bytes });
  };
  let index = 0;
  for (let d = 0; d < days; d++) {
    const dayStart = firstDay + d * DAY_MS;
    const date = dateOf(dayStart);
    const count = Math.floor(events / days) + (d < events % days ? 1 : 0);
    first[date] = count;
    const acrossRuns: Copy[] = [];
    let segment = 0;
    let k = 0;
    while (k < count) {
      segment++;
      const size = Math.min(count - k, 5_000 + Math.floor(rand() * 25_000));
      const stem = join(dir, `${date}.r1.${String(segment).padStart(4, '0')}`);
      const originals = new FileWriter(`${stem}-1-orig.jsonl`);
      const copies: Copy[] = [];
      for (let end = k + size; k < end; k++, index++) {
        const spread = dayStart + Math.floor(((k + 0.5) * DAY_MS) / count) + Math.floor(rand() * 997) - 498;
        const timeMs = Math.min(dayStart + DAY_MS - 1, Math.max(dayStart, spread)); // irregular milliseconds, same day
        let processingMs = timeMs + 500 + Math.floor(rand() * 60_000);
        if (rand() < 0.01) {
          // Late: processed hours to days after `time`, still before the first run's bound.
          processingMs = Math.min(timeMs + HOUR_MS + Math.floor(rand() * 71 * HOUR_MS), u1 - 1 - Math.floor(rand() * HOUR_MS));
          if (processingMs <= timeMs) processingMs = timeMs + 1;
          counts.lateFirstRun++;
        }
        await originals.line(realEventLine(seed, index, { timeMs, processingMs }));
        if (!hasInsertId(seed, index)) {
          counts.withoutInsertId++;
          continue;
        }
        const r = rand();
        if (r < 0.01 && u1 - processingMs > 2) {
          // Re-sent within the same day's export: a later processing time, ≤ U1.
          const later = processingMs + 1 + Math.floor(rand() * Math.min(2 * HOUR_MS, (u1 - processingMs) / 2));
          const sameSecond = rand() < 0.1;
          const copyTime = sameSecond ? timeMs - (timeMs % 1000) + ((timeMs % 1000) + 1 + Math.floor(rand() * 998)) % 1000 : timeMs;
          if (sameSecond) counts.copiesSameSecond++;
          copies.push({ index, timeMs: copyTime, processingMs: later });
        } else if (r < 0.012 && dayStart >= lookbackFrom) {
          // Re-sent after the first run: only the second (incremental) run receives it.
          acrossRuns.push({ index, timeMs, processingMs: u1 + 1 + Math.floor(rand() * (u2 - u1 - 1)) });
        }
      }
      await done(originals, date, 'orig');
      const copyWriter = new FileWriter(`${stem}-2-copy.jsonl`);
      for (const c of copies) await copyWriter.line(realEventLine(seed, c.index, c));
      counts.copiesWithinRun += copies.length;
      await done(copyWriter, date, 'copy');
    }
    if (dayStart >= lookbackFrom) {
      // The second run's arrivals on this day: cross-call copies, then new late events (indexes after all originals).
      const run2 = new FileWriter(join(dir, `${date}.r2.jsonl`));
      for (const c of acrossRuns) await run2.line(realEventLine(seed, c.index, c));
      counts.copiesAcrossRuns += acrossRuns.length;
      const late = Math.max(1, Math.round(count * 0.001));
      for (let i = 0; i < late; i++) {
        const lateIndex = events + counts.lateSecondRun;
        const timeMs = dayStart + Math.floor(rand() * DAY_MS);
        await run2.line(realEventLine(seed, lateIndex, { timeMs, processingMs: u1 + 1 + Math.floor(rand() * (u2 - u1 - 1)) }));
        counts.lateSecondRun++;
      }
      second[date] = count + late;
      await done(run2, date, 'run2');
    } else {
      second[date] = count;
    }
  }
  const total = (byDay: Record<string, number>): number => Object.values(byDay).reduce((a, b) => a + b, 0);
  const manifest: RealManifest = {
    kind: 'real-events',
    version: 1,
    events,
    days,
    seed,
    firstUpperMs: u1,
    secondUpperMs: u2,
    files,
    expected: { firstRun: { total: total(first), byDay: first }, secondRun: { total: total(second), byDay: second } },
    counts,
  };
  await writeFile(manifestPath, JSON.stringify(manifest, null, 1));
  log(`generated ${events} real-shaped events over ${days} day(s) in ${((performance.now() - started) / 1000).toFixed(1)} s → ${dir}`);
  return { ...manifest, dir };
}
