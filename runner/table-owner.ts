/**
 * A table belongs to one writer. The runner records who it is in the Delta table's properties
 * (`metaData.configuration`) when it creates a table, and refuses to write a table another writer created:
 * the Mailchimp sync's state, another source, another connection, or a Delta table that was never ours.
 */
import { ConfigError } from '../connector-spec/index.js';
import { OWNER_KEYS, RUNNER_WRITER, type Snapshot } from '../lakehouse/index.js';

export { OWNER_KEYS, RUNNER_WRITER };

export interface TableOwner {
  readonly connection: string;
  readonly source: string;
  readonly sourceTable: string;
  readonly primaryKeys: readonly string[];
  readonly ingestion: string;
}

/** The table properties the runner writes when it creates (or re-creates) a table. */
export function ownerConfiguration(owner: TableOwner): Record<string, string> {
  return {
    [OWNER_KEYS.writer]: RUNNER_WRITER,
    [OWNER_KEYS.connection]: owner.connection,
    [OWNER_KEYS.source]: owner.source,
    [OWNER_KEYS.sourceTable]: owner.sourceTable,
    [OWNER_KEYS.primaryKeys]: owner.primaryKeys.join(','),
    [OWNER_KEYS.ingestion]: owner.ingestion,
  };
}

/** The txn appId of a runner table: `<connection>/<table>`. */
export function appIdOf(connection: string, table: string): string {
  return `${connection}/${table}`;
}

/**
 * Throws a ConfigError unless the snapshot's table was created by this runner for this connection, source and
 * source table. `where` names the spec key (`objects[i].table.destination_table`).
 */
export function assertOwnedBy(snapshot: Snapshot, owner: TableOwner, table: string, where: string, location: string): void {
  const conf = snapshot.metadata.configuration;
  const writer = conf[OWNER_KEYS.writer];
  const code = 'RUNNER_TABLE_NOT_OURS';
  const fix = `choose another destination_table at ${where}, or move the existing table away`;
  if (writer === undefined) {
    throw new ConfigError(`${location}/${table} is a Delta table that mixpanel-lakeflow did not create (no ${OWNER_KEYS.writer} property); the runner never writes a table it does not own: ${fix}`, {
      code,
      context: { table },
    });
  }
  if (writer !== RUNNER_WRITER) {
    throw new ConfigError(`${location}/${table} belongs to ${writer} (table property ${OWNER_KEYS.writer}); the runner never writes another writer's table: ${fix}`, { code, context: { table } });
  }
  const mismatch = (key: keyof typeof OWNER_KEYS, ours: string): string | undefined => {
    const theirs = conf[OWNER_KEYS[key]];
    return theirs !== undefined && theirs !== ours ? `${key} ${theirs} (this run: ${ours})` : undefined;
  };
  const found = [mismatch('connection', owner.connection), mismatch('source', owner.source), mismatch('sourceTable', owner.sourceTable)].filter((m): m is string => m !== undefined);
  if (found.length > 0) {
    throw new ConfigError(`${location}/${table} was written for ${found.join(', ')}; one table holds one source table of one connection: ${fix}`, { code, context: { table } });
  }
}
