/**
 * The write side of a run, measured alone: `node dist/bench/write-path.js --events 200000 --window 1d [--repeat 3]
 * [--runs first,incremental,no-copies] [--node-flag F]…` (or `node --import tsx bench/write-path.ts …`).
 *
 * The real Mixpanel source reads the real-shaped dataset (bench/real/, served by the export server in its own
 * process) once, and every batch it yields is recorded as Arrow IPC next to the dataset (`replay-<run>-<call>.arrows`).
 * Each measured run then replays those batches, call by call with the recorded cursors, into `runPipeline` in a child
 * process: staging, the key index, the cdc merge, Parquet encoding and the Delta commits run exactly as in
 * `mixpanel-lakeflow run`, without the HTTP and parse cost (another engineer's half of the bench), so the write
 * path's wall time, CPU and peak RSS can be compared A/B on a shared machine. Runs:
 *   first        the first sync of the dataset (≈1% re-sent copies within the call)
 *   incremental  the second run one hour later on that table (cross-call copies and late events: copy-on-write)
 *   no-copies    the first sync without the re-sent copies (what the copies cost)
 * Every run checks the table: rows = the distinct events the generator counted, in total and per day.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { Table, tableFromIPC, tableToIPC, type RecordBatch } from 'apache-arrow';
import { launchEnv } from '../cli/launch-env.js';
import { CallTooLargeError, MAX_RESIZES_PER_CALL, cursorsEqual, emptyReadStats, runtimeEntry, silentLogger, type Cursor, type LakeflowSource, type TableRead } from '../connector-spec/index.js';
import { parsePipelineSpec, runPipeline, validateSpecAgainstSource } from '../runner/index.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../sources/mixpanel/index.js';
import { FIRST_RUN_NOW_MS, SECOND_RUN_NOW_MS, SKIP_COPIES, ensureRealDataset, type ExpectedRows, type RealDataset } from './real/dataset.js';
import { startExportServer } from './real/server-process.js';
import { parseTimeMaxRssKb, REPO_ROOT } from './spawn-child.js';
import { rowsVerdict, tableBytes, tableRows } from './table-rows.js';

type Recorded = 'first' | 'first-no-copies' | 'second';

interface RecordedCall {
  readonly in: Cursor;
  readonly out: Cursor;
  readonly file: string;
  readonly rows: number;
}

interface Recording {
  readonly calls: readonly RecordedCall[];
}

interface ChildJob {
  readonly recording: string;
  readonly lakehouseDir: string;
  readonly stateDir: string;
}

interface ChildOutcome {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly rowsWritten: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly peaksMb: { readonly rss: number; readonly heapUsed: number; readonly external: number; readonly arrayBuffers: number };
  readonly error: string | null;
}

const RESULT = 'WRITE_PATH_RESULT ';
const SELF = runtimeEntry(import.meta.url, './write-path');

function mixpanel(baseUrl: string, days: number, nowMs: number): LakeflowSource {
  const config = mixpanelConfigFromEnv({ MIXPANEL_API_SECRET: 'bench-api-secret', MIXPANEL_BASE_URL: baseUrl, MIXPANEL_HISTORICAL_DAYS: String(days) });
  return createMixpanelSource(config, { now: () => nowMs, logger: silentLogger });
}

/** Each batch as one Arrow IPC stream, after its length (8 bytes, little-endian). */
async function writeBatches(file: string, batches: AsyncIterable<RecordBatch>): Promise<number> {
  const handle = await open(file, 'w');
  let rows = 0;
  try {
    for await (const batch of batches) {
      rows += batch.numRows;
      const ipc = tableToIPC(new Table([batch]), 'stream');
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(ipc.byteLength));
      await handle.write(length);
      await handle.write(ipc);
    }
  } finally {
    await handle.close();
  }
  return rows;
}

