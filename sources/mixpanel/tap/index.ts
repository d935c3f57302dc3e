/**
 * Singer-compatible mode: `mixpanel-lakeflow singer --config config.json [--state state.json]
 * [--catalog catalog.json] [--discover]`. Reads the tap's config.json unchanged (base URL from MIXPANEL_BASE_URL),
 * prints a catalog (`--discover`) or SCHEMA/RECORD/STATE messages on stdout; logs go to stderr.
 * Exit codes: 0 done, 1 the run failed (resume from the last STATE printed), 2 bad config, state or catalog.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, isConnectorError, type LakeflowSource, type Logger } from '../../../connector-spec/index.js';
import type { ClientLimits } from '../client.js';
import type { MixpanelConfig } from '../config-types.js';
import { createMixpanelSource } from '../source.js';
import { discoverCatalog, parseCatalog, type CatalogSelection } from './catalog.js';
import { parseTapConfig } from './config.js';
import { configJsonLogger, type TapSettingNames } from './setting-names.js';
import { parseState } from './state.js';
import { TAP_STREAMS } from './streams.js';
import { syncStreams } from './sync.js';

export interface SingerCommandOptions {
  readonly config: string;
  readonly state?: string;
  readonly catalog?: string;
  readonly discover?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Test seams: the source factory (default createMixpanelSource), the clock, the host's wait, client limits. */
  readonly createSource?: (config: MixpanelConfig, options: { readonly now: () => number; readonly logger: Logger; readonly limits?: Partial<ClientLimits> }) => LakeflowSource;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly limits?: Partial<ClientLimits>;
}

export { parseTapConfig, type TapConfig, type TapSettings, type PropertyNaming } from './config.js';
export { inConfigJsonTerms, type TapSettingNames } from './setting-names.js';
export { TAP_STREAMS, type TapStream } from './streams.js';

/** A logger writing one line per message to stderr (Singer taps log there); debug is dropped. */
export function stderrLogger(stderr: Writable): Logger {
  const line = (level: string, msg: string, fields?: Readonly<Record<string, unknown>>): void => {
    const extra = fields === undefined || Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
    stderr.write(`${level} ${msg}${extra}\n`);
  };
  return { debug() {}, info: (m, f) => line('INFO', m, f), warn: (m, f) => line('WARNING', m, f), error: (m, f) => line('ERROR', m, f) };
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}): check the path`, { code: 'MP_TAP_FILE', context: { path } });
  }
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${what} ${path} is not valid JSON (${(error as Error).message})`, { code: 'MP_TAP_FILE', context: { path } });
  }
}

/** Run the Singer command; resolves with the process exit code. */
export async function runSingerCommand(options: SingerCommandOptions): Promise<number> {
  const now = options.now ?? Date.now;
  // Every message names what the user set in config.json (api_secret, start_date, …), errors included.
  let names: TapSettingNames = { regionFromEnv: (options.env['MIXPANEL_REGION'] ?? '').trim() !== '' };
  const logger = configJsonLogger(stderrLogger(options.stderr), () => names);
  let source: LakeflowSource | undefined;
  let tmp: string | undefined;
  let phase: 'setup' | 'sync' = 'setup';
  try {
    const config = parseTapConfig(await readJson(options.config, 'config'), options.env, { nowMs: now() });
    names = config.names;
    for (const w of config.warnings) logger.warn(w);
    const state = parseState(options.state === undefined ? null : await readJson(options.state, 'state'));
    const selection: CatalogSelection | undefined = options.catalog === undefined ? undefined : parseCatalog(await readJson(options.catalog, 'catalog'));
    const create = options.createSource ?? ((c, o) => createMixpanelSource(c, o));
    source = create(config.mixpanel, { now, logger, ...(options.limits ? { limits: options.limits } : {}) });
    const available = new Set(await source.listTables());
    const streams = TAP_STREAMS.filter((s) => available.has(s.table));
    for (const s of TAP_STREAMS) if (!available.has(s.table)) logger.warn(`stream ${s.stream} is not available: this build has no ${s.table} table`);
    if (options.discover === true) {
      const catalog = await discoverCatalog(source, streams, config.tableOptions, config.settings, state.naming);
      options.stdout.write(`${JSON.stringify(catalog, null, 2)}\n`);
      return 0;
    }
    const chosen = selection === undefined ? streams : streams.filter((s) => selection.has(s.stream));
    if (selection !== undefined && chosen.length === 0) logger.warn('no stream is selected in the catalog: mark streams with "selected": true in their breadcrumb [] metadata');
    tmp = await mkdtemp(join(tmpdir(), 'mixpanel-singer-'));
    phase = 'sync';
    await syncStreams({ source, streams: chosen, config, selection, state, stdout: options.stdout, logger, tmpDir: tmp, now, sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))) });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = isConnectorError(error) ? ` [${error.code}]` : '';
    logger.error(`${message}${code}`);
    return phase === 'setup' && error instanceof ConfigError ? 2 : 1;
  } finally {
    await source?.close?.();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }
}
