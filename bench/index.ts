/**
 * `npm run bench`: generates deterministic datasets once (`.bench/`), serves them from a loopback server, runs
 * the real connector path in child processes (so peak RSS is the connector's own), runs the DuckDB baseline on
 * the same JSONL, and prints one table. Not part of `npm test`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { acquireLease, describeHolder } from '../connector-spec/index.js';
import { ensureEventsDataset } from './dataset.js';
import { realRows } from './real/rows.js';
import { duckdbRow, engageRows, eventsRows, human, row, type BenchWindow, type Context } from './rows.js';
import { startBenchServer } from './server.js';
import { REPO_ROOT } from './spawn-child.js';
import { formatMarkdownTable, formatTable, type BenchRow } from './table.js';

export { BENCH_NOW_MS, INCREMENTAL_NOW_MS, type BenchWindow } from './rows.js';

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
  /** Events with `scd_type: APPEND_ONLY` (no cdc merge), to isolate the merge's cost. */
  readonly appendOnly?: boolean;
  /** The events option `max_events_per_call` (default: the connector's, 5M; 0 = no limit). */
  readonly maxEventsPerCall?: number;
  /** `--merge-encoders`: encoder workers of a big cdc merge that rewrites no file (default the connector's, 1). */
  readonly mergeEncoders?: number;
  /** Run sizes even when their projected peak RSS exceeds half of the machine's RAM. */
  readonly force?: boolean;
  /** Keep the written lakehouses under `.bench/runs/`. */
  readonly keep?: boolean;
  /** Dataset and scratch folder (default `<repo>/.bench`). */
  readonly dir?: string;
  /** Repeat each first-run measurement N times (fresh lakehouse each time) and keep the median (default 1). */
  readonly repeat?: number;
  /** Skip the tracking proxy's added-latency row (1,000 requests; default on). */
  readonly noProxy?: boolean;
  /** Skip the emulator footprint row (1M events generated and served; quick: 250k; default on). */
  readonly noEmulator?: boolean;
  /** Skip the real-shaped rows (re-sent copies, late and hostile events, the export server in its own process). */
  readonly noReal?: boolean;
  /** Only the real-shaped rows: skip today's clean-data rows and their DuckDB baseline. */
  readonly onlyReal?: boolean;
  /** Pace the real-shaped rows' export server at this many bytes/s (default: as fast as the socket drains). */
  readonly rateBytesPerSecond?: number;
  /** Where to print (default process.stdout). */
  readonly out?: (text: string) => void;
}