async function* readBatches(file: string): AsyncGenerator<RecordBatch, void, undefined> {
  const handle = await open(file, 'r');
  try {
    const length = Buffer.alloc(8);
    for (let at = 0; ; ) {
      const { bytesRead } = await handle.read(length, 0, 8, at);
      if (bytesRead < 8) return;
      const n = Number(length.readBigUInt64LE());
      const ipc = Buffer.allocUnsafe(n);
      await handle.read(ipc, 0, n, at + 8);
      at += 8 + n;
      yield* tableFromIPC(ipc).batches;
    }
  } finally {
    await handle.close();
  }
}

/** Read one run with the real source and record its calls (batches as Arrow IPC, cursors as JSON). */
async function record(dataset: RealDataset, run: Recorded, from: Cursor, log: (text: string) => void): Promise<Recording> {
  const server = await startExportServer({ dataDir: dataset.dir, ...(run === 'first-no-copies' ? { skip: SKIP_COPIES } : {}) });
  const source = mixpanel(server.url, dataset.days, run === 'second' ? SECOND_RUN_NOW_MS : FIRST_RUN_NOW_MS);
  const calls: RecordedCall[] = [];
  try {
    let cursor = from;
    let resized = 0;
    for (let i = 0; ; i++) {
      const file = join(dataset.dir, `replay-${run}-${i}.arrows`);
      let out: Cursor = cursor;
      const read = source.readTable('events', cursor, { stats: emptyReadStats(), logger: silentLogger });
      const batches = async function* () {
        let step = await read.next();
        while (!step.done) {
          yield step.value;
          step = await read.next();
        }
        out = step.value;
      };
      let rows: number;
      try {
        rows = await writeBatches(file, batches());
      } catch (error) {
        // As the runner does: the source re-planned the same cursor smaller; its rows are discarded and it is read again.
        if (!(error instanceof CallTooLargeError) || ++resized > MAX_RESIZES_PER_CALL) throw error;
        await rm(file, { force: true });
        log(`  recording ${run}: ${error.message}`);
        i--;
        continue;
      }
      resized = 0;
      if (rows === 0 && cursorsEqual(out, cursor)) {
        await rm(file, { force: true });
        break;
      }
      calls.push({ in: cursor, out, file: `replay-${run}-${i}.arrows`, rows });
      cursor = out;
    }
  } finally {
    await source.close?.();
    await server.close();
  }
  const recording: Recording = { calls };
  await writeFile(join(dataset.dir, `replay-${run}.json`), JSON.stringify(recording));
  return recording;
}

