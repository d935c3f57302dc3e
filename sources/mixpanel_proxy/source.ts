/**
 * The `mixpanel_proxy` source: reads the tracking proxy's spool into `proxy_events`, `proxy_profile_updates`
 * and `proxy_group_updates`. One call reads about `slice_bytes` of spool from the cursor; the spool's end is
 * fixed when the source first reads, so repeated calls converge while the proxy keeps writing.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import {
  ConfigError,
  batchFromColumns,
  emptyReadStats,
  type Cursor,
  type LakeflowSource,
  type Logger,
  type ReadOptions,
  type ReadStats,
  type TableMetadata,
  type TableOptionSpec,
  type TableOptions,
  type TableRead,
} from '../../connector-spec/index.js';
import { cursorOf, parseCursor } from './cursor.js';
import { GROUP_OPERATIONS, PROFILE_OPERATIONS, eventRow, groupColumns, parseSpoolLine, profileColumns, updateRows, type LineCommon } from './rows.js';
import { PROXY_METADATA, PROXY_TABLES, SCHEMAS, TABLE_ENDPOINT, isProxyTable, type ProxyTable } from './schema.js';
import { readSpoolSlice, spoolEnd, type SegmentEnd } from './spool-reader.js';

export const BATCH_ROWS = 16_384;
export const DEFAULT_SLICE_BYTES = 8 * 1024 * 1024;

export interface MixpanelProxyConfig {
  /** The folder the proxy writes (`--spool`). */
  readonly spoolDir: string;
}

export interface MixpanelProxySourceOptions {
  readonly logger?: Logger;
}

const OPTIONS: readonly TableOptionSpec[] = [
  { name: 'slice_bytes', description: 'Spool bytes one readTable call reads (one commit of the runner)', default: String(DEFAULT_SLICE_BYTES) },
];

function unknownTable(table: string): ConfigError {
  return new ConfigError(`mixpanel_proxy has no table ${JSON.stringify(table)}; tables: ${PROXY_TABLES.join(', ')}`, { code: 'PROXY_UNKNOWN_TABLE', context: { table } });
}

