/**
 * The three proxy tables. Append-only: every spool record is one row (an SDK retry is a second row with the
 * same `dedupe_key`), so `row_id` (request id + record index [+ operation]) is the key.
 * Partitioned by `received_date`, the UTC date the proxy received the request.
 */
import { Bool, Field, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { timestampMsUtc, withTableMetadata, type TableMetadata } from '../../connector-spec/index.js';

export type ProxyTable = 'proxy_events' | 'proxy_profile_updates' | 'proxy_group_updates';
export const PROXY_TABLES: readonly ProxyTable[] = ['proxy_events', 'proxy_profile_updates', 'proxy_group_updates'];

const common = (): Field[] => [
  new Field('client_ip', new Utf8(), true),
  new Field('received_at', timestampMsUtc(), false),
  new Field('received_date', new Utf8(), false),
  new Field('upstream_status', new Int32(), true),
  /** Mixpanel's verdict on the record, from its answer body (null: the answer did not say). */
  new Field('upstream_accepted', new Bool(), true),
  /** Why not accepted: Mixpanel's error text, the HTTP status, or why Mixpanel could not be reached. */
  new Field('upstream_error', new Utf8(), true),
  new Field('request_id', new Utf8(), false),
];

export const EVENTS_FIELDS: readonly Field[] = [
  new Field('row_id', new Utf8(), false),
  new Field('dedupe_key', new Utf8(), false),
  new Field('event', new Utf8(), true),
  new Field('time_utc', timestampMsUtc(), true),
  new Field('time_raw', new Float64(), true),
  new Field('distinct_id', new Utf8(), true),
  new Field('device_id', new Utf8(), true),
  new Field('user_id', new Utf8(), true),
  new Field('insert_id', new Utf8(), true),
  new Field('token', new Utf8(), true),
  new Field('lib', new Utf8(), true),
  ...common(),
  new Field('properties', new Utf8(), true),
];

export const PROFILE_FIELDS: readonly Field[] = [
  new Field('row_id', new Utf8(), false),
  new Field('dedupe_key', new Utf8(), false),
  new Field('distinct_id', new Utf8(), true),
  new Field('device_id', new Utf8(), true),
  new Field('user_id', new Utf8(), true),
  new Field('token', new Utf8(), true),
  new Field('operation', new Utf8(), true),
  new Field('payload', new Utf8(), true),
  new Field('ip', new Utf8(), true),
  new Field('ignore_time', new Bool(), true),
  new Field('time_utc', timestampMsUtc(), true),
  ...common(),
  new Field('raw', new Utf8(), false),
];

export const GROUP_FIELDS: readonly Field[] = [
  new Field('row_id', new Utf8(), false),
  new Field('dedupe_key', new Utf8(), false),
  new Field('group_key', new Utf8(), true),
  new Field('group_id', new Utf8(), true),
  new Field('token', new Utf8(), true),
  new Field('operation', new Utf8(), true),
  new Field('payload', new Utf8(), true),
  new Field('time_utc', timestampMsUtc(), true),
  ...common(),
  new Field('raw', new Utf8(), false),
];

export const PROXY_METADATA: TableMetadata = Object.freeze({
  primaryKeys: Object.freeze(['row_id']),
  cursorField: 'received_at',
  ingestionType: 'append',
  partitionBy: 'received_date',
});

export const SCHEMAS: Readonly<Record<ProxyTable, Schema>> = {
  proxy_events: withTableMetadata(new Schema([...EVENTS_FIELDS]), PROXY_METADATA),
  proxy_profile_updates: withTableMetadata(new Schema([...PROFILE_FIELDS]), PROXY_METADATA),
  proxy_group_updates: withTableMetadata(new Schema([...GROUP_FIELDS]), PROXY_METADATA),
};

/** The spool endpoint each table reads. */
export const TABLE_ENDPOINT: Readonly<Record<ProxyTable, 'track' | 'engage' | 'groups'>> = {
  proxy_events: 'track',
  proxy_profile_updates: 'engage',
  proxy_group_updates: 'groups',
};

export function isProxyTable(name: string): name is ProxyTable {
  return (PROXY_TABLES as readonly string[]).includes(name);
}
