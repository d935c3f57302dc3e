/**
 * `mixpanel-lakeflow run` (and `repair`, `migrate`): read the spec, build the source from the environment,
 * validate the spec against the source, run it with the durable runner, print a summary. Also used by the demo.
 * SIGTERM / SIGINT stop the run at the next commit boundary; a second signal aborts at once.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, parseLeaseSeconds } from '../connector-spec/index.js';
import { DEFAULT_MAX_WAIT_MS, EXIT_SIGINT, EXIT_SIGTERM, createLogger, exitCodeForReport, mergeEncodersOf, parsePipelineSpec, runPipeline, validateSpecAgainstSource, type RunReport } from '../runner/index.js';
import { parseDuration } from './durations.js';
import { sourceFactories } from './sources.js';
import { formatSummary } from './summary.js';

export const DEFAULT_LAKEHOUSE = './data/lakehouse';
export const DEFAULT_STATE = './data/state';

export interface RunCommandOptions {
  readonly spec: string;
  readonly lakehouse: string;
  readonly state: string;
  readonly source: string;
  readonly tables?: readonly string[];
  readonly fullRefresh?: readonly string[];
  readonly dropHistory?: boolean;
  readonly repair?: readonly string[];
  readonly convertOnly?: boolean;
  readonly maxWaitMs?: number;
  readonly lockLeaseMs?: number;
  readonly mergeEncoders?: number;
  readonly logFormat?: string;
  readonly logLevel?: string;
}

export interface CommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  /** Graceful stop (the CLI wires SIGTERM/SIGINT to it). */
  readonly stop?: AbortSignal;
}

export function parseRunOptions(raw: Record<string, unknown>): RunCommandOptions {
  const str = (key: string): string | undefined => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
  const strs = (key: string): string[] | undefined => (Array.isArray(raw[key]) ? (raw[key] as unknown[]).map(String) : undefined);
  const logFormat = str('logFormat');
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError(`--log-format must be json or pretty, got ${logFormat}`, { code: 'CLI_BAD_LOG_FORMAT' });
  }
  const logLevel = str('logLevel');
  if (logLevel !== undefined && !['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`--log-level must be debug, info, warn or error, got ${logLevel}`, { code: 'CLI_BAD_LOG_LEVEL' });
  }
  const spec = str('spec');
  if (spec === undefined) throw new ConfigError('--spec is required: pass the pipeline spec, e.g. --spec pipeline_spec.json', { code: 'CLI_NO_SPEC' });
  const tables = strs('tables');
  const fullRefresh = strs('fullRefresh');
  const repair = strs('repair');
  const maxWait = str('maxWait');
  const lockLease = str('lockLease');
  const mergeEncoders = str('mergeEncoders');
  return {
    spec,
    lakehouse: str('lakehouse') ?? DEFAULT_LAKEHOUSE,
    state: str('state') ?? DEFAULT_STATE,
    source: str('source') ?? 'mixpanel',
    ...(tables ? { tables } : {}),
    ...(fullRefresh ? { fullRefresh } : {}),
    ...(repair ? { repair } : {}),
    ...(raw['dropHistory'] === true ? { dropHistory: true } : {}),
    ...(raw['convertOnly'] === true ? { convertOnly: true } : {}),
    maxWaitMs: maxWait === undefined ? DEFAULT_MAX_WAIT_MS : parseDuration(maxWait, '--max-wait'),
    // parseLeaseSeconds takes seconds and returns milliseconds (a second `* 1000` made --lock-lease 120 a 33-hour lease).
    ...(lockLease !== undefined ? { lockLeaseMs: parseLeaseSeconds(lockLease, '--lock-lease') } : {}),
    ...(mergeEncoders !== undefined ? { mergeEncoders: mergeEncodersOf(mergeEncoders) } : {}),
    ...(logFormat ? { logFormat } : {}),
    ...(logLevel ? { logLevel } : {}),
  };
}

async function readSpecFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const fix = code === 'EISDIR' ? 'it is a folder; pass the spec file itself' : code === 'ENOENT' ? 'no such file; check the path' : 'check the path and its permissions';
    throw new ConfigError(`--spec ${path}: cannot read the pipeline spec (${code ?? 'error'}): ${fix}`, { code: 'CLI_SPEC_UNREADABLE', cause: error });
  }
}

