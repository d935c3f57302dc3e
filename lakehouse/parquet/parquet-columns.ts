/**
 * Which columns of a Parquet file get a dictionary and statistics, decided from the file's first rows (at least
 * SAMPLE_ROWS of them, however they were cut into batches: see ParquetFileWriter). A
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

/**
 * Rows sampled (evenly spread) from a file's first batches; a writer holds its first batches until they hold this
 * many rows (or the file ends) before it decides. Deciding from whatever the first batch held made the encoding
 * depend on where a batch happened to be cut: a partition's first rows are often the tail of a batch that began in
 * the day before, and a handful of rows kept a dictionary on every id and timestamp column (a kept 5M-event, 30-day
 * load had one such file in 30; a profiled run of that load spent 40% more time encoding than without copies).
 */
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

function mostlyDistinct(batches: readonly RecordBatch[], index: number, total: number): boolean {
  if (total === 0) return false;
  const step = Math.max(1, Math.floor(total / SAMPLE_ROWS));
  const seen = new Set<unknown>();
  let values = 0;
  let b = 0;
  let base = 0;
  for (let row = 0; row < total && values < SAMPLE_ROWS; row += step) {
    while (row >= base + batches[b]!.numRows) base += batches[b++]!.numRows;
    const value: unknown = batches[b]!.getChildAt(index)?.get(row - base);
    if (value === null || value === undefined) continue;
    values++;
    seen.add(typeof value === 'object' ? String(value) : value);
  }
  return values >= MIN_SAMPLE && seen.size >= values * DISTINCT_SHARE;
}

/** The plan of a file from its first batches (same columns, in order; at least one). */
export function parquetColumnPlan(first: readonly RecordBatch[], primaryKeys: readonly string[]): ParquetColumnPlan {
  if (first.length === 0) throw new RangeError('parquetColumnPlan needs at least one batch');
  const keys = new Set(primaryKeys);
  const dictionary: string[] = [];
  const statistics: string[] = [];
  const total = first.reduce((n, b) => n + b.numRows, 0);
  first[0]!.schema.fields.forEach((field, index) => {
    if ((field.type.children?.length ?? 0) > 0) return; // nested: its leaves get neither
    statistics.push(field.name);
    if (!keys.has(field.name) && !mostlyDistinct(first, index, total)) dictionary.push(field.name);
  });
  return { dictionary, statistics };
}
