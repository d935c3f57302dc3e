/**
 * Types of the connector acceptance suite: the options a source passes in one call, the verdict of a check,
 * and the shape of a check (a plain async function that throws on failure).
 */
import type { Cursor, LakeflowSource, Logger, TableOptions } from '../types.js';

/** What `createSource` receives besides the config: the suite's capturing logger (scanned for secrets). */
export interface SourceEnv {
  readonly logger: Logger;
}

export interface AcceptanceSkip {
  /** A test id: `<table> > <check>` or `<check>` for source-level checks; `* > <check>` for every table. */
  readonly test: string;
  /** Why the check does not apply. Required and non-empty: a skip without a reason fails the suite. */
  readonly reason: string;
}

/** One primary key upstream holds: `{ <key column>: value, … }`. Other properties are ignored. */
export type ExpectedKey = Readonly<Record<string, unknown>>;

export interface AllowedNullColumn {
  readonly column: string;
  readonly reason: string;
}

export interface AcceptanceOptions<C = undefined> {
  /** Source name: the outer `describe` and the schema snapshot file prefix. */
  readonly name: string;
  /** Build a NEW source. Called for each "trigger" (a source fixes its run start when it is created). */
  createSource(config: C, env: SourceEnv): LakeflowSource | Promise<LakeflowSource>;
  readonly config?: C;
  /** Tables to check; default: `listTables()` of a source built at collection time. */
  readonly tables?: readonly string[];
  /** Table options per table (for example `{ groups: { data_group_id: '1' } }`). */
  readonly tableOptions?: Readonly<Record<string, TableOptions>>;
  readonly skip?: readonly AcceptanceSkip[];
  /** Credentials createSource uses: none may appear in a log line, error, warning or cursor. */
  readonly secrets?: readonly string[];
  /** Add data to a table's upstream so the next source sees more (new keys). Needed by the trigger checks. */
  readonly addData?: (table: string) => Promise<void>;
  /**
   * Ground truth from the test double: the primary keys upstream holds for `table` NOW, which a full read by a
   * source created now must return exactly (one object per key, the key columns by name; integers as number or
   * bigint, timestamps as epoch ms or Date). Optional: without it the ground-truth check does not apply. A table
   * the double cannot describe should throw, and be skipped with a reason.
   */
  readonly expected?: (table: string) => readonly ExpectedKey[] | Promise<readonly ExpectedKey[]>;
  /** A cursor that lies in the future of `lastCursor` (the converged cursor of a full read). */
  readonly futureCursor?: (table: string, lastCursor: Cursor) => Cursor;
  /** Table options that readTable must reject when called; default: an unknown key. */
  readonly badTableOptions?: TableOptions | ((table: string) => TableOptions);
  /** Columns allowed to be null in every record, each with a reason. */
  readonly allowNullColumns?: Readonly<Record<string, readonly AllowedNullColumn[]>>;
  /** Calls allowed before an incremental read must converge (Lakeflow: 50). */
  readonly maxCalls?: number;
  /** Batches allowed in one call before it counts as never ending. Default 10 000. */
  readonly maxBatchesPerCall?: number;
  /** Where schema snapshots live; default `__schema_snapshots__` next to the calling test file. */
  readonly snapshotDir?: string;
}

/** How the schema snapshot check treats a missing or different snapshot. */
export interface SnapshotMode {
  /** Write the snapshot and pass (UPDATE_SCHEMA_SNAPSHOTS=1). */
  readonly update: boolean;
  /** A missing snapshot fails instead of being written (CI=true). */
  readonly ci: boolean;
}

export type Verdict =
  | { readonly status: 'pass' }
  | { readonly status: 'fail'; readonly error: Error }
  | { readonly status: 'skip'; readonly reason: string }
  | { readonly status: 'n/a'; readonly reason: string };

export type CheckScope = 'source' | 'table';
