/**
 * The Mixpanel source: a LakeflowSource over the explicit table registry. One client (and so one limiter per
 * API family) per source instance, shared by every table; `runStartMs` is fixed at creation.
 */
import type { Schema } from 'apache-arrow';
import {
  ConfigError,
  emptyReadStats,
  withTableMetadata,
  type Cursor,
  type LakeflowSource,
  type Logger,
  type ReadOptions,
  type TableMetadata,
  type TableOptionSpec,
  type TableOptions,
  type TableRead,
} from '../../connector-spec/index.js';
import { createMixpanelClient, type ClientLimits } from './client.js';
import type { MixpanelClient } from './client-types.js';
import type { MixpanelConfig } from './config-types.js';
import { ParsePool, defaultParseWorkers } from './events/parse-pool.js';
import { PARSE_CHUNK_BYTES, type MixpanelTable, type ParseSettings } from './table.js';
import { annotations } from './tables/annotations.js';
import { cohortMembers } from './tables/cohort-members.js';
import { cohorts } from './tables/cohorts.js';
import { engage } from './tables/engage.js';
import { events } from './tables/events.js';
import { funnels } from './tables/funnels.js';
import { groups } from './tables/groups.js';
import { revenue } from './tables/revenue.js';

export const tables = [events, engage, cohorts, cohortMembers, groups, funnels, annotations, revenue] as const;

export interface MixpanelSourceOptions {
  /** Clock (epoch ms), default Date.now. `runStartMs` is read from it once, at creation. */
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly limits?: Partial<ClientLimits>;
  /** Sleep used by the client's waits (tests inject a fast one). */
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Bytes of export body per parse chunk (default 4 MiB; tests use small chunks to exercise the workers). */
  readonly parseChunkBytes?: number;
  /** A ready client (tests); by default one is created from `config`. */
  readonly client?: MixpanelClient;
}

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function tableNames(): string {
  return tables.map((t) => t.name).join(', ');
}

function findTable(name: string): MixpanelTable {
  const table = tables.find((t) => t.name === name);
  if (!table) {
    throw new ConfigError(`Unknown Mixpanel table "${name}": use one of ${tableNames()}`, { code: 'MP_UNKNOWN_TABLE', context: { table: name } });
  }
  return table;
}

function checkOptions(table: MixpanelTable, tableOptions: TableOptions): void {
  const known = new Set(table.options.map((o) => o.name));
  for (const key of Object.keys(tableOptions)) {
    if (!known.has(key)) {
      const valid = table.options.length > 0 ? table.options.map((o) => o.name).join(', ') : '(none)';
      throw new ConfigError(`Unknown option "${key}" for table ${table.name}: valid options are ${valid}`, {
        code: 'MP_UNKNOWN_TABLE_OPTION',
        context: { table: table.name, path: key },
      });
    }
  }
}

/** Create the Mixpanel source. */
export function createMixpanelSource(config: MixpanelConfig, options: MixpanelSourceOptions = {}): LakeflowSource {
  const now = options.now ?? Date.now;
  const runStartMs = now();
  const logger = options.logger ?? SILENT;
  const client = options.client ?? createMixpanelClient(config, { limits: options.limits, logger, now, sleep: options.sleep });
  const workers = config.parseWorkers ?? defaultParseWorkers();
  const setup = { config, runStartMs };
  const parsing: ParseSettings = { pool: workers > 0 ? new ParsePool(workers) : null, chunkBytes: options.parseChunkBytes ?? PARSE_CHUNK_BYTES };

  return {
    name: 'mixpanel',
    async listTables(): Promise<string[]> {
      return tables.map((t) => t.name);
    },
    async getSchema(name: string, opts?: { readonly tableOptions?: TableOptions }): Promise<Schema> {
      const table = findTable(name);
      const tableOptions = opts?.tableOptions ?? {};
      checkOptions(table, tableOptions);
      table.resolve?.(setup, tableOptions);
      return withTableMetadata(table.schema(tableOptions), table.metadata);
    },
    async readTableMetadata(name: string, opts?: { readonly tableOptions?: TableOptions }): Promise<TableMetadata> {
      const table = findTable(name);
      checkOptions(table, opts?.tableOptions ?? {});
      return table.resolve?.(setup, opts?.tableOptions ?? {}) ?? table.metadata;
    },
    async listTableOptions(name: string): Promise<readonly TableOptionSpec[]> {
      return findTable(name).options;
    },
    readTable(name: string, cursor: Cursor, readOptions: ReadOptions = {}): TableRead {
      const table = findTable(name);
      const tableOptions = readOptions.tableOptions ?? {};
      checkOptions(table, tableOptions);
      table.resolve?.(setup, tableOptions);
      return table.read(
        {
          table: table.name,
          config,
          client,
          runStartMs,
          now,
          logger: readOptions.logger ?? logger,
          stats: readOptions.stats ?? emptyReadStats(),
          signal: readOptions.signal,
          deadline: readOptions.deadline,
          onProgress: readOptions.onProgress,
          liveRows: readOptions.liveRows,
          parsing,
        },
        cursor,
        tableOptions,
      );
    },
    rereadCursor(name, cursor, partitions, opts): Cursor | undefined {
      const table = findTable(name);
      const tableOptions = opts?.tableOptions ?? {};
      checkOptions(table, tableOptions);
      return table.rereadCursor?.(setup, cursor, partitions, tableOptions);
    },
    async close(): Promise<void> {
      await parsing.pool?.close();
      await client.close();
    },
  };
}
