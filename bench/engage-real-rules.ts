/**
 * engage, a first full scan, against the emulator in its own process with Mixpanel's real Query-API rules
 * (60 queries per hour, 5 concurrent) and the connector's default limits: nothing is lifted, so the figure shows
 * what pacing by query buys ("a first scan against a server that does not count pages finishes in minutes").
 *
 *   node --import tsx bench/engage-real-rules.ts [--profiles 1000000] [--rule queries|pages] [--keep]
 *   node dist/bench/engage-real-rules.js …      (compiled: `npm run build` first; what the figures use)
 *
 * Three processes: this parent, the emulator (`serve`) and the connector (`connector`: runPipeline +
 * createMixpanelSource, exactly as `mixpanel-lakeflow run` wires them) under `/usr/bin/time -v`, so the peak RSS
 * is the source + runner process alone. The parent checks the lakehouse with DuckDB: one row per profile.
 * With `--rule pages` the emulator counts every page; the connector then learns that from its first 429 and paces
 * every page (60 pages an hour), so use a small `--profiles` there.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { launchEnv } from '../cli/launch-env.js';
import type { Logger } from '../connector-spec/index.js';

const RESULT = 'ENGAGE_BENCH ';
const SELF = fileURLToPath(import.meta.url);
/** Children run like this file: TypeScript through tsx, or compiled JavaScript (dist/bench/…) with no loader. */
const TSX = SELF.endsWith('.ts') ? ['--import', 'tsx'] : [];

interface ServeInfo {
  readonly url: string;
  readonly username: string;
  readonly secret: string;
  readonly projectId: number;
}

interface ConnectorResult {
  readonly seconds: number;
  readonly rowsWritten: number;
  readonly apiCalls: number;
  readonly rateLimitWaits: number;
  readonly rateLimitWaitMs: number;
  readonly warnings: readonly string[];
  readonly peaksMb: { readonly rss: number; readonly heapUsed: number; readonly arrayBuffers: number };
  /** CPU seconds of the whole connector process (every thread), user + system. */
  readonly cpuSeconds: number;
  readonly error: string | null;
}

