/**
 * The interface every source implements, in the Lakeflow shape (listTables, getSchema,
 * readTableMetadata, readTable), with Arrow as the only schema language.
 *
 * This module imports nothing of ours; sources and the runner import it.
 */
import type { RecordBatch, Schema } from 'apache-arrow';

/** Any value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A cursor is opaque to the runner: a JSON-serialisable value the source hands back on the next call.
 * `null` and `{}` both mean "from the start".
 */
export type Cursor = JsonValue;

/** dlt words: cdc = merge by key (newest sequence wins), snapshot = replace, append = add. */
export type IngestionType = 'cdc' | 'snapshot' | 'append';

export interface TableMetadata {
  /** Columns (top-level Arrow field names) that identify a row. Non-empty unless `append`. */
  readonly primaryKeys: readonly string[];
  /** Column the source's cursor advances on; the default `sequence_by` for cdc merges. */
  readonly cursorField?: string;
  /**
   * Columns that order versions of one key, newest last (compared in order, nulls first).
   * Defaults to `[cursorField]`. Mixpanel events use `[time, mp_processing_time_ms]`.
   */
  readonly sequenceBy?: readonly string[];
  readonly ingestionType: IngestionType;
  /**
   * Optional column the runner may partition files by (hive style `<column>=<value>/`).
   * Must be a Utf8 or Date column. Events use `event_date`.
   */
  readonly partitionBy?: string;
  /**
   * For snapshot tables: the column whose values group rows for join/leave reporting against the previous
   * snapshot (for example `cohort_id` for cohort members).
   */
  readonly snapshotGroupBy?: string;
  /**
   * What a read from a null cursor (a first run, a `--full-refresh`) brings back, for a table partitioned by
   * `column`: `from` is the partition value of the first instant such a read covers, so every row in a partition
   * before `from` would be dropped for good by a full refresh. `reason` names where `from` comes from, for
   * messages (e.g. `start_date 2024-01-01`, `MIXPANEL_HISTORICAL_DAYS=30 before 2026-11-20`). Computed when asked
   * (it moves with the clock and the table options). Absent: a fresh read brings back everything the table holds.
   * Mixpanel events: `{ column: 'event_date', from: <start_date, or today − MIXPANEL_HISTORICAL_DAYS> }`.
   */
  readonly freshReadFrom?: { readonly column: string; readonly from: string; readonly reason?: string };
  /**
   * An integer or timestamp column the key is built from, to a `granularity` (a positive integer): rows of one key
   * have the same `floor(value / granularity)`, or are all null. A cdc merge then skips the data files whose range
   * of the column (Delta stats) shares no such unit with the call's rows, without reading their keys. Values are in
   * the column's units (milliseconds for a timestamp); granularity 1: rows of one key hold one value. Used only
   * while the table's keys are these `primaryKeys` (a spec that overrides `primary_keys` turns it off). Mixpanel
   * events: `{ column: 'time_raw', granularity: 1000 }` (the dedupe key holds the event's time in whole seconds).
   */
  readonly keyDerivedFrom?: { readonly column: string; readonly granularity: number };
}

/** Table options as they arrive from `pipeline_spec.json` `table_configuration` (non-reserved keys). */
export type TableOptions = Readonly<Record<string, string>>;

