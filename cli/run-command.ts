/**
 * `mixpanel-lakeflow run`: read the spec, build the source from the environment, validate the spec against the
 * source, run it with the durable runner, print a summary. Also used by the demo.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError } from '../connector-spec/index.js';
import { createLogger, exitCodeForReport, parsePipelineSpec, runPipeline, validateSpecAgainstSource, type RunReport } from '../runner/index.js';
import { sourceFactories } from './sources.js';
import { formatSummary } from './summary.js';

export interface RunCommandOptions {
  readonly spec: string;
  readonly lakehouse: string;
  readonly state: string;
  readonly source: string;
  readonly tables?: readonly string[];
  readonly fullRefresh?: readonly string[];
  readonly logFormat?: string;
  readonly logLevel?: string;
}

export interface CommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
}

function parseRunOptions(raw: Record<string, unknown>): RunCommandOptions {
  const str = (key: string): string | undefined => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
  const strs = (key: string): string[] | undefined => (Array.isArray(raw[key]) ? (raw[key] as unknown[]).map(String) : undefined);
  const logFormat = str('logFormat');
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError(`--log-format must be json or pretty, got ${logFormat}`, { code: 'CLI_BAD_LOG_FORMAT' });
  }
  const tables = strs('tables');
  const fullRefresh = strs('fullRefresh');
  const logLevel = str('logLevel');
  return {
    spec: str('spec') ?? 'pipeline_spec.json',
    lakehouse: str('lakehouse') ?? './data/lakehouse',
    state: str('state') ?? './data/state',
    source: str('source') ?? 'mixpanel',
    ...(tables ? { tables } : {}),
    ...(fullRefresh ? { fullRefresh } : {}),
    ...(logFormat ? { logFormat } : {}),
    ...(logLevel ? { logLevel } : {}),
  };
}

async function readSpecFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read the pipeline spec ${path} (${code ?? 'error'}); pass --spec <file>`, { code: 'CLI_SPEC_UNREADABLE', cause: error });
  }
}

/** Run a spec; returns the report (the caller maps it to an exit code). Throws typed errors before any write. */
export async function executeRun(options: RunCommandOptions, io: CommandIo): Promise<RunReport> {
  const specPath = resolve(options.spec);
  const spec = parsePipelineSpec(await readSpecFile(specPath), options.spec);
  const factory = sourceFactories[options.source];
  if (!factory) {
    throw new ConfigError(`unknown source ${options.source}; valid sources: ${Object.keys(sourceFactories).join(', ')}`, { code: 'CLI_UNKNOWN_SOURCE' });
  }
  const format = options.logFormat === 'pretty' || options.logFormat === 'json' ? options.logFormat : io.stderr.isTTY ? 'pretty' : 'json';
  const logger = createLogger({ format, level: options.logLevel ?? 'info', stream: io.stderr });
  const source = factory.fromEnv(io.env, { logger });
  try {
    await validateSpecAgainstSource(spec, source);
    return await runPipeline({
      spec,
      source,
      lakehouse: options.lakehouse,
      stateDir: resolve(options.state),
      env: io.env,
      logger,
      progressStream: io.stderr.isTTY ? io.stderr : undefined,
      ...(options.tables ? { tables: options.tables } : {}),
      ...(options.fullRefresh ? { fullRefresh: options.fullRefresh } : {}),
    });
  } finally {
    await source.close?.();
  }
}

export async function runCommand(raw: Record<string, unknown>, io: CommandIo): Promise<number> {
  const report = await executeRun(parseRunOptions(raw), io);
  io.stdout.write(formatSummary(report));
  return exitCodeForReport(report);
}
