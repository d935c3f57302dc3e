/** Shared test helpers: temp folders, an in-process fixture run, a temp-file scan. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../connector-spec/index.js';
import { listFilesRecursive } from '../durable-fs.js';
import type { FaultInjector } from '../faults.js';
import { noFaults } from '../faults.js';
import { parsePipelineSpec, runPipeline, validateSpecAgainstSource, type RunReport } from '../index.js';
import { FIXTURE_SPEC, createMemorySource, makeDataset, type FixtureFailure, type DatasetOptions } from './memory-source.js';

export interface Dirs {
  readonly root: string;
  readonly lakehouse: string;
  readonly state: string;
  cleanup(): Promise<void>;
}

export async function tempDirs(prefix = 'lakeflow-runner-'): Promise<Dirs> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { root, lakehouse: path.join(root, 'lakehouse'), state: path.join(root, 'state'), cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface CapturedLogger extends Logger {
  readonly lines: { level: string; msg: string; fields?: Readonly<Record<string, unknown>> }[];
}

export function captureLogger(): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) => {
    lines.push({ level, msg, ...(fields ? { fields } : {}) });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface FixtureRunOptions {
  readonly dataset?: DatasetOptions;
  readonly failures?: readonly FixtureFailure[];
  readonly spec?: unknown;
  readonly tables?: readonly string[];
  readonly fullRefresh?: readonly string[];
  readonly faults?: FaultInjector;
  readonly logger?: Logger;
  /** `--max-wait` in ms (default 60 s: retry backoffs in tests are milliseconds; pass 0 to defer on a held lock at once). */
  readonly maxWaitMs?: number;
  readonly dropHistory?: boolean;
  readonly repair?: readonly string[];
  readonly stop?: AbortSignal;
  /** `RunPipelineOptions.stagingMemoryBytes` (0: every staged batch spills and is read back from the file). */
  readonly stagingMemoryBytes?: number;
  /** `RunPipelineOptions.mergeEncoders` and `mergeLanesFromRows`. */
  readonly mergeEncoders?: number;
  readonly mergeLanesFromRows?: number;
}

export async function runFixture(dirs: Dirs, options: FixtureRunOptions = {}): Promise<RunReport> {
  const spec = parsePipelineSpec(JSON.stringify(options.spec ?? FIXTURE_SPEC), 'fixture_spec.json');
  const source = createMemorySource({ dataset: makeDataset(options.dataset), ...(options.failures ? { failures: options.failures } : {}) });
  await validateSpecAgainstSource(spec, source);
  return runPipeline({
    spec,
    source,
    lakehouse: dirs.lakehouse,
    stateDir: dirs.state,
    env: {},
    logger: options.logger ?? captureLogger(),
    retry: { attempts: 3, baseDelayMs: 1 },
    faults: options.faults ?? noFaults,
    ...(options.tables ? { tables: options.tables } : {}),
    ...(options.fullRefresh ? { fullRefresh: options.fullRefresh } : {}),
    ...(options.repair ? { repair: options.repair } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
    ...(options.stagingMemoryBytes !== undefined ? { stagingMemoryBytes: options.stagingMemoryBytes } : {}),
    ...(options.mergeEncoders !== undefined ? { mergeEncoders: options.mergeEncoders } : {}),
    ...(options.mergeLanesFromRows !== undefined ? { mergeLanesFromRows: options.mergeLanesFromRows } : {}),
    dropHistory: options.dropHistory === true,
    maxWaitMs: options.maxWaitMs ?? 60_000,
  });
}

/**
 * Files a reader of the table folders would see that are neither data files nor Delta log files. Hidden
 * names (a `.`-prefixed temp file of an upload a SIGKILL interrupted) are invisible to every Delta reader and
 * are not counted; `vacuum` deletes them once they are older than the retention.
 */
export async function strayFiles(lakehouse: string): Promise<string[]> {
  const files = await listFilesRecursive(lakehouse);
  const log = /_delta_log\/(\d{20}\.json|\d{20}\.checkpoint\.parquet|_last_checkpoint)$/;
  return files.filter((f) => !/(^|\/)\.[^/]*$/.test(f) && (f.includes('_delta_log/') ? !log.test(f) : !f.endsWith('.parquet')));
}
