/**
 * Arrow schemas of the profile and cohort tables (pure, deterministic). Column names follow the connector rule:
 * a standard property becomes a typed column named by stripping a leading `$`.
 */
import { Bool, Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { timestampMsUtc, utf8MapType } from '../../../connector-spec/index.js';
import { arrowTypeOf, PEOPLE_PROPERTIES, type StandardProperty } from '../properties.js';

/** A standard profile property mapped to a typed column. Timestamps also get a `<column>_raw` Utf8 column. */
export type ProfileColumn = StandardProperty;

/** Standard people properties (the source's table in `properties.ts`), in schema order. */
export const PEOPLE_COLUMNS: readonly ProfileColumn[] = PEOPLE_PROPERTIES;

const GROUP_PROPERTY_NAMES = ['$name', '$created', '$last_seen', '$city', '$region', '$country_code', '$timezone'];

/** Group profiles carry a smaller standard set: a name, timestamps, geo. */
export const GROUP_COLUMNS: readonly ProfileColumn[] = Object.freeze(
  GROUP_PROPERTY_NAMES.map((name) => {
    const found = PEOPLE_PROPERTIES.find((p) => p.property === name);
    if (found === undefined) throw new TypeError(`no standard people property ${name}`);
    return found;
  }),
);

/** Typed fields for a column list: a timestamp column is followed by its `_raw` text column. */
export function typedFields(columns: readonly ProfileColumn[]): Field[] {
  const fields: Field[] = [];
  for (const c of columns) {
    fields.push(new Field(c.column, arrowTypeOf(c.kind), true));
    if (c.kind === 'timestamp') fields.push(new Field(`${c.column}_raw`, new Utf8(), true));
  }
  return fields;
}

export function engageSchema(): Schema {
  return new Schema([
    new Field('distinct_id', new Utf8(), false),
    ...typedFields(PEOPLE_COLUMNS),
    new Field('custom_properties', utf8MapType(), true),
    new Field('_deleted_at', timestampMsUtc(), true),
  ]);
}

export function groupsSchema(): Schema {
  return new Schema([
    new Field('group_key', new Utf8(), false),
    new Field('group_id', new Utf8(), false),
    ...typedFields(GROUP_COLUMNS),
    new Field('custom_properties', utf8MapType(), true),
    new Field('_deleted_at', timestampMsUtc(), true),
  ]);
}

export function cohortsSchema(): Schema {
  return new Schema([
    new Field('id', new Int64(), false),
    new Field('name', new Utf8(), true),
    new Field('description', new Utf8(), true),
    new Field('count', new Int64(), true),
    new Field('is_visible', new Bool(), true),
    new Field('created', timestampMsUtc(), true),
    new Field('created_raw', new Utf8(), true),
    new Field('project_id', new Int64(), true),
    new Field('data_group_id', new Utf8(), true),
  ]);
}

export function cohortMembersSchema(): Schema {
  return new Schema([
    new Field('cohort_id', new Int64(), false),
    new Field('distinct_id', new Utf8(), false),
  ]);
}
