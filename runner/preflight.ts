/**
 * Read-only checks of every selected table before the first API call and the first write, so a mistake in one
 * table's settings stops the whole run while it still costs nothing: the table is ours (table-owner.ts), its
 * Delta protocol is one we can write, its columns fit the plan, and a `--full-refresh` would not drop history a
 * read from the start cannot bring back (unless `--drop-history`). `runTable` checks the same again when it
 * starts the table, since another writer may have created or changed it in between.
 */
import { ConfigError, type LakeflowSource } from '../connector-spec/index.js';
import type { Lakehouse, Snapshot } from '../lakehouse/index.js';
import type { TableSpec } from './pipeline-spec.js';
import { assertOwnedBy } from './table-owner.js';
import { checkSchema, planTable, type Plan } from './table-plan.js';

/** Rows a `--full-refresh` would drop for good: those in partitions older than where a read from the start begins. */
export interface HistoryBeyondReach {
  readonly horizon: NonNullable<Plan['freshReadFrom']>;
  readonly rows: number;
  /** The oldest partition value held. */
  readonly oldest: string;
}

export function historyBeyondReach(snapshot: Snapshot, p: Plan): HistoryBeyondReach | undefined {
  const horizon = p.freshReadFrom;
  if (horizon === undefined) return undefined;
  const older = snapshot.files.filter((f) => {
    const v = f.partitionValues[horizon.column];
    return v !== undefined && v !== null && v < horizon.from;
  });
  if (older.length === 0) return undefined;
  return { horizon, rows: older.reduce((n, f) => n + (f.numRecords ?? 0), 0), oldest: older.map((f) => f.partitionValues[horizon.column]!).sort()[0]! };
}

/** How far back a read from the start goes, for messages: `event_date 2026-11-01 (start_date 2026-11-01)`. */
export function freshReadReach(p: Plan): string {
  const horizon = p.freshReadFrom;
  return horizon === undefined ? 'the start (everything the source holds)' : `${horizon.column} ${horizon.from} (${horizon.reason ?? "the source's reach"})`;
}

/**
 * The refusal of a `--full-refresh` that would drop rows older than the oldest partition a read from the start
 * brings back (the source's `freshReadFrom`), saying how far back that read goes; undefined when nothing is lost.
 */
export function historyDropError(snapshot: Snapshot, p: Plan, table: string): ConfigError | undefined {
  const lost = historyBeyondReach(snapshot, p);
  if (lost === undefined) return undefined;
  return new ConfigError(
    `--full-refresh ${table} re-reads from ${freshReadReach(p)}, but the table holds ${lost.rows} row(s) from ${lost.oldest} to before ${lost.horizon.from} that a full refresh would drop for good. ` +
      `Add --drop-history to drop them, or reach further back first (for events: MIXPANEL_HISTORICAL_DAYS or start_date)`,
    { code: 'RUNNER_FULL_REFRESH_DROPS_HISTORY', context: { table, rows: lost.rows } },
  );
}

export interface PreflightOptions {
  readonly source: LakeflowSource;
  readonly connectionName: string;
  readonly lakehouse: Lakehouse;
  readonly tables: readonly TableSpec[];
  /** Destination tables of `--full-refresh`. */
  readonly fullRefresh: ReadonlySet<string>;
  readonly dropHistory: boolean;
}

/** Throws the first problem (a ConfigError naming the key or flag and the fix); reads, never writes. */
export async function preflightTables(options: PreflightOptions): Promise<void> {
  const { source, lakehouse } = options;
  for (const spec of options.tables) {
    const name = spec.destinationTable;
    const p = await planTable(source, spec);
    const snapshot = await lakehouse.table(name).snapshot();
    if (snapshot === undefined) continue;
    const owner = { connection: options.connectionName, source: source.name, sourceTable: spec.sourceTable, primaryKeys: p.keys, ingestion: p.ingestion };
    assertOwnedBy(snapshot, owner, name, `${spec.path}.destination_table`, lakehouse.displayUrl);
    snapshot.assertWritable({ removesFiles: p.ingestion !== 'append' });
    const refresh = options.fullRefresh.has(name);
    if (refresh && !options.dropHistory) {
      const problem = historyDropError(snapshot, p, name);
      if (problem !== undefined) throw problem;
    }
    if (!refresh && p.ingestion !== 'snapshot') checkSchema(p, snapshot, spec);
  }
}