async function recorded(dataset: RealDataset, run: Recorded, log: (text: string) => void): Promise<Recording> {
  const path = join(dataset.dir, `replay-${run}.json`);
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as Recording;
  const started = performance.now();
  let from: Cursor = null;
  if (run === 'second') from = (await recorded(dataset, 'first', log)).calls.at(-1)?.out ?? null;
  const recording = await record(dataset, run, from, log);
  log(`recorded the ${run} run's batches (${recording.calls.reduce((n, c) => n + c.rows, 0)} rows, ${recording.calls.length} call(s)) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return recording;
}

/** A source that yields the recorded batches of each call, with the real source's schema and metadata. */
function replaySource(dir: string, recording: Recording): LakeflowSource {
  const real = mixpanel('http://127.0.0.1:9', 1, FIRST_RUN_NOW_MS);
  return {
    name: real.name,
    listTables: () => real.listTables(),
    getSchema: (table, options) => real.getSchema(table, options),
    readTableMetadata: (table, options) => real.readTableMetadata(table, options),
    listTableOptions: (table) => real.listTableOptions(table),
    readTable(_table, cursor): TableRead {
      const call = recording.calls.find((c) => cursorsEqual(c.in, cursor));
      return (async function* () {
        if (!call) return cursor;
        yield* readBatches(join(dir, call.file));
        return call.out;
      })();
    },
    close: () => real.close?.() ?? Promise.resolve(),
  };
}

async function child(job: ChildJob): Promise<void> {
  const peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peaks.rss = Math.max(peaks.rss, m.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
    peaks.external = Math.max(peaks.external, m.external);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 50);
  const recording = JSON.parse(await readFile(job.recording, 'utf8')) as Recording;
  const source = replaySource(join(job.recording, '..'), recording);
  const spec = parsePipelineSpec(JSON.stringify({ connection_name: 'bench', objects: [{ table: { source_table: 'events' } }] }), 'write-path-spec.json');
  let outcome: Omit<ChildOutcome, 'cpuSeconds' | 'peaksMb'>;
  const cpu = process.cpuUsage();
  try {
    await validateSpecAgainstSource(spec, source);
    const started = performance.now();
    const report = await runPipeline({ spec, source, lakehouse: job.lakehouseDir, stateDir: job.stateDir, env: process.env, logger: silentLogger });
    const seconds = (performance.now() - started) / 1000;
    const failed = report.tables.find((t) => t.status === 'failed');
    if (failed) throw new Error(`table ${failed.table} failed: ${failed.error?.message ?? 'unknown error'}`);
    const sum = (f: (t: (typeof report.tables)[number]) => number): number => report.tables.reduce((n, t) => n + f(t), 0);
    outcome = { seconds, rowsWritten: sum((t) => t.rowsWritten), filesAdded: sum((t) => t.filesAdded), filesRemoved: sum((t) => t.filesRemoved), error: null };
  } catch (error) {
    outcome = { seconds: 0, rowsWritten: 0, filesAdded: 0, filesRemoved: 0, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await source.close?.();
  }
  const used = process.cpuUsage(cpu);
  clearInterval(timer);
  sample();
  const mb = (n: number): number => Math.round(n / 2 ** 20);
  const result: ChildOutcome = {
    ...outcome,
    cpuSeconds: (used.user + used.system) / 1e6,
    peaksMb: { rss: mb(peaks.rss), heapUsed: mb(peaks.heapUsed), external: mb(peaks.external), arrayBuffers: mb(peaks.arrayBuffers) },
  };
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
}

/** One replay in a child process; peak RSS from `/usr/bin/time -v` when present. */
async function measure(job: ChildJob, nodeFlags: readonly string[]): Promise<ChildOutcome & { readonly peakRssMb: number }> {
  const time = '/usr/bin/time';
  const useTime = existsSync(time);
  const dir = await mkdtemp(join(tmpdir(), 'write-path-'));
  const timeFile = join(dir, 'time.txt');
  const args = [...nodeFlags, ...SELF.execArgv, SELF.file, '--child', JSON.stringify(job)];
  const options = { cwd: REPO_ROOT, env: launchEnv(process.env) }; // as the mixpanel-lakeflow command starts node
  const proc = useTime ? spawn(time, ['-v', '-o', timeFile, process.execPath, ...args], options) : spawn(process.execPath, args, options);
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  proc.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-4000)));
  await once(proc, 'close');
  try {
    const line = stdout.split('\n').find((l) => l.startsWith(RESULT));
    if (line === undefined) throw new Error(`write-path child gave no result; stderr tail:\n${stderr}`);
    const result = JSON.parse(line.slice(RESULT.length)) as ChildOutcome;
    const kb = useTime ? parseTimeMaxRssKb(await readFile(timeFile, 'utf8').catch(() => '')) : null;
    return { ...result, peakRssMb: kb === null ? result.peaksMb.rss : kb / 1024 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function verdict(lakehouseDir: string, expected: ExpectedRows): Promise<string> {
  try {
    return rowsVerdict(await tableRows(lakehouseDir, 'events', 'event_date'), expected.total, expected.byDay);
  } catch (error) {
    return `WRONG: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      child: { type: 'string' },
      events: { type: 'string', default: '200000' },
      window: { type: 'string', default: '1d' },
      runs: { type: 'string', default: 'first,incremental,no-copies' },
      repeat: { type: 'string', default: '1' },
      'node-flag': { type: 'string', multiple: true },
      dir: { type: 'string' },
    },
    strict: true,
  });
  if (values.child !== undefined) {
    await child(JSON.parse(values.child) as ChildJob);
    return;
  }
  const events = Number(values.events);
  const days = values.window === '30d' ? 30 : values.window === '1d' ? 1 : Number.NaN;
  if (!Number.isSafeInteger(events) || events <= 0 || Number.isNaN(days)) throw new Error('usage: write-path --events N --window 1d|30d [--runs first,incremental,no-copies] [--repeat N] [--node-flag F]…');
  const runs = values.runs.split(',');
  for (const run of runs) if (!['first', 'incremental', 'no-copies'].includes(run)) throw new Error(`--runs takes first, incremental and/or no-copies, got "${run}"`);
  const repeat = Math.max(1, Number(values.repeat));
  const root = values.dir ?? join(REPO_ROOT, '.bench');
  const print = (text: string): void => void process.stdout.write(`${text}\n`);
  const dataset = await ensureRealDataset(root, events, days, 1, print);
  const work = join(root, 'runs', `write-path-${events}-${values.window}`);
  const lakehouseDir = join(work, 'lakehouse');
  const stateDir = join(work, 'state');
  const flags = values['node-flag'] ?? [];
  print(`write-path: ${events} events × ${values.window}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const recordingPath = async (run: Recorded): Promise<string> => {
    await recorded(dataset, run, print);
    return join(dataset.dir, `replay-${run}.json`);
  };
  for (const run of runs) {
    const recordingFor: Recorded = run === 'incremental' ? 'second' : run === 'no-copies' ? 'first-no-copies' : 'first';
    const replay = await recordingPath(recordingFor);
    const firstPath = run === 'incremental' ? await recordingPath('first') : undefined;
    const measured: (ChildOutcome & { peakRssMb: number; check: string; load: number })[] = [];
    for (let i = 0; i < repeat; i++) {
      if (firstPath !== undefined) {
        await rm(work, { recursive: true, force: true });
        const base = await measure({ recording: firstPath, lakehouseDir, stateDir }, flags);
        if (base.error) throw new Error(`the first run under the incremental one failed: ${base.error}`);
      } else await rm(work, { recursive: true, force: true });
      const load = loadavg()[0]!;
      const m = await measure({ recording: replay, lakehouseDir, stateDir }, flags);
      const expected = run === 'incremental' ? dataset.expected.secondRun : dataset.expected.firstRun;
      const check = m.error ? `FAILED: ${m.error}` : await verdict(lakehouseDir, expected);
      measured.push({ ...m, check, load });
      print(
        `  ${run} [${i + 1}/${repeat}]: ${m.seconds.toFixed(2)} s, CPU ${m.cpuSeconds.toFixed(1)} s, peak RSS ${m.peakRssMb.toFixed(0)} MiB ` +
          `(JS heap ${m.peaksMb.heapUsed}, external ${m.peaksMb.external}, array buffers ${m.peaksMb.arrayBuffers} MiB), ` +
          `${m.rowsWritten} rows in ${m.filesAdded} file(s), ${m.filesRemoved} removed, ${(await tableBytes(lakehouseDir, 'events').catch(() => 0)).toLocaleString('en-US')} table bytes, load ${load.toFixed(1)}, rows = distinct: ${check}`,
      );
    }
    print(
      `${run}: median ${median(measured.map((m) => m.seconds)).toFixed(2)} s, CPU ${median(measured.map((m) => m.cpuSeconds)).toFixed(1)} s, ` +
        `highest peak RSS ${Math.max(...measured.map((m) => m.peakRssMb)).toFixed(0)} MiB, load ${median(measured.map((m) => m.load)).toFixed(1)}, ` +
        `rows = distinct: ${measured.every((m) => m.check === 'ok') ? 'ok' : measured.find((m) => m.check !== 'ok')!.check}`,
    );
  }
  await rm(work, { recursive: true, force: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
