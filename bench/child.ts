/**
 * A bench child process: runs exactly one measured job and prints one `BENCH_RESULT {json}` line, so the
 * parent measures this process's own peak RSS (`/usr/bin/time -v`, or `process.resourceUsage().maxRSS`).
 *   node --import tsx bench/child.ts '<job json>'
 */
import { runDuckdbJob } from './duckdb-job.js';
import { runPipelineJob } from './pipeline-job.js';
import { RESULT_PREFIX, type BenchJob, type ChildResult } from './jobs.js';

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as BenchJob;
  const cpuBefore = process.cpuUsage();
  let outcome: { seconds: number; rows: number | null; sourceApiCalls: number | null; warnings: string[] };
  let error: string | null = null;
  try {
    outcome = job.kind === 'duckdb' ? await runDuckdbJob(job) : await runPipelineJob(job);
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    outcome = { seconds: 0, rows: null, sourceApiCalls: null, warnings: [] };
  }
  const cpu = process.cpuUsage(cpuBefore);
  const result: ChildResult = {
    ...outcome,
    maxRssKb: process.resourceUsage().maxRSS,
    userCpuMs: cpu.user / 1000,
    systemCpuMs: cpu.system / 1000,
    error,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  process.exitCode = error === null ? 0 : 1;
}

await main();
