/**
 * Who owns a table, from its Delta properties (`metaData.configuration`), as the runner records it:
 * - the sync's own tables carry `mixpanelLakeflow.writer = mailchimp-sync`, and the sync writes no other table;
 * - the `engage` table it reads must be a runner table of source table `engage`
 *   (`mixpanelLakeflow.writer = runner`, `mixpanelLakeflow.sourceTable = engage`).
 * Each refusal is a ConfigError that says what was found and the fix.
 */
import { ConfigError } from '../connector-spec/index.js';
import { MAILCHIMP_SYNC_WRITER, OWNER_KEYS, RUNNER_WRITER, type Snapshot } from '../lakehouse/index.js';

export { OWNER_KEYS, RUNNER_WRITER };
export const SYNC_WRITER = MAILCHIMP_SYNC_WRITER;
/** Which of the sync's tables a table is (`state`, `errors`, `plan`). */
export const SYNC_TABLE_KEY = 'mixpanelLakeflow.syncTable';

/** Properties of a table the sync creates. */
export function syncTableConfiguration(role: string): Record<string, string> {
  return { [OWNER_KEYS.writer]: SYNC_WRITER, [SYNC_TABLE_KEY]: role };
}

/** What a table's properties say about its writer, for messages. */
export function describeOwner(configuration: Readonly<Record<string, string>>): string {
  const writer = configuration[OWNER_KEYS.writer];
  if (writer === undefined) return `a Delta table that mixpanel-lakeflow did not create (no ${OWNER_KEYS.writer} property)`;
  if (writer === RUNNER_WRITER) {
    const sourceTable = configuration[OWNER_KEYS.sourceTable];
    const connection = configuration[OWNER_KEYS.connection];
    const source = configuration[OWNER_KEYS.source];
    const from = [sourceTable !== undefined ? `source table ${sourceTable}` : undefined, source !== undefined ? `of source ${source}` : undefined, connection !== undefined ? `for connection ${connection}` : undefined]
      .filter((s): s is string => s !== undefined)
      .join(' ');
    return `a table written by the runner${from === '' ? '' : ` (${from})`}`;
  }
  return `a table written by ${writer} (${OWNER_KEYS.writer} = ${writer})`;
}

/** Refuse to write `table` unless the sync created it. */
export function assertSyncOwned(snapshot: Snapshot, table: string, location: string): void {
  const conf = snapshot.metadata.configuration;
  if (conf[OWNER_KEYS.writer] === SYNC_WRITER) return;
  throw new ConfigError(
    `--lakehouse ${location}: ${table} is ${describeOwner(conf)}; mailchimp-sync writes only tables it created, so it wrote nothing. ` +
      `Fix: move that table out of the way (rename its folder, e.g. to ${table}_moved), or pass another --lakehouse`,
    { code: 'MAILCHIMP_TABLE_NOT_OURS', context: { table } },
  );
}

/** Refuse to read `table` as the profiles unless the runner wrote it from the source table `engage`. */
export function assertEngageTable(snapshot: Snapshot, table: string, location: string): void {
  const conf = snapshot.metadata.configuration;
  if (conf[OWNER_KEYS.writer] === RUNNER_WRITER && conf[OWNER_KEYS.sourceTable] === 'engage') return;
  throw new ConfigError(
    `--lakehouse ${location}: ${table} is ${describeOwner(conf)}, not the runner's engage table (${OWNER_KEYS.writer} = ${RUNNER_WRITER}, ` +
      `${OWNER_KEYS.sourceTable} = engage), so mailchimp-sync will not read profiles from it. ` +
      `Fix: point --lakehouse at the lakehouse \`mixpanel-lakeflow run\` writes the engage table to (destination_table engage)`,
    { code: 'MAILCHIMP_ENGAGE_NOT_RUNNER', context: { table } },
  );
}