/** The emulator with N generated profiles and Mixpanel's limits; prints its facts, serves until stdin closes. */
async function serve(profiles: number, rule: 'queries' | 'pages'): Promise<void> {
  const { startEmulator } = await import('../emulator/index.js');
  const emu = await startEmulator({ profiles, queryBudgetCounts: rule });
  const info: ServeInfo = { url: emu.url, username: emu.project.serviceAccount.username, secret: emu.project.serviceAccount.secret, projectId: emu.project.id };
  process.stdout.write(`${RESULT}${JSON.stringify(info)}\n`);
  const cpuBefore = process.cpuUsage();
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('close', resolve).once('end', resolve));
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(`${RESULT}${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
  await emu.close();
}

/** The measured process: one engage run with default client limits. */
async function connector(info: ServeInfo, lakehouseDir: string, stateDir: string): Promise<void> {
  const peaks = { rss: 0, heapUsed: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peaks.rss = Math.max(peaks.rss, m.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 100);
  const warnings: string[] = [];
  // ENGAGE_BENCH_VERBOSE=1: the run's info lines on stderr, with seconds since start.
  const verbose = process.env['ENGAGE_BENCH_VERBOSE'] === '1';
  const t0 = performance.now();
  const logger: Logger = {
    debug() {},
    info: (msg, fields) => {
      if (verbose) process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(2)}s ${msg} ${JSON.stringify(fields ?? {})}\n`);
    },
    warn: (msg) => void warnings.push(msg),
    error: (msg) => void warnings.push(`ERROR ${msg}`),
  };
  const { parsePipelineSpec, runPipeline } = await import('../runner/index.js');
  const { createMixpanelSource, mixpanelConfigFromEnv } = await import('../sources/mixpanel/index.js');
  const config = mixpanelConfigFromEnv({
    MIXPANEL_BASE_URL: info.url,
    MIXPANEL_USERNAME: info.username,
    MIXPANEL_SECRET: info.secret,
    MIXPANEL_PROJECT_ID: String(info.projectId),
  });
  const source = createMixpanelSource(config, { logger });
  const spec = parsePipelineSpec(JSON.stringify({ connection_name: 'engage-bench', objects: [{ table: { source_table: 'engage' } }] }), 'engage-bench.json');
  let result: ConnectorResult;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  try {
    const report = await runPipeline({ spec, source, lakehouse: lakehouseDir, stateDir, env: process.env, logger });
    const seconds = (performance.now() - started) / 1000;
    const t = report.tables[0];
    result = {
      seconds,
      rowsWritten: t?.rowsWritten ?? 0,
      apiCalls: t?.apiCalls ?? 0,
      rateLimitWaits: t?.rateLimitWaits ?? -1,
      rateLimitWaitMs: t?.rateLimitWaitMs ?? -1,
      warnings: [...warnings, ...(t?.warnings ?? [])],
      peaksMb: { rss: 0, heapUsed: 0, arrayBuffers: 0 },
      cpuSeconds: 0,
      error: t?.status === 'failed' ? (t.error?.message ?? 'failed') : null,
    };
  } catch (e) {
    result = { seconds: 0, rowsWritten: 0, apiCalls: 0, rateLimitWaits: -1, rateLimitWaitMs: -1, warnings, peaksMb: peaks, cpuSeconds: 0, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await source.close?.();
  }
  clearInterval(timer);
  sample();
  const cpu = process.cpuUsage(cpuBefore);
  const mb = (n: number): number => Math.round(n / 2 ** 20);
  const peaksMb = { rss: mb(peaks.rss), heapUsed: mb(peaks.heapUsed), arrayBuffers: mb(peaks.arrayBuffers) };
  process.stdout.write(`${RESULT}${JSON.stringify({ ...result, peaksMb, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
}

/** Rows and distinct ids of the written table, read back by DuckDB (in this parent, not the measured child). */
async function countRows(glob: string): Promise<{ rows: number; ids: number }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT count(*), count(DISTINCT distinct_id) FROM read_parquet('${glob.replaceAll("'", "''")}')`);
    const row = reader.getRows()[0];
    return { rows: Number(row?.[0] ?? -1), ids: Number(row?.[1] ?? -1) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The result lines of a child, in order, as they arrive (`next()` waits for the next one; undefined at the end). */
function resultLines(stream: NodeJS.ReadableStream): { next(): Promise<string | undefined> } {
  const lines = createInterface({ input: stream })[Symbol.asyncIterator]();
  return {
    async next() {
      for (;;) {
        const step = await lines.next();
        if (step.done === true) return undefined;
        const line = String(step.value);
        if (line.startsWith(RESULT)) return line.slice(RESULT.length);
      }
    },
  };
}

async function parent(profiles: number, rule: 'queries' | 'pages', keep: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'engage-bench-'));
  const lakehouseDir = join(dir, 'lakehouse');
  const stateDir = join(dir, 'state');
  await mkdir(lakehouseDir, { recursive: true });
  process.stdout.write(`engage bench: ${profiles} profiles, emulator counting ${rule}, real limits (60 queries/hour, 5 concurrent); work dir ${dir}\n`);
  const server = spawn(process.execPath, [...TSX, SELF, 'serve', String(profiles), rule], { stdio: ['pipe', 'pipe', 'inherit'] });
  const serverClosed = new Promise((resolve) => server.once('close', resolve));
  try {
    const serverLines = resultLines(server.stdout);
    const infoText = await serverLines.next();
    if (infoText === undefined) throw new Error('the emulator process printed no address');
    const timeFile = join(dir, 'time.txt');
    const useTime = existsSync('/usr/bin/time');
    const args = [...TSX, SELF, 'connector', infoText, lakehouseDir, stateDir];
    const env = launchEnv(process.env); // as the mixpanel-lakeflow command starts node
    const child = useTime ? spawn('/usr/bin/time', ['-v', '-o', timeFile, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const resultText = await resultLines(child.stdout).next();
    await new Promise((resolve) => child.once('close', resolve));
    if (resultText === undefined) throw new Error('the connector process printed no result');
    const r = JSON.parse(resultText) as ConnectorResult;
    const timeRssKb = useTime ? Number(/Maximum resident set size \(kbytes\):\s*(\d+)/.exec(await readFile(timeFile, 'utf8'))?.[1] ?? NaN) : NaN;
    server.stdin?.end();
    const emulatorCpuText = await serverLines.next();
    const emulatorCpu = emulatorCpuText === undefined ? '–' : ((JSON.parse(emulatorCpuText) as { cpuSeconds: number }).cpuSeconds).toFixed(1);
    const counts = await countRows(join(lakehouseDir, 'engage', '**', '*.parquet'));
    const lines = [
      `  error: ${r.error ?? 'none'}`,
      `  seconds (runPipeline): ${r.seconds.toFixed(2)}`,
      `  profiles/s: ${Math.round(profiles / r.seconds)}`,
      `  peak RSS (time -v): ${Number.isFinite(timeRssKb) ? Math.round(timeRssKb / 1024) : '–'} MiB; sampled peaks: rss ${r.peaksMb.rss}, heapUsed ${r.peaksMb.heapUsed}, arrayBuffers ${r.peaksMb.arrayBuffers} MiB`,
      `  CPU seconds: connector ${r.cpuSeconds.toFixed(1)} (all its threads), emulator ${emulatorCpu}`,
      `  API calls: ${r.apiCalls}; rate-limit waits: ${r.rateLimitWaits} (${Math.round(r.rateLimitWaitMs / 1000)} s)`,
      `  lakehouse: ${counts.rows} rows, ${counts.ids} distinct ids (expected ${profiles})`,
      ...r.warnings.map((w) => `  warning: ${w}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    server.stdin?.end();
    await serverClosed;
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'serve') await serve(Number(a), b === 'pages' ? 'pages' : 'queries');
  else if (mode === 'connector') await connector(JSON.parse(a ?? '') as ServeInfo, b ?? '', c ?? '');
  else {
    const { values } = parseArgs({ options: { profiles: { type: 'string' }, rule: { type: 'string' }, keep: { type: 'boolean' } }, strict: true });
    const rule = values.rule ?? 'queries';
    if (rule !== 'queries' && rule !== 'pages') throw new Error(`--rule takes queries or pages, got "${rule}"`);
    await parent(Number((values.profiles ?? '1000000').replaceAll('_', '')), rule, values.keep ?? false);
  }
}
