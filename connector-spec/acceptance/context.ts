/**
 * The state one acceptance run shares between its checks: a factory for fresh sources (each with a capturing
 * logger), and per table the schema, the metadata and one full read, each computed once and cached.
 * A check that needs a second read makes it itself, with a fresh source.
 */
import type { Schema } from 'apache-arrow';
import { emptyReadStats } from '../types.js';
import type { Cursor, LakeflowSource, ReadOptions, ReadStats, TableMetadata, TableOptions } from '../types.js';
import { CapturingLogger } from './logger.js';
import { readSequence, type ReadLimits, type ReadSequence } from './reads.js';
import type { AcceptanceOptions, SnapshotMode } from './types.js';

export const UNKNOWN_TABLE = '__acceptance_no_such_table_9z9z__';
export const DEFAULT_MAX_CALLS = 50;
export const DEFAULT_MAX_BATCHES_PER_CALL = 10_000;

export interface SourceHandle {
  readonly source: LakeflowSource;
  readonly logger: CapturingLogger;
}

/** A full read plus everything it left behind (log lines, stats warnings). */
export interface FullRead {
  readonly sequence: ReadSequence;
  readonly logger: CapturingLogger;
  readonly stats: ReadStats;
}

/** The options with the config type erased: checks never look at the config, only createSource does. */
type AnyOptions = AcceptanceOptions<unknown>;

export class RunContext {
  readonly options: AnyOptions;
  readonly snapshotMode: SnapshotMode;
  readonly snapshotDir: string;
  readonly limits: ReadLimits;
  readonly #created: LakeflowSource[] = [];
  readonly #tables = new Map<string, TableContext>();

  constructor(options: AnyOptions, snapshotDir: string, snapshotMode: SnapshotMode) {
    this.options = options;
    this.snapshotDir = snapshotDir;
    this.snapshotMode = snapshotMode;
    this.limits = {
      maxCalls: options.maxCalls ?? DEFAULT_MAX_CALLS,
      maxBatchesPerCall: options.maxBatchesPerCall ?? DEFAULT_MAX_BATCHES_PER_CALL,
    };
  }

  /** A NEW source instance (a new "trigger"), with its own capturing logger. */
  async newSource(): Promise<SourceHandle> {
    const logger = new CapturingLogger();
    const source: LakeflowSource = await this.options.createSource(this.options.config, { logger });
    this.#created.push(source);
    return { source, logger };
  }

  table(name: string): TableContext {
    let table = this.#tables.get(name);
    if (table === undefined) {
      table = new TableContext(this, name);
      this.#tables.set(name, table);
    }
    return table;
  }

  async close(): Promise<void> {
    const sources = this.#created.splice(0);
    await Promise.allSettled(sources.map(async (s) => s.close?.()));
  }
}

export class TableContext {
  readonly run: RunContext;
  readonly name: string;
  readonly tableOptions: TableOptions;
  #schema: Promise<Schema> | undefined;
  #metadata: Promise<TableMetadata> | undefined;
  #fullRead: Promise<FullRead> | undefined;

  constructor(run: RunContext, name: string) {
    this.run = run;
    this.name = name;
    this.tableOptions = run.options.tableOptions?.[name] ?? {};
  }

  /** getSchema's answer, from the first call on a fresh source. Cached. */
  schema(): Promise<Schema> {
    this.#schema ??= this.run.newSource().then(({ source }) => source.getSchema(this.name, { tableOptions: this.tableOptions }));
    return this.#schema;
  }

  /** readTableMetadata's answer, from the first call on a fresh source. Cached. */
  metadata(): Promise<TableMetadata> {
    this.#metadata ??= this.run
      .newSource()
      .then(({ source }) => source.readTableMetadata(this.name, { tableOptions: this.tableOptions }));
    return this.#metadata;
  }

  async isSnapshot(): Promise<boolean> {
    return (await this.metadata()).ingestionType === 'snapshot';
  }

  /** Read options for a call: this table's options, the source's logger, a stats object. */
  readOptions(logger: CapturingLogger, stats: ReadStats = emptyReadStats()): ReadOptions {
    return { tableOptions: this.tableOptions, logger, stats };
  }

  /** A full read from `start` with the given source (snapshot: one call). */
  async read(handle: SourceHandle, start: Cursor, stats?: ReadStats): Promise<ReadSequence> {
    return readSequence(handle.source, this.name, start, this.readOptions(handle.logger, stats), await this.isSnapshot(), this.run.limits);
  }

  /** A full read from a fresh source, starting at `start`. */
  async freshRead(start: Cursor): Promise<ReadSequence> {
    return this.read(await this.run.newSource(), start);
  }

  /** The full read from `null` with one fresh source, as the first trigger reads it. Cached. */
  fullRead(): Promise<FullRead> {
    this.#fullRead ??= (async () => {
      const handle = await this.run.newSource();
      const stats = emptyReadStats();
      const sequence = await this.read(handle, null, stats);
      return { sequence, logger: handle.logger, stats };
    })();
    return this.#fullRead;
  }
}
