/**
 * The lakehouse's errors: the connector-spec taxonomy (ConfigError, TransientError, DataError, …) with stable
 * `LAKEHOUSE_*` codes, plus CommitConflictError for a lost commit race that the caller must re-plan.
 * Messages name the table, the version or feature, and the fix. Never a credential: tables are named by their
 * store's display URL, which carries none.
 */
import { ConfigError, DataError, TransientError, type ErrorContext } from '../connector-spec/index.js';

export const LAKEHOUSE_COMMIT_CONFLICT = 'LAKEHOUSE_COMMIT_CONFLICT';
export const LAKEHOUSE_UNSUPPORTED_FEATURE = 'LAKEHOUSE_UNSUPPORTED_FEATURE';
export const LAKEHOUSE_UNSUPPORTED_TYPE = 'LAKEHOUSE_UNSUPPORTED_TYPE';
export const LAKEHOUSE_LOG_CORRUPT = 'LAKEHOUSE_LOG_CORRUPT';
export const LAKEHOUSE_COMMIT_INVALID = 'LAKEHOUSE_COMMIT_INVALID';
export const LAKEHOUSE_LOCATION = 'LAKEHOUSE_LOCATION';

/** Why a commit lost to a concurrent writer in a way that a retry at the next version cannot fix. */
export type CommitConflictReason =
  /** A winner changed the table's metaData (schema, partitioning, properties) or created the table. */
  | 'metadata'
  /** A winner changed the table's protocol. */
  | 'protocol'
  /** A winner committed a `txn` for our appId: another run of the same connection/table got there first. */
  | 'txn'
  /** A winner removed a file this commit removes too. */
  | 'removed-file'
  /** A winner added or removed data in a partition this commit read to plan. */
  | 'partition-changed'
  /** Writers kept winning every version we tried (the retry bound was reached). */
  | 'retries-exhausted'
  /** A commit between the plan and now is no longer in the log (cleaned up), so it cannot be checked. */
  | 'history-gone';

export interface CommitConflictDetails {
  readonly table: string;
  readonly reason: CommitConflictReason;
  /** The version this commit was planned on. */
  readonly readVersion: number;
  /** The winner's version that conflicts. */
  readonly conflictVersion: number;
  /** What it conflicts on (a file path, a partition, an appId), for the message. */
  readonly detail?: string;
}

const REASON_TEXT: Readonly<Record<CommitConflictReason, string>> = {
  metadata: "changed the table's metaData (schema, partitioning or properties)",
  protocol: "changed the table's Delta protocol",
  txn: 'committed a txn for the same application (another run of this connection and table)',
  'removed-file': 'removed a file this commit also removes',
  'partition-changed': 'added or removed data in a partition this commit read',
  'retries-exhausted': 'kept committing first at every version this writer tried',
  'history-gone': 'is no longer in the log to be checked against this commit',
};

/**
 * A concurrent writer committed first and its changes invalidate this commit's plan. Retryable: take a fresh
 * snapshot, plan again (re-read the affected partitions, re-check `txn`) and commit again. Nothing of this
 * commit is in the table; its data files are orphans that vacuum deletes after the retention.
 */
export class CommitConflictError extends TransientError {
  readonly reason: CommitConflictReason;
  readonly readVersion: number;
  readonly conflictVersion: number;

  constructor(details: CommitConflictDetails) {
    const what = details.detail ? ` (${details.detail})` : '';
    super(
      `Delta table ${details.table}: planned on version ${details.readVersion}, but the writer of version ` +
        `${details.conflictVersion} ${REASON_TEXT[details.reason]}${what}. Nothing of this commit was written to the log; ` +
        'it will be planned again from a fresh snapshot. If this repeats, make sure only one schedule writes this table.',
      {
        code: LAKEHOUSE_COMMIT_CONFLICT,
        context: { table: details.table, reason: details.reason, readVersion: details.readVersion, conflictVersion: details.conflictVersion },
      },
    );
    this.reason = details.reason;
    this.readVersion = details.readVersion;
    this.conflictVersion = details.conflictVersion;
  }
}

export function isCommitConflict(error: unknown): error is CommitConflictError {
  return error instanceof CommitConflictError;
}

/** What a Delta feature refusal is about. */
export type FeatureUse = 'read' | 'write';

/**
 * A table uses a Delta feature (or protocol version) this connector does not implement: a ConfigError
 * naming the table, the feature and the fix.
 */
export function unsupportedFeature(table: string, feature: string, use: FeatureUse, fix?: string): ConfigError {
  const action = use === 'read' ? 'read' : 'write';
  const defaultFix =
    use === 'read'
      ? `read it with an engine that implements \`${feature}\` (Spark, Databricks, delta-rs), or point --lakehouse at another location`
      : `write to another table or location (--lakehouse), or remove the feature from the table (Databricks/Spark: \`ALTER TABLE … DROP FEATURE ${feature}\`) if you no longer need it`;
  return new ConfigError(
    `Delta table ${table} uses \`${feature}\`, which mixpanel-lakeflow does not implement, so it will not ${action} the table ` +
      `(doing so could ${use === 'read' ? 'return wrong rows' : 'corrupt it for other engines'}). Fix: ${fix ?? defaultFix}.`,
    { code: LAKEHOUSE_UNSUPPORTED_FEATURE, context: { table, feature, use } },
  );
}

/** A commit that removes files on a table with `delta.appendOnly=true`. */
export function appendOnlyViolation(table: string): ConfigError {
  return new ConfigError(
    `Delta table ${table} has delta.appendOnly=true, and this commit removes or rewrites files, which an append-only table ` +
      'forbids; nothing was written. Fix: set the table property delta.appendOnly=false (Spark/Databricks: ' +
      "`ALTER TABLE … SET TBLPROPERTIES ('delta.appendOnly' = 'false')`), or load this table with the append ingestion.",
    { code: LAKEHOUSE_UNSUPPORTED_FEATURE, context: { table, feature: 'appendOnly', use: 'write' } },
  );
}

/** The log cannot be read back: a commit that is not JSON, a gap in the versions, no metaData. */
export function logCorrupt(table: string, problem: string, context: ErrorContext = {}): DataError {
  return new DataError(
    `Delta table ${table}: the transaction log is not readable: ${problem}. Nothing was written. Fix: restore the ` +
      '_delta_log folder from a backup, or move the table aside and load it again (mixpanel-lakeflow run --full-refresh).',
    { code: LAKEHOUSE_LOG_CORRUPT, context: { table, ...context } },
  );
}
