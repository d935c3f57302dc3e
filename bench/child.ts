/**
 * A bench child process: runs exactly one measured job and prints one `BENCH_RESULT {json}` line, so the
 * parent measures this process's own peak RSS (`/usr/bin/time -v`, or `process.resourceUsage().maxRSS`).
 *   node --import tsx bench/child.ts '<job json>'
 */
import { RESULT_PREFIX, type BenchJob, type ChildResult } from './jobs.js';

/** Samples memory every 100 ms; `stop()` returns the peaks in MiB. */
function memorySampler(): () => ChildResult['memoryPeaksMb'] {
  const peaks = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
    peaks.external = Math.max(peaks.external, m.external);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    return { heapUsed: mb(peaks.heapUsed), external: mb(peaks.external), arrayBuffers: mb(peaks.arrayBuffers) };
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as BenchJob;
  const stopSampler = memorySampler();
  const cpuBefore = process.cpuUsage();
  let outcome: { seconds: number; rows: number | null; sourceApiCalls: number | null; warnings: string[] };
  let error: string | null = null;
  try {
    // Each kind loads only its own code: a connector child must not carry DuckDB's native library (~33 MiB of RSS).
    outcome = job.kind === 'duckdb' ? await (await import('./duckdb-job.js')).runDuckdbJob(job) : await (await import('./pipeline-job.js')).runPipelineJob(job);
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    outcome = { seconds: 0, rows: null, sourceApiCalls: null, warnings: [] };
  }
  const cpu = process.cpuUsage(cpuBefore);
  const result: ChildResult = {
    ...outcome,
    memoryPeaksMb: stopSampler(),
    maxRssKb: process.resourceUsage().maxRSS,
    userCpuMs: cpu.user / 1000,
    systemCpuMs: cpu.system / 1000,
    error,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  process.exitCode = error === null ? 0 : 1;
}

await main();
