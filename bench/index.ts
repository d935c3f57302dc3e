/**
 * `npm run bench`: generates deterministic datasets once (`.bench/`), serves them from a loopback server, runs
 * the real connector path in child processes (so peak RSS is the connector's own), runs the DuckDB baseline on
 * the same JSONL, and prints one table. Not part of `npm test`.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProfileSummary, summarizeProfileDir } from './cpu-profile.js';
import { DAY_MS, LAST_DATA_DAY, dayFilePath, dayStartMs, ensureEventsDataset, ensureProfilesDataset, type EventsDataset } from './dataset.js';
import { parquetBytes, parquetRowCount } from './files.js';
import type { BenchJob } from './jobs.js';
import { startBenchServer, type BenchServer } from './server.js';
import { runChild, type ChildRun } from './spawn-child.js';
import { formatMarkdownTable, formatTable, type BenchRow } from './table.js';

export type BenchWindow = '1d' | '30d';

export interface BenchOptions {
  /** Event counts (default 1M and 5M; quick: 100k). */
  readonly events?: number[];
  /** Profiles for the engage rows (default 1M; quick: 10k). 0 skips engage. */
  readonly profiles?: number;
  /** Windows the events are spread over (default both). */
  readonly windows?: BenchWindow[];
  /** Smoke run: 100k events, 10k profiles. */
  readonly quick?: boolean;
  /** Pass `--cpu-prof` to each connector child and print the top self-time functions and stages. */
  readonly cpuProf?: boolean;
  /** Serve gzip (default true, like Mixpanel). */
  readonly gzip?: boolean;
  /** Extra node flags for the connector children (e.g. `--max-old-space-size=256`). */
  readonly nodeFlags?: string[];
  /** Skip the DuckDB baseline rows. */
  readonly noDuckdb?: boolean;
  /** Run sizes even when their projected peak RSS exceeds half of the machine's RAM. */
  readonly force?: boolean;
  /** Keep the written lakehouses under `.bench/runs/`. */
  readonly keep?: boolean;
  /** Dataset and scratch folder (default `<repo>/.bench`). */
  readonly dir?: string;
  /** Repeat each first-run measurement N times (fresh lakehouse each time) and keep the median (default 1). */
  readonly repeat?: number;
  /** Where to print (default process.stdout). */
  readonly out?: (text: string) => void;
}

const WINDOW_DAYS: Readonly<Record<BenchWindow, number>> = { '1d': 1, '30d': 30 };
/** The source's clock: 01:00 UTC the day after the last data day (so `now − safety_lag` is past every event). */
export const BENCH_NOW_MS = dayStartMs(LAST_DATA_DAY) + DAY_MS + 3_600_000;
/** The "nothing new" run comes one hour later: a real incremental call over the lookback, finding nothing. */
export const INCREMENTAL_NOW_MS = BENCH_NOW_MS + 3_600_000;

function human(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}

interface Context {
  readonly root: string;
  readonly server: BenchServer;
  readonly options: BenchOptions;
  readonly print: (text: string) => void;
}

type Measured = { run: ChildRun; apiCalls: number };

