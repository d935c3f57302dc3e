/**
 * Row-level access to Arrow data for merges: read a cell as a plain JS value in the shape
 * `columnData` takes back, build batches of selected rows, compare sequence values, make key strings.
 * Pure functions, no I/O.
 */
import { DateDay, RecordBatch, Schema, Struct, Type, makeData, type DataType, type Vector } from 'apache-arrow';
import { columnData } from '../connector-spec/index.js';

/** A cell as a JS value: string | number | bigint | boolean | null | [key, value][] (maps). */
export type Cell = string | number | bigint | boolean | null | (readonly [string, string | null])[];

export function cellOf(vector: Vector, row: number): Cell {
  const value: unknown = vector.get(row);
  if (value === null || value === undefined) return null;
  if (vector.type.typeId === Type.Map) {
    const pairs: [string, string | null][] = [];
    for (const entry of value as Iterable<[unknown, unknown]>) {
      pairs.push([String(entry[0]), entry[1] === null || entry[1] === undefined ? null : String(entry[1])]);
    }
    return pairs;
  }
  if (vector.type.typeId === Type.Timestamp || vector.type.typeId === Type.Date) {
    return typeof value === 'bigint' ? Number(value) : (value as number);
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return value;
  throw new TypeError(`unsupported Arrow value for type ${String(vector.type)}`);
}

function dateDayData(values: readonly Cell[]): ReturnType<typeof makeData> {
  const n = values.length;
  const data = new Int32Array(n);
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nullCount++;
    else {
      data[i] = Math.floor(Number(v) / 86_400_000);
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
  }
  return makeData({ type: new DateDay(), length: n, nullCount, nullBitmap: nullCount > 0 ? bitmap : undefined, data });
}

export function buildColumn(type: DataType, values: readonly Cell[]) {
  if (type.typeId === Type.Date) return dateDayData(values);
  return columnData(type, values);
}

/** Build a batch of `schema` from per-column cell arrays (same order as the schema's fields). */
export function batchFromCells(schema: Schema, columns: readonly (readonly Cell[])[]): RecordBatch {
  const length = columns[0]?.length ?? 0;
  const children = schema.fields.map((field, i) => buildColumn(field.type, columns[i]!));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

/** A stable string for a primary-key tuple (types kept apart, nulls explicit). */
export function keyString(values: readonly Cell[]): string {
  return values.map((v) => (v === null ? '\u0001' : typeof v === 'object' ? JSON.stringify(v) : `${typeof v}:${String(v)}`)).join('\u0000');
}

/** Compare two sequence tuples column by column; null sorts first (oldest). */
export function compareSequence(a: readonly Cell[], b: readonly Cell[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareCell(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return c;
  }
  return 0;
}

export function compareCell(a: Cell, b: Cell): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const sa = typeof a === 'object' ? JSON.stringify(a) : String(a);
  const sb = typeof b === 'object' ? JSON.stringify(b) : String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Partition value of a cell as it appears in a hive path (`event_date=2026-11-20`). */
export function partitionValue(cell: Cell, type: DataType): string {
  if (cell === null) return '__HIVE_DEFAULT_PARTITION__';
  if (type.typeId === Type.Date && typeof cell === 'number') return new Date(cell).toISOString().slice(0, 10);
  return encodeURIComponent(String(cell));
}

/** Split a batch into one batch per partition value (a batch with a single value is returned as is). */
export function splitByPartition(batch: RecordBatch, column: string): Map<string, RecordBatch> {
  const vector = batch.getChild(column);
  if (!vector) throw new TypeError(`partition column ${column} is missing from the batch`);
  const rowsByValue = new Map<string, number[]>();
  for (let i = 0; i < batch.numRows; i++) {
    const value = partitionValue(cellOf(vector, i), vector.type);
    let rows = rowsByValue.get(value);
    if (!rows) rowsByValue.set(value, (rows = []));
    rows.push(i);
  }
  const out = new Map<string, RecordBatch>();
  if (rowsByValue.size === 1) {
    out.set([...rowsByValue.keys()][0]!, batch);
    return out;
  }
  for (const [value, rows] of rowsByValue) out.set(value, takeRows(batch, rows));
  return out;
}

/** The selected rows of a batch, same schema. */
export function takeRows(batch: RecordBatch, rows: readonly number[]): RecordBatch {
  const columns = batch.schema.fields.map((_, c) => {
    const vector = batch.getChildAt(c)!;
    return rows.map((r) => cellOf(vector, r));
  });
  return batchFromCells(batch.schema, columns);
}
