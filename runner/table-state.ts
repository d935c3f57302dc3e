/**
 * Where a table run starts: the Delta snapshot, checked before anything is read or written — the table is
 * ours, its protocol is one we can write, every live file is still in storage at the size the log says, its
 * columns fit the plan — and the cursor, which lives in the table's own log (the commitInfo of the newest
 * commit carrying this connection's `txn`), so an empty or lost `--state` folder changes nothing.
 */
import { ConfigError, DataError, type Cursor, type JsonValue } from '../connector-spec/index.js';
import type { DeltaTable, FileProblem, Snapshot } from '../lakehouse/index.js';
import { checkSchema, type Plan, type SchemaChange } from './table-plan.js';
import { assertOwnedBy, type TableOwner } from './table-owner.js';
import type { TableRunContext } from './table-run.js';
import type { TableReport } from './report.js';

export interface TableState {
  readonly snapshot: Snapshot | undefined;
  readonly cursor: Cursor;
  /** This connection's `txn.version` for the table; -1 before its first commit. */
  readonly txnVersion: number;
  /** Epoch ms of the newest commit of this connection, if any (for `every`). */
  readonly lastCommitMs: number | undefined;
  /** The plan's columns against the table's ('same' for a new table). */
  readonly schemaChange: SchemaChange;
}

export function ownerOf(ctx: TableRunContext, p: Plan): TableOwner {
  return { connection: ctx.connectionName, source: ctx.source.name, sourceTable: ctx.spec.sourceTable, primaryKeys: p.keys, ingestion: p.ingestion };
}

function describeProblems(problems: readonly FileProblem[]): string {
  const shown = problems.slice(0, 5).map((f) => (f.problem === 'missing' ? `${f.path} (missing)` : `${f.path} (${f.actualSize ?? '?'} bytes, the log says ${f.expectedSize})`));
  return `${shown.join(', ')}${problems.length > shown.length ? ` and ${problems.length - shown.length} more` : ''}`;
}

/**
 * A live file missing or changed in storage: the run must not commit a table that is silently smaller. The fix is
 * `repair` (re-read what the files held), or for an append table, which cannot re-read only that without doubling
 * other rows, a full refresh.
 */
export function filesLostError(table: string, location: string, problems: readonly FileProblem[], ingestion?: string): DataError {
  const fix = ingestion === 'append' ? `rebuild the table (an append table cannot re-read only what they held) with: mixpanel-lakeflow run --full-refresh ${table}` : `re-read what they held with: mixpanel-lakeflow repair ${table}`;
  return new DataError(
    `${location}/${table}: ${problems.length} live data file(s) are missing from storage or changed size: ${describeProblems(problems)}. ` +
      `Nothing was read or written. Restore the files, or ${fix}`,
    { code: 'RUNNER_FILES_LOST', context: { table, files: problems.length } },
  );
}

function cursorOf(info: Readonly<Record<string, JsonValue>>): Cursor {
  return info['cursor'] ?? null;
}

/** Read the snapshot and check it; `problems` is filled instead of thrown when the caller repairs. */
export async function loadTableState(ctx: TableRunContext, p: Plan, table: DeltaTable, appId: string, report: TableReport, options: { readonly repairing?: boolean } = {}): Promise<{ state: TableState; problems: FileProblem[] }> {
  const snapshot = await table.snapshot();
  const name = ctx.spec.destinationTable;
  if (snapshot === undefined) {
    return { state: { snapshot, cursor: null, txnVersion: -1, lastCommitMs: undefined, schemaChange: { kind: 'same' } }, problems: [] };
  }
  assertOwnedBy(snapshot, ownerOf(ctx, p), name, `${ctx.spec.path}.destination_table`, ctx.lakehouse.displayUrl);
  snapshot.assertWritable({ removesFiles: p.ingestion !== 'append' });
  const problems = await table.verify(snapshot);
  if (problems.length > 0 && !options.repairing) throw filesLostError(name, ctx.lakehouse.displayUrl, problems, p.ingestion);
  const schemaChange = ctx.fullRefresh || p.ingestion === 'snapshot' ? { kind: 'same' as const } : checkSchema(p, snapshot, ctx.spec);
  const txnVersion = snapshot.txns.get(appId)?.version ?? -1;
  const app = await snapshot.appCommit(appId);
  let cursor: Cursor = null;
  if (app !== undefined) {
    cursor = cursorOf(app.info);
    if (app.stale) {
      if (p.ingestion === 'append') {
        throw new ConfigError(
          `${name}: the commit holding its newest cursor (txn ${txnVersion} of ${appId}) is gone from the Delta log (another engine cleaned it); resuming from the older cursor would append rows twice. Rebuild with: mixpanel-lakeflow run --full-refresh ${name}`,
          { code: 'RUNNER_CURSOR_LOST', context: { table: name } },
        );
      }
      report.warnings.push(`${name}: the commit holding the newest cursor was cleaned from the Delta log by another engine; resumed from the older cursor of table version ${app.version} (rows read again merge by key, nothing is doubled)`);
    }
  } else if (txnVersion >= 0) {
    throw new ConfigError(
      `${name}: the Delta log records ${txnVersion + 1} commit(s) of ${appId} but none of their commit files is left to hold the cursor; rebuild with: mixpanel-lakeflow run --full-refresh ${name}`,
      { code: 'RUNNER_CURSOR_LOST', context: { table: name } },
    );
  }
  // Converting an earlier release's table is not a run of it (`every` counts from the first real commit).
  const lastCommitMs = app !== undefined && app.info['convertedFrom'] === undefined ? app.timestamp : undefined;
  return { state: { snapshot, cursor, txnVersion, lastCommitMs, schemaChange }, problems };
}