export function machineNote(): string {
  const cpu = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${load}`;
}

/** The bench's lock in its folder: one bench at a time writes `runs/` and owns the machine's cores. */
export const BENCH_LOCK = '.bench.lock';

export async function runBench(options: BenchOptions = {}): Promise<void> {
  const root = options.dir ?? join(REPO_ROOT, '.bench');
  // Two benches on one folder overwrite each other's runs/ (one failed with ENOENT on the other's temp file) and each
  // measures the other's load. A lock whose holder is gone (a killed bench) is taken over at once.
  const lock = await acquireLease(join(root, BENCH_LOCK), {
    heldError: (held) =>
      new Error(`another bench is running on ${root} (${describeHolder(held.holder)}): two benches on one folder overwrite each other's runs/ and measure each other's load; wait for it to finish, or stop it`),
  });
  try {
    await runBenchLocked(options, root);
  } finally {
    await lock.release();
  }
}

async function runBenchLocked(options: BenchOptions, root: string): Promise<void> {
  const print = options.out ?? ((text: string) => void process.stdout.write(`${text}\n`));
  const quick = options.quick ?? false;
  const sizes = options.events ?? (quick ? [100_000] : [1_000_000, 5_000_000]);
  const profiles = options.profiles ?? (quick ? 10_000 : 1_000_000);
  const windows = options.windows ?? ['1d', '30d'];
  await mkdir(root, { recursive: true });
  const server = await startBenchServer({ gzip: options.gzip ?? true });
  const ctx: Context = { root, server, options, print };
  const before = machineNote();
  print(`bench: ${before}`);
  print(`bench: events ${sizes.map(human).join(', ')} × windows ${windows.join(', ')}; engage ${human(profiles)} profiles; gzip ${options.gzip ?? true ? 'on' : 'off'}; datasets in ${root}`);
  const rows: BenchRow[] = [];
  const rssByWindow = new Map<string, { events: number; rssMb: number }>();
  /** Guard for a shared machine: if memory grew with size so far, do not run a size projected to exhaust RAM. */
  const tooBig = (key: string, events: number): string | null => {
    const previous = rssByWindow.get(key);
    const projectedMb = previous === undefined ? 0 : (previous.rssMb * events) / previous.events;
    if (options.force || projectedMb <= (0.5 * totalmem()) / 2 ** 20) return null;
    return `skipped: projected peak RSS ${(projectedMb / 1024).toFixed(1)} GiB (from ${previous!.rssMb.toFixed(0)} MiB at ${human(previous!.events)}) exceeds half of RAM; --force runs it`;
  };
  try {
    for (const [i, events] of sizes.entries()) {
      let duckdbRate: number | null = null;
      if (!options.onlyReal && !options.noDuckdb) {
        const baseline = await ensureEventsDataset(root, events, 1, 1, print);
        const duck = await duckdbRow(ctx, baseline);
        rows.push(duck);
        duckdbRate = duck.error || duck.seconds === 0 ? null : events / duck.seconds;
      }
      for (const [j, window] of windows.entries()) {
        if (options.onlyReal) break;
        const why = tooBig(window, events);
        if (why !== null) {
          print(`  events ${human(events)} × ${window}: ${why}`);
          rows.push({ ...row(`events ${human(events)} × ${window}`, events, null, null, null), error: why });
          continue;
        }
        const result = await eventsRows(ctx, events, window, i === 0 && j === 0, duckdbRate);
        const first = result[0];
        if (first && !first.error && first.peakRssMb !== null) rssByWindow.set(window, { events, rssMb: first.peakRssMb });
        rows.push(...result);
      }
      for (const window of options.noReal ? [] : windows) {
        const why = tooBig(`real ${window}`, events);
        if (why !== null) {
          print(`  real ${human(events)} × ${window}: ${why}`);
          rows.push({ ...row(`real ${human(events)} × ${window}`, events, null, null, null), error: why });
          continue;
        }
        const result = await realRows(ctx, events, window, {
          ...(options.noDuckdb ? { noDuckdb: true } : {}),
          ...(options.rateBytesPerSecond ? { rateBytesPerSecond: options.rateBytesPerSecond } : {}),
        });
        const first = result.find((r) => r.label.startsWith('real ') && !r.error && r.peakRssMb !== null);
        if (first) rssByWindow.set(`real ${window}`, { events, rssMb: first.peakRssMb! });
        rows.push(...result);
      }
    }
    if (profiles > 0) rows.push(...(await engageRows(ctx, profiles)));
  } finally {
    await server.close();
  }
  const extras: string[] = [];
  if (!options.noProxy) {
    const { benchProxyLatency } = await import('../proxy/bench-latency.js');
    const r = await benchProxyLatency({ requests: 1_000 });
    extras.push(
      `proxy added latency over direct (1,000 requests, lake side stalled, spool fsync on): p50 ${r.addedP50Ms} ms, p99 ${r.addedP99Ms} ms ` +
        `(direct p50 ${r.directP50Ms} / p99 ${r.directP99Ms} ms; via proxy p50 ${r.proxyP50Ms} / p99 ${r.proxyP99Ms} ms; target p99 < 20 ms)`,
    );
  }
  if (!options.noEmulator) {
    const { measureEmulatorMemory } = await import('../emulator/scripts/measure-memory.js');
    const n = quick ? 250_000 : 1_000_000;
    const m = await measureEmulatorMemory(n, false);
    extras.push(`emulator footprint: generated and served ${human(m.events)} events (drained by a client in another process): peak RSS ${m.peakRssMB.toFixed(0)} MB (target < 200 MB)`);
  }
  const after = machineNote();
  print('');
  print(formatTable(rows));
  for (const line of extras) print(line);
  print('');
  print(`machine before: ${before}`);
  print(`machine after:  ${after}`);
  print('records/s and MB/s use the measured seconds of runPipeline (or the DuckDB COPY) inside the child, without process start-up;');
  print('peak RSS is the whole child process (/usr/bin/time -v); × DuckDB = our events/s ÷ DuckDB events/s on the same JSONL.');
  print('real rows: the export server runs in its own process; records are the lines served (re-sent copies included);');
  print('rows = distinct: the table read back (bench/table-rows.ts) holds exactly the distinct events the generator counted, in total and per day.');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(join(root, `results-${stamp}.json`), JSON.stringify({ machineBefore: before, machineAfter: after, rows }, null, 1));
  await writeFile(join(root, `results-${stamp}.md`), `${formatMarkdownTable(rows)}\n\n${before}\n`);
}