/** Run a spec; returns the report (the caller maps it to an exit code). Throws typed errors before any write. */
export async function executeRun(options: RunCommandOptions, io: CommandIo): Promise<RunReport> {
  const specPath = resolve(options.spec);
  const spec = parsePipelineSpec(await readSpecFile(specPath), options.spec);
  const factory = sourceFactories[options.source];
  if (!factory) {
    throw new ConfigError(`--source ${options.source}: unknown source; valid sources: ${Object.keys(sourceFactories).join(', ')}`, { code: 'CLI_UNKNOWN_SOURCE' });
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
      ...(options.repair ? { repair: options.repair } : {}),
      ...(options.dropHistory ? { dropHistory: true } : {}),
      ...(options.convertOnly ? { convertOnly: true } : {}),
      ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
      ...(options.lockLeaseMs !== undefined ? { lockLeaseMs: options.lockLeaseMs } : {}),
      ...(options.mergeEncoders !== undefined ? { mergeEncoders: options.mergeEncoders } : {}),
      ...(io.stop ? { stop: io.stop } : {}),
    });
  } finally {
    await source.close?.();
  }
}

/**
 * SIGTERM/SIGINT → a graceful stop: the run ends at the next commit boundary (an uncommitted call is discarded)
 * and exits 143/130. A second signal exits at once with the same code: committed work is safe either way.
 */
export function installStopSignals(stderr: Writable): { readonly signal: AbortSignal; readonly received: () => 'SIGINT' | 'SIGTERM' | undefined; dispose(): void } {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const handler = (name: 'SIGINT' | 'SIGTERM') => () => {
    const code = name === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    if (received !== undefined) {
      stderr.write(`${name} again: aborting now (exit ${code}); every committed table version and cursor is intact\n`);
      process.exit(code);
    }
    received = name;
    stderr.write(`${name}: stopping at the next commit boundary (the call in progress is discarded, nothing partial is committed); send it again to abort at once\n`);
    controller.abort(new Error(`stopped by ${name}`));
  };
  const onInt = handler('SIGINT');
  const onTerm = handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    received: () => received,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/**
 * The closing lines a scheduler's log shows for a run that did not complete on its own terms: an incomplete run
 * (exit 3) lists what is knowingly missing, a deferred run says when to retry (the earliest `retryAt` of its
 * deferred tables), a stopped one that it stopped at a commit boundary. Undefined for other runs.
 */
export function closingLine(report: RunReport, code: number, signal: 'SIGINT' | 'SIGTERM' | undefined, now: number = Date.now()): string | undefined {
  if (report.status === 'incomplete') {
    const missing = report.tables.flatMap((t) => t.missing.map((m) => `missing ${t.table}: ${m}`));
    return `run incomplete (exit ${code}): knowingly missing or skipped, see below and the run report; everything else is complete\n${missing.join('\n')}\n`;
  }
  if (report.status === 'stopped') {
    return `stopped by ${signal ?? 'a stop request'} at a commit boundary: nothing partial was committed and every committed table version and cursor is kept; the next run continues from there (exit ${code})\n`;
  }
  if (report.status !== 'deferred') return undefined;
  const deferred = report.tables.filter((t) => t.status === 'deferred');
  const retryAt = deferred.map((t) => t.retryAt).filter((at): at is string => at !== undefined).sort()[0];
  const tables = deferred.map((t) => t.table).join(', ');
  if (retryAt === undefined) {
    return `run deferred (exit ${code}): ${report.deferred?.reason ?? tables}; committed work is kept and the next scheduled run continues\n`;
  }
  const minutes = Math.max(0, Math.ceil((Date.parse(retryAt) - now) / 60_000));
  return `run deferred (exit ${code}): ${tables} would have waited past --max-wait; committed work is kept; retry at ${retryAt} (in ${minutes} min) or let the next scheduled run continue\n`;
}

export async function runCommand(raw: Record<string, unknown>, io: CommandIo): Promise<number> {
  const options = parseRunOptions(raw);
  const stop = installStopSignals(io.stderr);
  try {
    const report = await executeRun(options, { ...io, stop: stop.signal });
    const code = exitCodeForReport(report, stop.received());
    io.stdout.write(formatSummary(report));
    const closing = closingLine(report, code, stop.received());
    if (closing !== undefined) io.stdout.write(closing);
    return code;
  } finally {
    stop.dispose();
  }
}