function sliceBytes(table: string, options: TableOptions | undefined): number {
  for (const key of Object.keys(options ?? {})) {
    if (!OPTIONS.some((o) => o.name === key)) {
      throw new ConfigError(`${table}: unknown table option ${JSON.stringify(key)}; valid: ${OPTIONS.map((o) => o.name).join(', ')}`, { code: 'PROXY_UNKNOWN_OPTION', context: { table } });
    }
  }
  const raw = options?.['slice_bytes'];
  if (raw === undefined) return DEFAULT_SLICE_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${table}: slice_bytes ${JSON.stringify(raw)} must be a whole number ≥ 1`, { code: 'PROXY_BAD_OPTION', context: { table } });
  return n;
}

/** Column arrays of one table, filled row by row and turned into batches. */
class Columns {
  private cols: unknown[][];
  constructor(private readonly schema: Schema) {
    this.cols = schema.fields.map(() => []);
  }
  get rows(): number {
    return this.cols[0]!.length;
  }
  push(row: Readonly<Record<string, unknown>>): void {
    this.schema.fields.forEach((f, i) => this.cols[i]!.push(row[f.name] ?? null));
  }
  flush(): RecordBatch {
    const batch = batchFromColumns(this.schema, this.cols);
    this.cols = this.schema.fields.map(() => []);
    return batch;
  }
}

function commonColumns(c: LineCommon): Record<string, unknown> {
  return {
    client_ip: c.clientIp,
    received_at: c.receivedAtMs,
    received_date: c.receivedDate,
    upstream_status: c.upstreamStatus,
    upstream_accepted: c.upstreamAccepted,
    upstream_error: c.upstreamError,
    request_id: c.requestId,
  };
}

function count(stats: ReadStats, key: string, n = 1): void {
  stats.counters[key] = (stats.counters[key] ?? 0) + n;
}

/** Rows of `table` from one spool line (none when the line belongs to another endpoint). */
function rowsOf(table: ProxyTable, text: string, stats: ReadStats): Record<string, unknown>[] {
  const line = parseSpoolLine(text);
  if (line.kind === 'invalid') {
    count(stats, 'proxy.invalid_lines');
    return [];
  }
  if (line.common.endpoint !== TABLE_ENDPOINT[table]) return [];
  if (line.kind === 'undecodable') {
    count(stats, 'proxy.undecodable_requests');
    return [];
  }
  const common = commonColumns(line.common);
  if (table === 'proxy_events') {
    const row = eventRow(line.common, line.record);
    if (row === null) {
      count(stats, 'proxy.records_not_objects');
      return [];
    }
    return [{ ...row, ...common }];
  }
  const updates = updateRows(line.common, line.record, table === 'proxy_profile_updates' ? PROFILE_OPERATIONS : GROUP_OPERATIONS);
  if (updates.length === 0) count(stats, 'proxy.records_not_objects');
  const extra = table === 'proxy_profile_updates' ? profileColumns(line.record) : groupColumns(line.record);
  return updates.map((u) => ({ ...u, ...extra, ...common }));
}

export function createMixpanelProxySource(config: MixpanelProxyConfig, options: MixpanelProxySourceOptions = {}): LakeflowSource {
  let end: Promise<readonly SegmentEnd[]> | undefined;
  const endOfSpool = (): Promise<readonly SegmentEnd[]> => (end ??= spoolEnd(config.spoolDir));

  async function* read(table: ProxyTable, start: ReturnType<typeof parseCursor>, bytes: number, opts: ReadOptions): TableRead {
    const logger = opts.logger ?? options.logger;
    const stats = opts.stats ?? emptyReadStats();
    const before = { ...stats.counters };
    const slice = await readSpoolSlice(config.spoolDir, await endOfSpool(), start, bytes);
    stats.apiCalls++;
    if (slice.ahead) {
      // Knowingly missing (exit 3): whatever this spool holds is not read until a full refresh.
      const warning = `${table}: the cursor lies beyond the spool in ${config.spoolDir} (was the folder replaced?); nothing is read. Run with --full-refresh to read this spool from its start`;
      stats.missing.push(warning);
      logger?.warn(warning, { table });
    }
    if (slice.tornBytes > 0) {
      count(stats, 'proxy.torn_tail_bytes', slice.tornBytes);
      // Information: the SDK got no reply for the torn line and sent it again, so nothing is lost.
      const warning = `${table}: skipped ${slice.tornBytes} bytes of an incomplete last line in an old spool segment (a crash while writing; the SDK got no reply for it and retried)`;
      stats.warnings.push(warning);
      logger?.warn(warning, { table });
    }
    const columns = new Columns(SCHEMAS[table]);
    let rowsRead = 0;
    let bytesRead = 0;
    for (const text of slice.lines) {
      bytesRead += text.length + 1;
      for (const row of rowsOf(table, text, stats)) {
        columns.push(row);
        rowsRead++;
        if (columns.rows >= BATCH_ROWS) yield columns.flush();
      }
    }
    if (columns.rows > 0) yield columns.flush();
    for (const key of ['proxy.undecodable_requests', 'proxy.invalid_lines', 'proxy.records_not_objects']) {
      const n = (stats.counters[key] ?? 0) - (before[key] ?? 0);
      if (n > 0) logger?.warn(`${table}: ${n} spool lines counted as ${key} (kept in the spool, not in the table)`, { table });
    }
    opts.onProgress?.({ table, rowsRead, bytesRead });
    return cursorOf(slice.next);
  }

  return {
    name: 'mixpanel_proxy',
    async listTables() {
      return [...PROXY_TABLES];
    },
    async getSchema(table) {
      if (!isProxyTable(table)) throw unknownTable(table);
      return SCHEMAS[table];
    },
    async readTableMetadata(table): Promise<TableMetadata> {
      if (!isProxyTable(table)) throw unknownTable(table);
      return PROXY_METADATA;
    },
    async listTableOptions(table) {
      if (!isProxyTable(table)) throw unknownTable(table);
      return OPTIONS;
    },
    readTable(table: string, cursor: Cursor, opts: ReadOptions = {}): TableRead {
      if (!isProxyTable(table)) throw unknownTable(table);
      const bytes = sliceBytes(table, opts.tableOptions);
      const start = parseCursor(cursor, table);
      return read(table, start, bytes, opts);
    },
  };
}

export const MIXPANEL_PROXY_ENV_VARS = ['MIXPANEL_PROXY_SPOOL'] as const;

/** `MIXPANEL_PROXY_SPOOL`: the proxy's `--spool` folder. */
export function mixpanelProxyConfigFromEnv(env: Readonly<Record<string, string | undefined>>): MixpanelProxyConfig {
  const dir = env['MIXPANEL_PROXY_SPOOL'];
  if (dir === undefined || dir.trim() === '') {
    throw new ConfigError('MIXPANEL_PROXY_SPOOL is not set: set it to the folder the proxy writes (mixpanel-lakeflow proxy --spool DIR)', { code: 'PROXY_SPOOL_UNSET' });
  }
  return { spoolDir: dir };
}
