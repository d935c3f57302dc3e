/**
 * Who owns a table, recorded in its Delta table properties (`metaData.configuration`): the runner writes these
 * keys when it creates a table, the Mailchimp sync its own; each refuses to write a table another writer owns.
 * One vocabulary, here, so every writer reads the others' marks the same way.
 */
export const OWNER_KEYS = {
  writer: 'mixpanelLakeflow.writer',
  connection: 'mixpanelLakeflow.connection',
  source: 'mixpanelLakeflow.source',
  sourceTable: 'mixpanelLakeflow.sourceTable',
  primaryKeys: 'mixpanelLakeflow.primaryKeys',
  ingestion: 'mixpanelLakeflow.ingestion',
} as const;

/** `mixpanelLakeflow.writer` of the tables `mixpanel-lakeflow run` writes. */
export const RUNNER_WRITER = 'runner';
/** `mixpanelLakeflow.writer` of the tables `mixpanel-lakeflow mailchimp-sync` writes. */
export const MAILCHIMP_SYNC_WRITER = 'mailchimp-sync';