async function measure(ctx: Context, label: string, job: BenchJob): Promise<Measured> {
  const profDir = join(ctx.root, 'prof', label.replace(/[^A-Za-z0-9]+/g, '-'));
  const flags = [...(ctx.options.nodeFlags ?? [])];
  if (ctx.options.cpuProf && job.kind === 'pipeline') {
    await rm(profDir, { recursive: true, force: true });
    await mkdir(profDir, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  ctx.server.resetLog();
  const run = await runChild(job, { nodeFlags: flags });
  const apiCalls = ctx.server.log.length;
  const failed = ctx.server.log.filter((r) => r.status >= 400);
  if (failed.length > 0) ctx.print(`  ${label}: ${failed.length} request(s) failed, first: ${failed[0]!.status} ${failed[0]!.path} ${JSON.stringify(failed[0]!.params)}`);
  if (run.result.error) ctx.print(`  ${label}: FAILED ${run.result.error}`);
  else {
    const cpu = (run.result.userCpuMs + run.result.systemCpuMs) / 1000;
    ctx.print(
      `  ${label}: ${run.result.seconds.toFixed(2)} s (whole process ${run.processSeconds.toFixed(2)} s, CPU ${cpu.toFixed(1)} s), ` +
        `peak RSS ${run.peakRssMb.toFixed(0)} MiB (peaks: JS heap ${run.result.memoryPeaksMb.heapUsed}, external ${run.result.memoryPeaksMb.external} MiB), ` +
        `${apiCalls} API call(s)`,
    );
  }
  if (run.result.warnings.length > 0) ctx.print(`  ${label}: ${run.result.warnings.length} warning(s), first: ${run.result.warnings[0]}`);
  if (ctx.options.cpuProf && job.kind === 'pipeline') {
    // The busiest thread is the connector's main thread; other threads (the tsx loader, parquet workers) are
    // shown only when they did real work.
    const summaries = await summarizeProfileDir(profDir);
    const busiest = summaries[0]?.busyMs ?? 0;
    for (const summary of summaries.filter((s) => s.busyMs >= 0.1 * busiest)) ctx.print(formatProfileSummary(summary));
  }
  return { run, apiCalls };
}

/**
 * `repeat` fresh runs (`prepare` resets their output first); the median by seconds is kept, with the highest
 * peak RSS of all of them (memory is reported conservatively). The last run's output stays on disk.
 */
async function measureFresh(ctx: Context, label: string, job: BenchJob, prepare: () => Promise<void>): Promise<Measured> {
  const runs: Measured[] = [];
  const n = Math.max(1, ctx.options.repeat ?? 1);
  for (let i = 0; i < n; i++) {
    await prepare();
    runs.push(await measure(ctx, n > 1 ? `${label} [${i + 1}/${n}]` : label, job));
    if (runs.at(-1)!.run.result.error) return runs.at(-1)!;
  }
  const sorted = [...runs].sort((a, b) => a.run.result.seconds - b.run.result.seconds);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const peakRssMb = Math.max(...runs.map((r) => r.run.peakRssMb));
  return { ...median, run: { ...median.run, peakRssMb } };
}

function row(label: string, records: number, jsonlBytes: number | null, m: Measured | null, parquet: number | null, vsDuckdb: number | null = null): BenchRow {
  return {
    label,
    records,
    jsonlBytes,
    seconds: m?.run.result.seconds ?? 0,
    peakRssMb: m?.run.peakRssMb ?? null,
    parquetBytes: parquet,
    apiCalls: m?.apiCalls ?? null,
    vsDuckdb,
    error: m?.run.result.error ?? null,
  };
}

async function checkRows(ctx: Context, label: string, lakehouse: string, table: string, expected: number): Promise<void> {
  const count = await parquetRowCount(join(lakehouse, table, '**', '*.parquet')).catch(() => -1);
  if (count !== expected) ctx.print(`  ${label}: CHECK FAILED: ${count} rows in the lakehouse, expected ${expected}`);
}

async function duckdbRow(ctx: Context, dataset: EventsDataset): Promise<BenchRow> {
  const label = `duckdb ${human(dataset.events)} (baseline)`;
  const out = join(ctx.root, 'runs', `duckdb-${dataset.events}.parquet`);
  await mkdir(join(ctx.root, 'runs'), { recursive: true });
  const files = dataset.files.map((f) => dayFilePath(dataset.dir, f.date, false));
  const m = await measureFresh(ctx, label, { kind: 'duckdb', files, out }, () => rm(out, { force: true }));
  const bytes = await stat(out).then((s) => s.size, () => null);
  if (!ctx.options.keep) await rm(out, { force: true });
  return row(label, dataset.events, dataset.bytes, m, bytes);
}

async function eventsRows(ctx: Context, events: number, window: BenchWindow, withIncremental: boolean, duckdbRate: number | null): Promise<BenchRow[]> {
  const days = WINDOW_DAYS[window];
  const dataset = await ensureEventsDataset(ctx.root, events, days, 1, ctx.print);
  ctx.server.setEvents(dataset);
  const label = `events ${human(events)} × ${window}`;
  const runDir = join(ctx.root, 'runs', `events-${events}-${window}`);
  const base = { kind: 'pipeline', table: 'events', baseUrl: ctx.server.url, historicalDays: days, lakehouseDir: join(runDir, 'lakehouse'), stateDir: join(runDir, 'state') } as const;
  const m = await measureFresh(ctx, label, { ...base, nowMs: BENCH_NOW_MS }, () => rm(runDir, { recursive: true, force: true }));
  const bytes = await parquetBytes(join(base.lakehouseDir, 'events'));
  if (!m.run.result.error) await checkRows(ctx, label, base.lakehouseDir, 'events', events);
  const rate = m.run.result.seconds > 0 ? events / m.run.result.seconds : 0;
  const rows = [row(label, events, dataset.bytes, m, bytes, duckdbRate ? rate / duckdbRate : null)];
  if (withIncremental && !m.run.result.error) {
    const incLabel = `events incremental, nothing new (after ${human(events)} × ${window})`;
    const inc = await measure(ctx, incLabel, { ...base, nowMs: INCREMENTAL_NOW_MS });
    rows.push(row(incLabel, 0, null, inc, (await parquetBytes(join(base.lakehouseDir, 'events'))) - bytes));
  }
  if (!ctx.options.keep) await rm(runDir, { recursive: true, force: true });
  return rows;
}

async function engageRows(ctx: Context, profiles: number): Promise<BenchRow[]> {
  const dataset = await ensureProfilesDataset(ctx.root, profiles, 1, ctx.print);
  await ctx.server.setProfiles(dataset);
  const label = `engage ${human(profiles)} profiles`;
  const runDir = join(ctx.root, 'runs', `engage-${profiles}`);
  const base = { kind: 'pipeline', table: 'engage', baseUrl: ctx.server.url, historicalDays: 30, lakehouseDir: join(runDir, 'lakehouse'), stateDir: join(runDir, 'state') } as const;
  const m = await measureFresh(ctx, label, { ...base, nowMs: BENCH_NOW_MS }, () => rm(runDir, { recursive: true, force: true }));
  const bytes = await parquetBytes(join(base.lakehouseDir, 'engage'));
  if (!m.run.result.error) await checkRows(ctx, label, base.lakehouseDir, 'engage', profiles);
  const rows = [row(label, profiles, null, m, bytes)];
  if (!m.run.result.error) {
    const incLabel = `engage incremental, nothing new (after ${human(profiles)})`;
    const inc = await measure(ctx, incLabel, { ...base, nowMs: INCREMENTAL_NOW_MS });
    rows.push(row(incLabel, 0, null, inc, (await parquetBytes(join(base.lakehouseDir, 'engage'))) - bytes));
  }
  if (!ctx.options.keep) await rm(runDir, { recursive: true, force: true });
  return rows;
}

export function machineNote(): string {
  const cpu = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${load}`;
}

export async function runBench(options: BenchOptions = {}): Promise<void> {
  const print = options.out ?? ((text: string) => void process.stdout.write(`${text}\n`));
  const quick = options.quick ?? false;
  const sizes = options.events ?? (quick ? [100_000] : [1_000_000, 5_000_000]);
  const profiles = options.profiles ?? (quick ? 10_000 : 1_000_000);
  const windows = options.windows ?? ['1d', '30d'];
  const root = options.dir ?? fileURLToPath(new URL('../.bench', import.meta.url));
  await mkdir(root, { recursive: true });
  const server = await startBenchServer({ gzip: options.gzip ?? true });
  const ctx: Context = { root, server, options, print };
  const before = machineNote();
  print(`bench: ${before}`);
  print(`bench: events ${sizes.map(human).join(', ')} × windows ${windows.join(', ')}; engage ${human(profiles)} profiles; gzip ${options.gzip ?? true ? 'on' : 'off'}; datasets in ${root}`);
  const rows: BenchRow[] = [];
  const rssByWindow = new Map<BenchWindow, { events: number; rssMb: number }>();
  try {
    for (const [i, events] of sizes.entries()) {
      let duckdbRate: number | null = null;
      if (!options.noDuckdb) {
        const baseline = await ensureEventsDataset(root, events, 1, 1, print);
        const duck = await duckdbRow(ctx, baseline);
        rows.push(duck);
        duckdbRate = duck.error || duck.seconds === 0 ? null : events / duck.seconds;
      }
      for (const [j, window] of windows.entries()) {
        // Guard for a shared machine: if memory grew with size so far, do not run a size projected to exhaust RAM.
        const previous = rssByWindow.get(window);
        const projectedMb = previous === undefined ? 0 : (previous.rssMb * events) / previous.events;
        if (!options.force && projectedMb > (0.5 * totalmem()) / 2 ** 20) {
          const why = `skipped: projected peak RSS ${(projectedMb / 1024).toFixed(1)} GiB (from ${previous!.rssMb.toFixed(0)} MiB at ${human(previous!.events)}) exceeds half of RAM; --force runs it`;
          print(`  events ${human(events)} × ${window}: ${why}`);
          rows.push({ ...row(`events ${human(events)} × ${window}`, events, null, null, null), error: why });
          continue;
        }
        const result = await eventsRows(ctx, events, window, i === 0 && j === 0, duckdbRate);
        const first = result[0];
        if (first && !first.error && first.peakRssMb !== null) rssByWindow.set(window, { events, rssMb: first.peakRssMb });
        rows.push(...result);
      }
    }
    if (profiles > 0) rows.push(...(await engageRows(ctx, profiles)));
  } finally {
    await server.close();
  }
  const after = machineNote();
  print('');
  print(formatTable(rows));
  print('');
  print(`machine before: ${before}`);
  print(`machine after:  ${after}`);
  print('records/s and MB/s use the measured seconds of runPipeline (or the DuckDB COPY) inside the child, without process start-up;');
  print('peak RSS is the whole child process (/usr/bin/time -v); × DuckDB = our events/s ÷ DuckDB events/s on the same JSONL.');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(join(root, `results-${stamp}.json`), JSON.stringify({ machineBefore: before, machineAfter: after, rows }, null, 1));
  await writeFile(join(root, `results-${stamp}.md`), `${formatMarkdownTable(rows)}\n\n${before}\n`);
}
