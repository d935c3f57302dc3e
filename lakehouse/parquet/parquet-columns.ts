/**
 * Which columns of a Parquet file get a dictionary and statistics, decided from the file's first batch. A
 * dictionary pays only where values repeat: on a column of (nearly) unique values (keys, ids, timestamps) the
 * writer hashes every value into a dictionary that overflows and falls back to plain anyway, and the file ends
 * up larger. So a top-level column whose sampled values are mostly distinct is written plain, as is every
 * primary-key column. Statistics stay on (page level, the parquet default) for every top-level column; nested
 * leaves (a map's keys and values) get neither a dictionary nor statistics: parquet-wasm cannot address them
 * one by one, and min/max over a map's entries prunes nothing.
 */
import type { RecordBatch } from 'apache-arrow';
import { META_PRIMARY_KEYS } from '../../connector-spec/index.js';
import type { ParquetColumnPlan } from './parquet-properties.mjs';

/** Rows sampled (evenly spread) from a file's first batch. */
export const SAMPLE_ROWS = 1024;
/** With fewer non-null sampled values than this, a column keeps its dictionary: too few to judge. */
export const MIN_SAMPLE = 64;
/** A column whose sampled non-null values are at least this share distinct is written plain. */
export const DISTINCT_SHARE = 0.5;

/** The primary-key columns named in a file's key-value metadata (the table metadata the runner embeds). */
export function primaryKeysOf(keyValueMetadata: ReadonlyMap<string, string>): string[] {
  const text = keyValueMetadata.get(META_PRIMARY_KEYS);
  if (text === undefined) return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}

function mostlyDistinct(batch: RecordBatch, index: number): boolean {
  const column = batch.getChildAt(index);
  if (column === null || batch.numRows === 0) return false;
  const step = Math.max(1, Math.floor(batch.numRows / SAMPLE_ROWS));
  const seen = new Set<unknown>();
  let values = 0;
  for (let row = 0; row < batch.numRows && values < SAMPLE_ROWS; row += step) {
    const value: unknown = column.get(row);
    if (value === null || value === undefined) continue;
    values++;
    seen.add(typeof value === 'object' ? String(value) : value);
  }
  return values >= MIN_SAMPLE && seen.size >= values * DISTINCT_SHARE;
}

export function parquetColumnPlan(batch: RecordBatch, primaryKeys: readonly string[]): ParquetColumnPlan {
  const keys = new Set(primaryKeys);
  const dictionary: string[] = [];
  const statistics: string[] = [];
  batch.schema.fields.forEach((field, index) => {
    if ((field.type.children?.length ?? 0) > 0) return; // nested: its leaves get neither
    statistics.push(field.name);
    if (!keys.has(field.name) && !mostlyDistinct(batch, index)) dictionary.push(field.name);
  });
  return { dictionary, statistics };
}
