/**
 * Keys, cursor and ingestion type travel as Arrow schema metadata under our own prefix (style R3),
 * so every Parquet file the runner writes carries them too.
 */
import { Schema } from 'apache-arrow';
import type { IngestionType, TableMetadata } from '../types.js';

export const META_PREFIX = 'lakeflow.';
export const META_PRIMARY_KEYS = 'lakeflow.primary_keys';
export const META_CURSOR_FIELD = 'lakeflow.cursor_field';
export const META_SEQUENCE_BY = 'lakeflow.sequence_by';
export const META_INGESTION_TYPE = 'lakeflow.ingestion_type';
export const META_PARTITION_BY = 'lakeflow.partition_by';
export const META_SNAPSHOT_GROUP_BY = 'lakeflow.snapshot_group_by';

/** Return a copy of `schema` whose metadata describes `meta`. */
export function withTableMetadata(schema: Schema, meta: TableMetadata): Schema {
  const metadata = new Map(schema.metadata);
  metadata.set(META_PRIMARY_KEYS, JSON.stringify(meta.primaryKeys));
  metadata.set(META_INGESTION_TYPE, meta.ingestionType);
  if (meta.cursorField !== undefined) metadata.set(META_CURSOR_FIELD, meta.cursorField);
  if (meta.sequenceBy !== undefined) metadata.set(META_SEQUENCE_BY, JSON.stringify(meta.sequenceBy));
  if (meta.partitionBy !== undefined) metadata.set(META_PARTITION_BY, meta.partitionBy);
  if (meta.snapshotGroupBy !== undefined) metadata.set(META_SNAPSHOT_GROUP_BY, meta.snapshotGroupBy);
  return new Schema(schema.fields, metadata);
}

function isIngestionType(value: string | undefined): value is IngestionType {
  return value === 'cdc' || value === 'snapshot' || value === 'append';
}

function stringArray(text: string | undefined, key: string): string[] | undefined {
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
    throw new TypeError(`schema metadata ${key} is not a JSON array of strings: ${text}`);
  }
  return parsed;
}

/** Read the table metadata back from a schema (for example one read from a Parquet file). */
export function readTableMetadataFromSchema(schema: Schema): TableMetadata {
  const ingestionType = schema.metadata.get(META_INGESTION_TYPE);
  if (!isIngestionType(ingestionType)) {
    throw new TypeError(`schema metadata ${META_INGESTION_TYPE} missing or invalid: ${String(ingestionType)}`);
  }
  const primaryKeys = stringArray(schema.metadata.get(META_PRIMARY_KEYS), META_PRIMARY_KEYS) ?? [];
  const cursorField = schema.metadata.get(META_CURSOR_FIELD);
  const sequenceBy = stringArray(schema.metadata.get(META_SEQUENCE_BY), META_SEQUENCE_BY);
  const partitionBy = schema.metadata.get(META_PARTITION_BY);
  const snapshotGroupBy = schema.metadata.get(META_SNAPSHOT_GROUP_BY);
  return {
    primaryKeys,
    ingestionType,
    ...(cursorField !== undefined ? { cursorField } : {}),
    ...(sequenceBy !== undefined ? { sequenceBy } : {}),
    ...(partitionBy !== undefined ? { partitionBy } : {}),
    ...(snapshotGroupBy !== undefined ? { snapshotGroupBy } : {}),
  };
}
