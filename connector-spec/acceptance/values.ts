/**
 * Arrow values → plain, comparable JS: canonical JSON text per record, primary-key identity and
 * sequence ordering. Pure functions.
 */
import type { RecordBatch } from 'apache-arrow';

/** A record as plain values by column name (bigint kept as bigint). */
export type Row = Readonly<Record<string, unknown>>;

/** A plain, JSON-safe rendering of an Arrow value: bigint → "123n", nested rows → sorted objects. */
export function canonicalValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (typeof value === 'object') {
    const withJson = value as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return canonicalValue(withJson.toJSON());
    if (Symbol.iterator in value) return [...(value as Iterable<unknown>)].map(canonicalValue);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonicalValue((value as Record<string, unknown>)[key]);
    return out;
  }
  return String(value);
}

export function canonicalText(value: unknown): string {
  return JSON.stringify(canonicalValue(value));
}

/** Every record of a batch as a plain object keyed by the batch's field names. */
export function batchRows(batch: RecordBatch): Row[] {
  const names = batch.schema.fields.map((f) => f.name);
  const vectors = names.map((_, i) => batch.getChildAt(i));
  const rows: Row[] = [];
  for (let r = 0; r < batch.numRows; r++) {
    const row: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const vector = vectors[i];
      row[name] = vector && vector.isValid(r) ? vector.get(r) : null;
    });
    rows.push(row);
  }
  return rows;
}

/** Canonical text of a whole record, column order fixed by name. */
export function rowText(row: Row): string {
  return canonicalText(row);
}

/**
 * Identity of a record for key-wise comparisons: the primary-key tuple, or (for an append table without
 * keys) the whole record.
 */
export function rowKey(row: Row, primaryKeys: readonly string[]): string {
  if (primaryKeys.length === 0) return rowText(row);
  return canonicalText(primaryKeys.map((k) => row[k] ?? null));
}

/** Compare two scalar Arrow values: null first, numbers/bigints numerically, strings by code unit. */
export function compareValues(a: unknown, b: unknown): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      const x = typeof a === 'bigint' ? a : BigInt(Math.trunc(a));
      const y = typeof b === 'bigint' ? b : BigInt(Math.trunc(b));
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = typeof a === 'string' ? a : canonicalText(a);
  const y = typeof b === 'string' ? b : canonicalText(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compare two sequence tuples (`sequenceBy` columns in order). */
export function compareSequences(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

export function sequenceOf(row: Row, sequenceBy: readonly string[]): unknown[] {
  return sequenceBy.map((c) => row[c] ?? null);
}

export function sequenceText(seq: readonly unknown[]): string {
  return canonicalText(seq);
}

/** Sorted canonical texts of a list of rows: an order-free, multiset-preserving fingerprint. */
export function rowsFingerprint(rows: readonly Row[]): string[] {
  return rows.map(rowText).sort();
}
