/** The events Arrow schema: core columns, the typed standard properties, then `custom_properties`. */
import { Bool, Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { timestampMsUtc, utf8MapType, type TableMetadata } from '../../../connector-spec/index.js';
import { EVENT_PROPERTY_TABLE } from '../properties.js';

export const CORE_FIELDS: readonly Field[] = Object.freeze([
  new Field('dedupe_key', new Utf8(), false),
  new Field('event', new Utf8(), true),
  new Field('insert_id', new Utf8(), true),
  new Field('insert_id_missing', new Bool(), false),
  new Field('distinct_id', new Utf8(), true),
  new Field('time', timestampMsUtc(), true),
  new Field('time_raw', new Int64(), true),
  new Field('time_flag', new Utf8(), true),
  new Field('event_date', new Utf8(), true),
  new Field('mp_processing_time_ms', new Int64(), true),
]);

/** Index of each core column in the schema. */
export const COL = Object.freeze({
  dedupe_key: 0,
  event: 1,
  insert_id: 2,
  insert_id_missing: 3,
  distinct_id: 4,
  time: 5,
  time_raw: 6,
  time_flag: 7,
  event_date: 8,
  mp_processing_time_ms: 9,
});

export const STANDARD_OFFSET = CORE_FIELDS.length;

export const EVENTS_SCHEMA: Schema = new Schema([
  ...CORE_FIELDS,
  ...EVENT_PROPERTY_TABLE.fields,
  new Field('custom_properties', utf8MapType(), true),
]);

export const EVENTS_METADATA: TableMetadata = Object.freeze({
  primaryKeys: Object.freeze(['dedupe_key']),
  cursorField: 'time',
  sequenceBy: Object.freeze(['time', 'mp_processing_time_ms']),
  ingestionType: 'cdc',
  partitionBy: 'event_date',
});
