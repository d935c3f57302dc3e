/**
 * A Mixpanel table is a frozen, declarative object that holds its reader (style R2). A table file holds only
 * its endpoint, its schema, its option list and its record mapping; `source.ts` serves the registry.
 */
import type { Schema } from 'apache-arrow';
import type { Cursor, LiveRows, Logger, ReadProgress, ReadStats, TableMetadata, TableOptionSpec, TableOptions, TableRead } from '../../connector-spec/index.js';
import type { MixpanelClient } from './client-types.js';
import type { MixpanelConfig } from './config-types.js';
import type { ParsePool } from './events/parse-pool.js';

/**
 * Export body bytes per parse chunk (~1,200 events of ~900 bytes; a chunk's events become one batch). Measured
 * with 2 workers on 1M events: 4 MiB chunks peaked at 526 MiB RSS, 1 MiB at 425 MiB, at the same speed.
 */
export const PARSE_CHUNK_BYTES = 1 << 20;

/** How export bodies are parsed: on worker threads (`pool`) in chunks of about `chunkBytes`, or here (`pool` null). */
export interface ParseSettings {
  readonly pool: ParsePool | null;
  readonly chunkBytes: number;
}

/** Parse on the calling thread (tests and tools that build a context by hand). */
export const INLINE_PARSING: ParseSettings = Object.freeze({ pool: null, chunkBytes: PARSE_CHUNK_BYTES });

/** Everything a table's reader may use. No global state: the clock, the client and the logger come from here. */
export interface TableContext {
  readonly table: string;
  readonly config: MixpanelConfig;
  readonly client: MixpanelClient;
  /** The run's start instant (epoch ms), fixed for the life of the source: the cap for every cursor. */
  readonly runStartMs: number;
  /** Wall clock (epoch ms); injectable for tests. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly stats: ReadStats;
  readonly signal: AbortSignal | undefined;
  /** Epoch ms no wait of a call may end after (`ReadOptions.deadline`): pass it on in every call's context. */
  readonly deadline?: number | undefined;
  readonly onProgress: ((progress: ReadProgress) => void) | undefined;
  /** The host's committed rows of this table (for deletion detection), when the host keeps one. */
  readonly liveRows: LiveRows | undefined;
  readonly parsing: ParseSettings;
}

/** What a table may consult before any call: the connection config and the run's start instant. */
export interface TableSetup {
  readonly config: MixpanelConfig;
  readonly runStartMs: number;
}

export interface MixpanelTableDefinition {
  readonly name: string;
  /** One line for README and `--help`. */
  readonly description: string;
  readonly metadata: TableMetadata;
  readonly options: readonly TableOptionSpec[];
  /** The Arrow schema (without the lakeflow metadata; `source.ts` adds it). Must be deterministic. */
  schema(tableOptions: TableOptions): Schema;
  /**
   * Validate table options and cursor *synchronously* (throw ConfigError naming the option and the fix), then
   * return the generator that does one bounded slice of work and returns the next cursor.
   */
  read(ctx: TableContext, cursor: Cursor, tableOptions: TableOptions): TableRead;
  /**
   * Optional: the checks that need the connection config or the run's clock (a `start_date` in the future), and
   * the metadata that follows from them (`TableMetadata.freshReadFrom`). `source.ts` calls it from getSchema,
   * readTableMetadata and readTable before anything else; it throws ConfigError naming the option and the fix.
   */
  resolve?(setup: TableSetup, tableOptions: TableOptions): TableMetadata;
  /**
   * Optional (`LakeflowSource.rereadCursor`): a cursor that reads the rows of these partition values again and
   * then continues as `cursor` would; undefined when the table cannot target them (the host reads from the start).
   */
  rereadCursor?(setup: TableSetup, cursor: Cursor, partitions: { readonly column: string; readonly values: readonly string[] }, tableOptions: TableOptions): Cursor | undefined;
}

export type MixpanelTable = Readonly<MixpanelTableDefinition>;

/** Validate and freeze a table definition. */
export function defineTable(definition: MixpanelTableDefinition): MixpanelTable {
  if (!/^[a-z][a-z0-9_]*$/.test(definition.name)) throw new TypeError(`table name must be snake_case: ${definition.name}`);
  const { metadata } = definition;
  if (metadata.ingestionType !== 'append' && metadata.primaryKeys.length === 0) {
    throw new TypeError(`table ${definition.name}: a ${metadata.ingestionType} table needs primary keys`);
  }
  if (metadata.ingestionType === 'cdc' && metadata.cursorField === undefined) {
    throw new TypeError(`table ${definition.name}: a cdc table needs a cursor field`);
  }
  const names = new Set<string>();
  for (const option of definition.options) {
    if (names.has(option.name)) throw new TypeError(`table ${definition.name}: option ${option.name} declared twice`);
    names.add(option.name);
  }
  return Object.freeze({ ...definition, options: Object.freeze([...definition.options]) });
}
