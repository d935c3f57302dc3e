/**
 * Test wiring until the lead adds funnels, annotations and revenue to `source.ts`: a LakeflowSource over a given
 * list of tables, built like `createMixpanelSource` (one client, runStartMs fixed at creation). Tests only.
 */
import type { Schema } from 'apache-arrow';
import { ConfigError, emptyReadStats, withTableMetadata, type Cursor, type LakeflowSource, type Logger, type ReadOptions, type TableOptions } from '../../../connector-spec/index.js';
import { createMixpanelClient, type ClientLimits } from '../client.js';
import type { MixpanelConfig } from '../config-types.js';
import { INLINE_PARSING, type MixpanelTable } from '../table.js';
import { FAST_LIMITS } from '../testing/emulator-source.js';

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function sourceOfTables(
  tables: readonly MixpanelTable[],
  config: MixpanelConfig,
  options: { readonly now: () => number; readonly logger?: Logger; readonly limits?: Partial<ClientLimits> },
): LakeflowSource {
  const runStartMs = options.now();
  const logger = options.logger ?? SILENT;
  const client = createMixpanelClient(config, { limits: { ...FAST_LIMITS, ...options.limits }, logger, now: options.now });
  const find = (name: string): MixpanelTable => {
    const t = tables.find((x) => x.name === name);
    if (t === undefined) throw new ConfigError(`Unknown Mixpanel table "${name}": use one of ${tables.map((x) => x.name).join(', ')}`, { code: 'MP_UNKNOWN_TABLE', context: { table: name } });
    return t;
  };
  const check = (t: MixpanelTable, o: TableOptions): void => {
    for (const key of Object.keys(o)) {
      if (!t.options.some((s) => s.name === key)) throw new ConfigError(`Unknown option "${key}" for table ${t.name}`, { code: 'MP_UNKNOWN_TABLE_OPTION', context: { table: t.name } });
    }
  };
  return {
    name: 'mixpanel',
    async listTables() {
      return tables.map((t) => t.name);
    },
    async getSchema(name: string, opts?: { readonly tableOptions?: TableOptions }): Promise<Schema> {
      const t = find(name);
      check(t, opts?.tableOptions ?? {});
      return withTableMetadata(t.schema(opts?.tableOptions ?? {}), t.metadata);
    },
    async readTableMetadata(name: string, opts?: { readonly tableOptions?: TableOptions }) {
      const t = find(name);
      check(t, opts?.tableOptions ?? {});
      return t.metadata;
    },
    async listTableOptions(name: string) {
      return find(name).options;
    },
    readTable(name: string, cursor: Cursor, read: ReadOptions = {}) {
      const t = find(name);
      const tableOptions = read.tableOptions ?? {};
      check(t, tableOptions);
      return t.read(
        { table: t.name, config, client, runStartMs, now: options.now, logger: read.logger ?? logger, stats: read.stats ?? emptyReadStats(), signal: read.signal, onProgress: read.onProgress, liveRows: read.liveRows, parsing: INLINE_PARSING },
        cursor,
        tableOptions,
      );
    },
    async close() {
      await client.close();
    },
  };
}
