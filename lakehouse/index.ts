/**
 * Public entry of the lakehouse: Delta Lake tables on a local folder, S3 or Azure Blob. Import from here only.
 *
 * ```ts
 * const lakehouse = await openLakehouse('./data/lakehouse', { env: process.env });
 * const events = lakehouse.table('events');
 * const snapshot = await events.snapshot();            // undefined: no table yet
 * await events.commit({ readVersion: snapshot?.version ?? -1, operation: 'WRITE', add, remove: [],
 *                       metadata, txn: { appId: 'conn/events', version: 7 }, info: { cursor } });
 * ```
 */
import { ConfigError } from '../connector-spec/index.js';
import type { OpenStoreOptions } from './storage/open.js';
import type { ObjectStore } from './storage/types.js';
import { DeltaTableImpl } from './table.js';
import type { DeltaTable, Lakehouse, OpenLakehouseOptions } from './types.js';

export * from './types.js';
export type * from './storage/types.js';
export * from './errors.js';
export { LocalStore } from './storage/local.js';
export type { OpenStoreOptions } from './storage/open.js';
export { encodeAddPath, decodeAddPath, partitionKey } from './delta/paths.js';
export { arrowToDeltaSchema, deltaToArrowSchema, parseDeltaSchema, deltaSchemaString } from './delta/schema.js';
export { parseInterval, DEFAULT_DELETED_FILE_RETENTION_MS, DEFAULT_LOG_RETENTION_MS } from './delta/table-properties.js';
export { CHECKPOINT_INTERVAL } from './delta/commit.js';
export { ColumnRange } from './data/index.js';

const DEFAULT_ENGINE_INFO = 'mixpanel-lakeflow';

function validTableName(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  if (trimmed === '' || trimmed.startsWith('/') || trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new ConfigError(`"${name}" is not a table name: use a relative folder name such as events`, { code: 'LAKEHOUSE_TABLE_NAME', context: { table: name } });
  }
  return trimmed;
}

class LakehouseImpl implements Lakehouse {
  readonly store: ObjectStore;
  readonly displayUrl: string;
  readonly #options: OpenLakehouseOptions;
  readonly #tables = new Map<string, DeltaTableImpl>();

  constructor(store: ObjectStore, options: OpenLakehouseOptions) {
    this.store = store;
    this.displayUrl = store.displayUrl;
    this.#options = options;
  }

  table(name: string): DeltaTable {
    const key = validTableName(name);
    let table = this.#tables.get(key);
    if (!table) {
      table = new DeltaTableImpl({
        store: this.store,
        name: key,
        engineInfo: this.#options.engineInfo ?? DEFAULT_ENGINE_INFO,
        now: this.#options.now ?? Date.now,
        ...(this.#options.logger ? { logger: this.#options.logger } : {}),
        ...(this.#options.checkpointInterval ? { checkpointInterval: this.#options.checkpointInterval } : {}),
      });
      this.#tables.set(key, table);
    }
    return table;
  }

  async listTables(): Promise<string[]> {
    const names = new Set<string>();
    for await (const object of this.store.list('')) {
      const at = object.path.indexOf('/_delta_log/');
      if (at > 0 && !object.path.slice(0, at).includes('/')) names.add(object.path.slice(0, at));
    }
    return [...names].sort();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * Open a lakehouse at `location`: a local folder (or file:// URL), `s3://bucket/prefix`, `az://container/prefix`
 * or `abfss://container@account.dfs.core.windows.net/prefix`. Credentials come from `options.env`. Performs no
 * I/O: call `lakehouse.store.checkWritable(flag)` before a run writes.
 */
export async function openLakehouse(location: string, options: OpenLakehouseOptions): Promise<Lakehouse> {
  const store = await openStore(location, {
    env: options.env,
    ...(options.flag === undefined ? {} : { flag: options.flag }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return new LakehouseImpl(store, options);
}

/**
 * The ObjectStore for a `--lakehouse` location (see storage/open.ts). Loaded on first use: the S3 and Azure SDKs
 * cost ~1.5 s of CPU to import, which a process that only reads a local folder through `lakehouseOnStore` skips.
 */
export async function openStore(location: string, options: OpenStoreOptions): Promise<ObjectStore> {
  const open = await import('./storage/open.js');
  return open.openStore(location, options);
}

/** A lakehouse over a store the caller built (tests, or a store from `openStore`). */
export function lakehouseOnStore(store: ObjectStore, options: Omit<OpenLakehouseOptions, 'env'> & { readonly env?: OpenLakehouseOptions['env'] } = {}): Lakehouse {
  return new LakehouseImpl(store, { env: {}, ...options });
}
export { OWNER_KEYS, RUNNER_WRITER, MAILCHIMP_SYNC_WRITER } from './owners.js';
