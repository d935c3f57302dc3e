/**
 * Row-level access to Arrow data for merges: read a cell as a plain JS value in the shape
 * `columnData` takes back, build batches of selected rows, compare sequence values, make key strings.
 * Pure functions, no I/O.
 */
import { DateDay, RecordBatch, Schema, Struct, Type, makeData, type DataType, type Vector } from 'apache-arrow';
import { DataError, columnData } from '../connector-spec/index.js';

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

/** The columns `names` of a batch or row group, refused by name (DataError) when one is missing. */
export function columnsOf(source: { getChild(name: string): Vector | null }, names: readonly string[], where: string): Vector[] {
  return names.map((name) => {
    const v = source.getChild(name);
    if (!v) throw new DataError(`${where}: column ${name} is missing; check primary_keys / sequence_by in table_configuration`, { code: 'RUNNER_MISSING_COLUMN' });
    return v;
  });
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

const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/**
 * Split a batch into runs of consecutive rows with the same partition value, each a zero-copy slice, in row
 * order (a value may come back in several runs). A Utf8 partition column is compared byte by byte with the
 * previous row, so a value is decoded once per run, not once per row. A batch whose values interleave so
 * much that slices would be tiny is split by copying instead, one batch per value.
 */
export function partitionRuns(batch: RecordBatch, column: string): [string, RecordBatch][] {
  const vector = batch.getChild(column);
  if (!vector) throw new TypeError(`partition column ${column} is missing from the batch`);
  const n = batch.numRows;
  const values: string[] = [];
  const starts: number[] = [];
  const push = (value: string, row: number) => {
    if (values.length > 0 && values[values.length - 1] === value) return;
    values.push(value);
    starts.push(row);
  };
  const data = vector.data[0];
  if (vector.type.typeId === Type.Utf8 && vector.data.length === 1 && data) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
    let prevStart = -1;
    let prevEnd = -1;
    let prevNull = false;
    for (let r = 0; r < n; r++) {
      const i = data.offset + r;
      const isNull = bitmap !== undefined && bitmap.length > 0 && ((bitmap[i >> 3]! >> (i & 7)) & 1) === 0;
      const s = offsets[r]!;
      const e = offsets[r + 1]!;
      let same = r > 0 && isNull === prevNull;
      if (same && !isNull) {
        same = e - s === prevEnd - prevStart;
        for (let k = 0; same && k < e - s; k++) same = bytes[s + k] === bytes[prevStart + k];
      }
      if (!same) push(isNull ? HIVE_NULL : partitionValue(cellOf(vector, r), vector.type), r);
      prevStart = s;
      prevEnd = e;
      prevNull = isNull;
    }
  } else {
    for (let r = 0; r < n; r++) push(partitionValue(cellOf(vector, r), vector.type), r);
  }
  if (values.length <= 1) return values.length === 0 ? [] : [[values[0]!, batch]];
  const distinct = new Set(values).size;
  if (values.length <= Math.max(16, 4 * distinct)) {
    return values.map((value, k) => [value, batch.slice(starts[k]!, k + 1 < starts.length ? starts[k + 1]! : n)]);
  }
  const rowsByValue = new Map<string, number[]>();
  values.forEach((value, k) => {
    let rows = rowsByValue.get(value);
    if (!rows) rowsByValue.set(value, (rows = []));
    const end = k + 1 < starts.length ? starts[k + 1]! : n;
    for (let r = starts[k]!; r < end; r++) rows.push(r);
  });
  return [...rowsByValue].map(([value, rows]) => [value, takeRows(batch, rows)]);
}
