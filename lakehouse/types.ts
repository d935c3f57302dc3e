/**
 * The lakehouse contract: Delta Lake tables on an object store, behind one small interface.
 * Open a lakehouse, get a table, read its snapshot (live files, txn versions, the cursor's commit), write data
 * files, commit (adds, removes, txn, commitInfo) put-if-absent, vacuum. The runner, the Mailchimp sync and the
 * proxy's spool shipping all use it through `lakehouse/index.ts`; nothing else reads a table's files.
 *
 * This module imports nothing of ours but `connector-spec` types.
 */
import type { RecordBatch, Schema, Table } from 'apache-arrow';
import type { JsonValue, Logger } from '../connector-spec/index.js';
import type { ObjectStore } from './storage/types.js';

/** Delta `protocol`. We create tables at reader 1 / writer 2 with no table features. */
export interface Protocol {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[];
  readonly writerFeatures?: readonly string[];
}

/** Delta `metaData`, with the schema also as Arrow. */
export interface TableMetadata {
  readonly id: string;
  readonly name?: string;
  readonly description?: string;
  /** Delta's JSON schema text, as stored. */
  readonly schemaString: string;
  /** The same schema in Arrow (timestamps as Timestamp(MICROSECOND, 'UTC'), maps as Map<Utf8, Utf8>). */
  readonly schema: Schema;
  readonly partitionColumns: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly createdTime?: number;
}

/** What a writer sets when it creates a table or changes its schema. */
export interface NewMetadata {
  /** Arrow schema of the table's logical rows (partition columns included). */
  readonly schema: Schema;
  readonly partitionColumns: readonly string[];
  /** Table properties. Ownership lives here (`mixpanelLakeflow.writer`, `mixpanelLakeflow.connection`, …). */
  readonly configuration: Readonly<Record<string, string>>;
  readonly name?: string;
  readonly description?: string;
}

