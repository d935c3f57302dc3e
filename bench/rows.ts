/**
 * The measured rows of the bench: each runs one job in a child process against the bench server, reads the
 * output back (bytes, row count) and turns it into a table row.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatProfileSummary, summarizeProfileDir } from './cpu-profile.js';
import { DAY_MS, LAST_DATA_DAY, dayFilePath, dayStartMs, ensureEventsDataset, ensureProfilesDataset, type EventsDataset } from './dataset.js';
import type { BenchJob } from './jobs.js';
import type { BenchServer } from './server.js';
import { runChild, type ChildRun } from './spawn-child.js';
import type { BenchRow } from './table.js';
import { rowsVerdict, tableBytes, tableRows } from './table-rows.js';

export type BenchWindow = '1d' | '30d';

/** What the row functions need from the bench options. */
export interface RowOptions {
  readonly cpuProf?: boolean;
  readonly nodeFlags?: string[];
  readonly keep?: boolean;
  readonly repeat?: number;
  readonly appendOnly?: boolean;
  readonly maxEventsPerCall?: number;
  readonly mergeEncoders?: number;
}

export interface Context {
  readonly root: string;
  readonly server: BenchServer;
  readonly options: RowOptions;
  readonly print: (text: string) => void;
}

const WINDOW_DAYS: Readonly<Record<BenchWindow, number>> = { '1d': 1, '30d': 30 };
/** The source's clock: 01:00 UTC the day after the last data day (so `now − safety_lag` is past every event). */
export const BENCH_NOW_MS = dayStartMs(LAST_DATA_DAY) + DAY_MS + 3_600_000;
/** The "nothing new" run comes one hour later: a real incremental call over the lookback, finding nothing. */
export const INCREMENTAL_NOW_MS = BENCH_NOW_MS + 3_600_000;

export function human(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}

export type Measured = { run: ChildRun; apiCalls: number };

/** A server's request log: the in-process bench server, or the export server's child process. */
export interface RequestLog {
  readonly log: readonly { readonly status: number; readonly path: string; readonly params: Readonly<Record<string, string>> }[];
  resetLog(): void;
}