/** A table option a source understands, so hosts can reject unknown keys and document the rest. */
export interface TableOptionSpec {
  readonly name: string;
  readonly description: string;
  readonly default?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logger handed to sources. Fields must never contain secrets. */
export interface Logger {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Progress a source reports while reading; the host renders it (TTY bar or log lines). */
export interface ReadProgress {
  readonly table: string;
  readonly rowsRead: number;
  readonly bytesRead: number;
  readonly slicesDone?: number;
  readonly slicesTotal?: number;
  /** Remaining calls in the API family's hourly budget, when the source knows it. */
  readonly apiBudgetLeft?: number;
}

/** Counters a source accumulates for the run report. */
export interface ReadStats {
  apiCalls: number;
  retries: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  warnings: string[];
  /**
   * What the source knowingly left out of the table this call (a cohort whose data group was deleted, fields
   * it has no column for): the run then finishes "incomplete" (exit 3) and the report says what. Recovered
   * faults (a restarted session, a retried call) are `warnings`, which are information only.
   */
  missing: string[];
  /** Free-form per-table counters (for example cohort joins and leaves, values kept raw). */
  counters: Record<string, number>;
}

export interface ReadOptions {
  readonly tableOptions?: TableOptions;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  readonly onProgress?: (progress: ReadProgress) => void;
  /** When given, the source adds its API calls, retries, waits and warnings here. */
  readonly stats?: ReadStats;
  /**
   * The host's current rows of this table, as committed before this call: one array per row holding the values
   * of `columns` in order. A source uses it where a full snapshot must detect deletions (a key live in the
   * destination but absent upstream) without keeping every key in its cursor. Absent when the host keeps no
   * table (the acceptance suite, a one-off read): the source then falls back to what its cursor can hold.
   */
  readonly liveRows?: LiveRows;
  /**
   * Epoch ms the host will not wait past (`--max-wait`). A source never sleeps (rate-limit pacing, backoff) beyond
   * it: it throws a RateLimitError whose `retryAfterMs` says when to try again, and the host ends the run with
   * its committed work kept.
   */
  readonly deadline?: number;
}

/** A cell of `liveRows`: Utf8 → string, integers → number (bigint beyond 2^53), timestamps → epoch ms, null. */
export type LiveCell = string | number | bigint | boolean | null;

export type LiveRows = (columns: readonly string[]) => AsyncIterable<readonly LiveCell[]>;

/**
 * One call of `readTable`: an async generator that yields Arrow record batches and *returns* the next
 * cursor. Rules (checked by the acceptance suite):
 * - an incremental table eventually returns no batches and the same cursor;
 * - it never yields batches and then returns a cursor equal to its input;
 * - a call reads a bounded amount (one slice), so the host can commit data + cursor per call;
 * - a failure throws; a partial read is never returned as success.
 */
export type TableRead = AsyncGenerator<RecordBatch, Cursor, undefined>;

export interface LakeflowSource {
  /** Stable name of the source, for logs and reports. */
  readonly name: string;
  listTables(): Promise<string[]>;
  /** Arrow schema whose metadata marks keys, cursor and ingestion type (see `schema-metadata.ts`). */
  getSchema(table: string, options?: { readonly tableOptions?: TableOptions }): Promise<Schema>;
  readTableMetadata(table: string, options?: { readonly tableOptions?: TableOptions }): Promise<TableMetadata>;
  /** Table options this table accepts; a host rejects any other key with this list. */
  listTableOptions(table: string): Promise<readonly TableOptionSpec[]>;
  /** Throws a typed error synchronously (when called) for an unknown table or bad options. */
  readTable(table: string, cursor: Cursor, options?: ReadOptions): TableRead;
  /**
   * Optional: a cursor that reads again the rows of the given values of the table's partition column (for
   * example event dates whose files were lost from storage), from `cursor`'s position on; `undefined` when the
   * source cannot target them, and the host then reads from the start (rows still present merge by key).
   */
  rereadCursor?(table: string, cursor: Cursor, partitions: { readonly column: string; readonly values: readonly string[] }, options?: { readonly tableOptions?: TableOptions }): Cursor | undefined;
  /** Release sockets and timers. */
  close?(): Promise<void>;
}

export function emptyReadStats(): ReadStats {
  return { apiCalls: 0, retries: 0, rateLimitWaits: 0, rateLimitWaitMs: 0, warnings: [], missing: [], counters: {} };
}

/** `null`, `undefined` and `{}` all mean "from the start". */
export function isStartCursor(cursor: Cursor | undefined): boolean {
  if (cursor === null || cursor === undefined) return true;
  return typeof cursor === 'object' && !Array.isArray(cursor) && Object.keys(cursor).length === 0;
}

/** Cursor equality as Spark decides it: the JSON text, key order included. */
export function cursorsEqual(a: Cursor, b: Cursor): boolean {
  if (isStartCursor(a) && isStartCursor(b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
