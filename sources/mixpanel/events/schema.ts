/**
 * The events Arrow schema: core columns, the typed standard properties, then `custom_properties`. With
 * `select_properties_by_default=false` only the selected standard properties are columns (`eventColumnsFor`).
 */
import { Bool, Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { timestampMsUtc, utf8MapType, type TableMetadata } from '../../../connector-spec/index.js';
import { EVENT_CORE_COLUMNS, EVENT_PROPERTIES, EVENT_PROPERTY_TABLE, propertyTable, type PropertyTable } from '../properties.js';

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

function schemaOf(table: PropertyTable): Schema {
  return new Schema([...CORE_FIELDS, ...table.fields, new Field('custom_properties', utf8MapType(), true)]);
}

/** The default schema (every standard property typed). */
export const EVENTS_SCHEMA: Schema = schemaOf(EVENT_PROPERTY_TABLE);

/**
 * The column set of one read: which standard properties become typed columns (the rest go raw into
 * `custom_properties`) and the matching schema. Resolved once per read, never per row.
 */
export interface EventColumns {
  readonly table: PropertyTable;
  readonly schema: Schema;
}

export const ALL_EVENT_COLUMNS: EventColumns = Object.freeze({ table: EVENT_PROPERTY_TABLE, schema: EVENTS_SCHEMA });

/**
 * The columns for a selection of standard property names (already validated), or every standard property when
 * `selected` is undefined. Columns keep the table order whatever the order of `selected`: deterministic.
 */
export function eventColumnsFor(selected: ReadonlySet<string> | undefined): EventColumns {
  if (selected === undefined) return ALL_EVENT_COLUMNS;
  const table = propertyTable(
    EVENT_PROPERTIES.filter((p) => selected.has(p.property)),
    EVENT_CORE_COLUMNS,
  );
  return Object.freeze({ table, schema: schemaOf(table) });
}

export const EVENTS_METADATA: TableMetadata = Object.freeze({
  primaryKeys: Object.freeze(['dedupe_key']),
  cursorField: 'time',
  sequenceBy: Object.freeze(['time', 'mp_processing_time_ms']),
  ingestionType: 'cdc',
  partitionBy: 'event_date',
  // Copies share the dedupe key, so their `time_raw` is in the same whole second (dedupe.ts): a merge skips files of other hours.
  keyDerivedFrom: Object.freeze({ column: 'time_raw', granularity: 1000 }),
});