export async function measure(ctx: Context, label: string, job: BenchJob, requests: RequestLog = ctx.server): Promise<Measured> {
  const profDir = join(ctx.root, 'prof', label.replace(/[^A-Za-z0-9]+/g, '-'));
  const flags = [...(ctx.options.nodeFlags ?? [])];
  if (ctx.options.cpuProf && job.kind === 'pipeline') {
    await rm(profDir, { recursive: true, force: true });
    await mkdir(profDir, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  requests.resetLog();
  const run = await runChild(job, { nodeFlags: flags });
  // A server in another process logs through a pipe: let its last lines arrive.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const apiCalls = requests.log.length;
  const failed = requests.log.filter((r) => r.status >= 400);
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
export async function measureFresh(ctx: Context, label: string, job: BenchJob, prepare: () => Promise<void>, requests: RequestLog = ctx.server): Promise<Measured> {
  const runs: Measured[] = [];
  const n = Math.max(1, ctx.options.repeat ?? 1);
  for (let i = 0; i < n; i++) {
    await prepare();
    runs.push(await measure(ctx, n > 1 ? `${label} [${i + 1}/${n}]` : label, job, requests));
    if (runs.at(-1)!.run.result.error) return runs.at(-1)!;
  }
  const sorted = [...runs].sort((a, b) => a.run.result.seconds - b.run.result.seconds);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const peakRssMb = Math.max(...runs.map((r) => r.run.peakRssMb));
  return { ...median, run: { ...median.run, peakRssMb } };
}

export function row(label: string, records: number, jsonlBytes: number | null, m: Measured | null, parquet: number | null, vsDuckdb: number | null = null, check: string | null = null): BenchRow {
  return {
    check,
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

/** Reads the table back (bench/table-rows.ts) and compares it with the expected rows; prints and returns the verdict. */
export async function checkRows(ctx: Context, label: string, lakehouse: string, table: string, expected: number, expectedBy?: { readonly column: string; readonly counts: Readonly<Record<string, number>> }): Promise<string> {
  let verdict: string;
  try {
    verdict = rowsVerdict(await tableRows(lakehouse, table, expectedBy?.column), expected, expectedBy?.counts);
  } catch (error) {
    verdict = `WRONG: table not readable (${error instanceof Error ? error.message : String(error)})`;
  }
  if (verdict !== 'ok') ctx.print(`  ${label}: CHECK FAILED: ${verdict} (expected ${expected.toLocaleString('en-US')} rows)`);
  return verdict;
}

export async function duckdbRow(ctx: Context, dataset: EventsDataset): Promise<BenchRow> {
  const label = `duckdb ${human(dataset.events)} (baseline)`;
  const out = join(ctx.root, 'runs', `duckdb-${dataset.events}.parquet`);
  await mkdir(join(ctx.root, 'runs'), { recursive: true });
  const files = dataset.files.map((f) => dayFilePath(dataset.dir, f.date, false));
  const m = await measureFresh(ctx, label, { kind: 'duckdb', files, out }, () => rm(out, { force: true }));
  const bytes = await stat(out).then((s) => s.size, () => null);
  if (!ctx.options.keep) await rm(out, { force: true });
  return row(label, dataset.events, dataset.bytes, m, bytes);
}

export async function eventsRows(ctx: Context, events: number, window: BenchWindow, withIncremental: boolean, duckdbRate: number | null): Promise<BenchRow[]> {
  const days = WINDOW_DAYS[window];
  const dataset = await ensureEventsDataset(ctx.root, events, days, 1, ctx.print);
  ctx.server.setEvents(dataset);
  const label = `events ${human(events)} × ${window}${ctx.options.appendOnly ? ' APPEND_ONLY' : ''}`;
  const runDir = join(ctx.root, 'runs', `events-${events}-${window}`);
  const base = {
    kind: 'pipeline',
    table: 'events',
    baseUrl: ctx.server.url,
    historicalDays: days,
    lakehouseDir: join(runDir, 'lakehouse'),
    stateDir: join(runDir, 'state'),
    appendOnly: ctx.options.appendOnly ?? false,
    ...(ctx.options.maxEventsPerCall !== undefined ? { maxEventsPerCall: ctx.options.maxEventsPerCall } : {}),
    ...(ctx.options.mergeEncoders !== undefined ? { mergeEncoders: ctx.options.mergeEncoders } : {}),
  } as const;
  const m = await measureFresh(ctx, label, { ...base, nowMs: BENCH_NOW_MS }, () => rm(runDir, { recursive: true, force: true }));
  const bytes = await tableBytes(base.lakehouseDir, 'events');
  const check = m.run.result.error ? null : await checkRows(ctx, label, base.lakehouseDir, 'events', events);
  const rate = m.run.result.seconds > 0 ? events / m.run.result.seconds : 0;
  const rows = [row(label, events, dataset.bytes, m, bytes, duckdbRate ? rate / duckdbRate : null, check)];
  if (withIncremental && !m.run.result.error) {
    const incLabel = `events incremental, nothing new (after ${label.slice('events '.length)})`;
    const inc = await measure(ctx, incLabel, { ...base, nowMs: INCREMENTAL_NOW_MS });
    rows.push(row(incLabel, 0, null, inc, (await tableBytes(base.lakehouseDir, 'events')) - bytes));
  }
  if (!ctx.options.keep) await rm(runDir, { recursive: true, force: true });
  return rows;
}

export async function engageRows(ctx: Context, profiles: number): Promise<BenchRow[]> {
  const dataset = await ensureProfilesDataset(ctx.root, profiles, 1, ctx.print);
  await ctx.server.setProfiles(dataset);
  const label = `engage ${human(profiles)} profiles`;
  const runDir = join(ctx.root, 'runs', `engage-${profiles}`);
  const base = { kind: 'pipeline', table: 'engage', baseUrl: ctx.server.url, historicalDays: 30, lakehouseDir: join(runDir, 'lakehouse'), stateDir: join(runDir, 'state') } as const;
  const m = await measureFresh(ctx, label, { ...base, nowMs: BENCH_NOW_MS }, () => rm(runDir, { recursive: true, force: true }));
  const bytes = await tableBytes(base.lakehouseDir, 'engage');
  const check = m.run.result.error ? null : await checkRows(ctx, label, base.lakehouseDir, 'engage', profiles);
  const rows = [row(label, profiles, null, m, bytes, null, check)];
  if (!m.run.result.error) {
    const incLabel = `engage incremental, nothing new (after ${human(profiles)})`;
    const inc = await measure(ctx, incLabel, { ...base, nowMs: INCREMENTAL_NOW_MS });
    rows.push(row(incLabel, 0, null, inc, (await tableBytes(base.lakehouseDir, 'engage')) - bytes));
  }
  if (!ctx.options.keep) await rm(runDir, { recursive: true, force: true });
  return rows;
}