/** Delta `add`: a live data file. */
export interface AddFile {
  /** Relative to the table root, URI-encoded as Delta requires (`event_date=2026-11-20/part-…parquet`). */
  readonly path: string;
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  /** Delta stats JSON text: numRecords, minValues, maxValues, nullCount. */
  readonly stats?: string;
  /** Parsed `numRecords` of `stats` (undefined when the writer recorded no stats). */
  readonly numRecords?: number;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Delta `remove` tombstone (kept by the snapshot until vacuum may delete the file). */
export interface RemoveFile {
  readonly path: string;
  readonly deletionTimestamp: number;
  readonly dataChange: boolean;
  readonly partitionValues?: Readonly<Record<string, string | null>>;
  readonly size?: number;
}

/** The newest commit of one application (`txn.appId`) still in the log: where a source cursor lives. */
export interface AppCommit {
  /** Table version of that commit. */
  readonly version: number;
  /** Its `txn.version`. */
  readonly txnVersion: number;
  /** Epoch ms of the commit (commitInfo.timestamp). */
  readonly timestamp: number;
  /** What the writer put in `CommitRequest.info`. */
  readonly info: Readonly<Record<string, JsonValue>>;
  /**
   * True when the commit holding the snapshot's `txn.version` for this app was cleaned from the log (by another
   * engine) and this is the newest older one still present.
   */
  readonly stale: boolean;
}

export interface Snapshot {
  readonly version: number;
  readonly protocol: Protocol;
  readonly metadata: TableMetadata;
  /** Live data files, sorted by path. */
  readonly files: readonly AddFile[];
  /** Tombstones still in the log state (vacuum candidates). */
  readonly tombstones: readonly RemoveFile[];
  /** `txn` versions by appId. */
  readonly txns: ReadonlyMap<string, { readonly version: number; readonly lastUpdated?: number }>;
  /** Newest commit of `appId` still in the log (reads commit files backwards from `version`), or undefined. */
  appCommit(appId: string): Promise<AppCommit | undefined>;
  /**
   * Throws a ConfigError naming the feature when this writer must not write the table: a writer version above 2
   * without table features, or a table feature we do not implement (deletionVectors, columnMapping, …), or
   * `delta.appendOnly=true` for a commit that removes files.
   */
  assertWritable(options?: { readonly removesFiles?: boolean }): void;
}

export interface CommitRequest {
  /** The snapshot version this commit was planned on; -1 when creating the table. */
  readVersion: number;
  /** commitInfo.operation, e.g. `WRITE`, `MERGE`, `CREATE TABLE`, `REPLACE`, `CONVERT`. */
  readonly operation: string;
  readonly add: readonly AddFile[];
  /** Live files this commit removes (written as `remove` with `deletionTimestamp` = commit time). */
  readonly remove: readonly AddFile[];
  /** Required when creating the table; given later only to change the schema or properties. */
  readonly metadata?: NewMetadata;
  /** Exactly-once anchor: `txn {appId, version}`. */
  readonly txn?: { readonly appId: string; readonly version: number };
  /** Merged into commitInfo (under `mixpanelLakeflow`): the source cursor, run id, … */
  readonly info?: Readonly<Record<string, JsonValue>>;
  /**
   * Partitions this commit read to plan (a merge's rewritten partitions), as `partitionKey()` names them: the
   * value of the partition column ('' for an unpartitioned table or a null partition; `a=1/b=2` for several
   * columns). A concurrent writer that added or removed data in one of them makes this commit conflict.
   * Undefined or empty: a blind append (only removed-file, txn, metaData and protocol conflicts apply).
   */
  readonly readPartitions?: readonly string[];
}

export interface CommitResult {
  readonly version: number;
  /** Versions committed by others between `readVersion` and ours (0 when no race was lost). */
  readonly racesLost: number;
  readonly checkpointWritten: boolean;
}

/** A live file whose object is missing or has another size than the log says. */
export interface FileProblem {
  readonly path: string;
  readonly problem: 'missing' | 'size-changed';
  readonly expectedSize: number;
  readonly actualSize?: number;
  readonly partitionValues: Readonly<Record<string, string | null>>;
}

export interface VacuumResult {
  /** Files deleted (or that would be, with dryRun), as stored paths relative to the table root. */
  readonly deleted: readonly string[];
  readonly bytes: number;
  /** Files kept because they were removed (or, for orphans, written) less than `retentionMs` ago. */
  readonly retained: number;
}

/** Where a data file's Parquet is encoded (`DataFileOptions.encodeOn`). */
export type EncodeOn = 'worker' | 'calling-thread';

export interface DataFileOptions {
  readonly partitionValues: Readonly<Record<string, string | null>>;
  /** Arrow schema of the batches to come (partition columns may be present; they are not stored in the file). */
  readonly schema: Schema;
  /** Extra Parquet key-value metadata. */
  readonly keyValueMetadata?: ReadonlyMap<string, string>;
  /** Columns that get min/max stats besides every timestamp, numeric and partition column (e.g. the primary key). */
  readonly statsColumns?: readonly string[];
  /**
   * Where the Parquet is encoded. `'worker'` (default): the process's encoder thread, for rows that arrive while
   * the caller is still reading (the encoding overlaps the read), or that the caller filters while the worker encodes
   * (a merge that rewrites nothing). `'calling-thread'`: here, for rows written while this thread also reads files
   * back (a rewrite): one WebAssembly heap instead of two (50–150 MiB less at the peak, measured).
   */
  readonly encodeOn?: EncodeOn;
  /**
   * With `encodeOn: 'worker'`: which of the process's shared encoder workers (default 0). Files written at the same
   * time on different slots are encoded in parallel (the cdc merge's lanes).
   */
  readonly encoderSlot?: number;
}

/** Streams Arrow batches into one new Parquet data file on the store (unique name; never overwrites). */
export interface DataFileWriter {
  readonly rows: number;
  write(batch: RecordBatch): Promise<void>;
  /** Finish the file; returns its `add` action (stats included). */
  close(): Promise<AddFile>;
  abort(): Promise<void>;
}

export interface ReadDataFileOptions {
  /** Only these columns (partition columns are re-attached from the log when asked). */
  readonly columns?: readonly string[];
  /**
   * Cast each row group to this schema: timestamp units converted, columns missing from an older file filled
   * with nulls, partition columns re-attached. Without it, row groups come as stored (timestamps in µs).
   */
  readonly schema?: Schema;
}

export interface DeltaTable {
  readonly name: string;
  /** Path of the table root inside the store. */
  readonly root: string;
  /** The newest snapshot; undefined when no Delta log is there. */
  snapshot(): Promise<Snapshot | undefined>;
  createDataFile(options: DataFileOptions): Promise<DataFileWriter>;
  /** A data file's row groups in order, as apache-arrow Tables. */
  readDataFile(file: AddFile, options?: ReadDataFileOptions): AsyncIterable<Table>;
  /**
   * Commit put-if-absent at `readVersion + 1`. After a lost race, reads the winners' commits: a changed
   * metaData or protocol, a moved `txn` of our appId, a removed file we also remove, or a data change in one of
   * `readPartitions` throws CommitConflictError (retryable: re-plan from a fresh snapshot); otherwise retries at
   * the next version. Writes a classic checkpoint every 10 versions plus `_last_checkpoint`, then cleans log
   * files behind it that are older than the log retention.
   */
  commit(request: CommitRequest): Promise<CommitResult>;
  /** Live files that are missing from the store or changed size. */
  verify(snapshot: Snapshot): Promise<FileProblem[]>;
  /** Delete files removed longer than `retentionMs` ago (default 7 days) and orphans older than it. */
  vacuum(options?: { readonly retentionMs?: number; readonly now?: number; readonly dryRun?: boolean }): Promise<VacuumResult>;
}

export interface Lakehouse {
  readonly store: ObjectStore;
  /** The location without credentials, for messages. */
  readonly displayUrl: string;
  table(name: string): DeltaTable;
  /** Names of the folders at the root that hold a `_delta_log`. */
  listTables(): Promise<string[]>;
  close(): Promise<void>;
}

export interface OpenLakehouseOptions {
  /** Environment for credentials (AWS_*, AZURE_STORAGE_*); never read from `process.env` directly. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Who writes, for commitInfo.engineInfo. */
  readonly engineInfo?: string;
  /** Clock for commit timestamps and retention (tests). */
  readonly now?: () => number;
  /** The option that named the location, for messages (default `--lakehouse`). */
  readonly flag?: string;
  /** Write a checkpoint every N versions (default 10, Delta's; tests lower it). */
  readonly checkpointInterval?: number;
}
