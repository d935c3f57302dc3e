/**
 * Run one bench job in a child process and measure it from outside: `/usr/bin/time -v` gives the peak RSS of
 * the connector process alone (the server and the harness live in the parent). Without it, the child's own
 * `process.resourceUsage().maxRSS` is used. The child is the same kind as this module: dist/bench/child.js with
 * no loader when the bench runs compiled (dist/ is current), bench/child.ts through tsx otherwise. A connector child
 * runs in the environment the `mixpanel-lakeflow` launcher gives node (cli/launch-env.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchEnv } from '../cli/launch-env.js';
import { runtimeEntry } from '../connector-spec/index.js';
import { RESULT_PREFIX, type BenchJob, type ChildResult } from './jobs.js';

const TIME = '/usr/bin/time';
const CHILD = runtimeEntry(import.meta.url, './child');
/** The repository root (the child's working directory, where `.bench/` lives): above bench/, or above dist/bench/. */
export const REPO_ROOT = fileURLToPath(new URL(CHILD.kind === 'js' ? '../..' : '..', import.meta.url));

export interface ChildRun {
  readonly result: ChildResult;
  /** Peak RSS in MiB: from `/usr/bin/time -v` when available, else the child's own report. */
  readonly peakRssMb: number;
  readonly rssSource: 'time -v' | 'resourceUsage';
  /** Wall seconds of the whole child process (start-up, and TypeScript loading when not compiled, included). */
  readonly processSeconds: number;
}

export interface SpawnOptions {
  /** Extra node flags (for example `--cpu-prof`, `--cpu-prof-dir=…`, `--max-old-space-size=256`). */
  readonly nodeFlags?: readonly string[];
  readonly onStderr?: (text: string) => void;
}

/** `Maximum resident set size (kbytes): N` from GNU time's verbose report. */
export function parseTimeMaxRssKb(text: string): number | null {
  const m = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

export async function runChild(job: BenchJob, options: SpawnOptions = {}): Promise<ChildRun> {
  const useTime = existsSync(TIME);
  const dir = await mkdtemp(join(tmpdir(), 'bench-time-'));
  const timeFile = join(dir, 'time.txt');
  const nodeArgs = [...(options.nodeFlags ?? []), ...CHILD.execArgv, CHILD.file, JSON.stringify(job)];
  const [command, args] = useTime ? [TIME, ['-v', '-o', timeFile, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const started = performance.now();
  // A connector child gets the environment the `mixpanel-lakeflow` command gives node; DuckDB keeps this one.
  const env = job.kind === 'pipeline' ? launchEnv(process.env) : process.env;
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderrTail = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-4000);
    options.onStderr?.(text);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const processSeconds = (performance.now() - started) / 1000;
  try {
    const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
    if (line === undefined) {
      throw new Error(`bench child exited with ${code} and no result; stderr tail:\n${stderrTail}`);
    }
    const result = JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult;
    const timeKb = useTime ? parseTimeMaxRssKb(await readFile(timeFile, 'utf8').catch(() => '')) : null;
    const rssKb = timeKb ?? result.maxRssKb;
    return { result, peakRssMb: rssKb / 1024, rssSource: timeKb !== null ? 'time -v' : 'resourceUsage', processSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
