/**
 * Split a batch by the value of its partition column, at buffer level: one pass over the column assigns each
 * row a partition number (a Utf8 value is decoded once per run of equal rows, never once per row), then each
 * partition's rows are gathered with `takeRows`. A batch holding one value is returned as it is (the usual
 * case: an export slice is one event date).
 */
import { Type, type Data, type RecordBatch, type Vector } from 'apache-arrow';
import { takeRows } from '../connector-spec/index.js';

/** A partition value as Delta records it: the value's string form, or null. */
export type PartitionValue = string | null;

const decoder = new TextDecoder();

function isValid(data: Data, i: number): boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return true;
  const at = data.offset + i;
  return ((bitmap[at >> 3]! >> (at & 7)) & 1) === 1;
}

function sameBytes(values: Uint8Array, a0: number, a1: number, b0: number, b1: number): boolean {
  if (a1 - a0 !== b1 - b0) return false;
  for (let k = 0; k < a1 - a0; k++) if (values[a0 + k] !== values[b0 + k]) return false;
  return true;
}

function dayString(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The partition value of every row: `values[ids[row]]`. Supports Utf8 and Date (day) partition columns, the
 * kinds `TableMetadata.partitionBy` allows.
 */
export function partitionIds(vector: Vector): { readonly ids: Int32Array; readonly values: PartitionValue[] } {
  const ids = new Int32Array(vector.length);
  const values: PartitionValue[] = [];
  const known = new Map<PartitionValue, number>();
  const idOf = (value: PartitionValue): number => {
    let id = known.get(value);
    if (id === undefined) {
      id = values.length;
      values.push(value);
      known.set(value, id);
    }
    return id;
  };
  let row = 0;
  for (const data of vector.data as Data[]) {
    if (vector.type.typeId === Type.Utf8) {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      let prevStart = -1;
      let prevEnd = -1;
      let prevId = -1;
      let prevNull = false;
      for (let r = 0; r < data.length; r++) {
        const valid = isValid(data, r);
        const s = offsets[r]!;
        const e = offsets[r + 1]!;
        let id: number;
        if (prevId >= 0 && valid !== prevNull && (!valid || sameBytes(bytes, s, e, prevStart, prevEnd))) id = prevId;
        else id = idOf(valid ? decoder.decode(bytes.subarray(s, e)) : null);
        ids[row++] = id;
        prevStart = s;
        prevEnd = e;
        prevId = id;
        prevNull = !valid;
      }
    } else if (vector.type.typeId === Type.Date) {
      const days = data.values as Int32Array;
      let prevDay = Number.NaN;
      let prevId = -1;
      for (let r = 0; r < data.length; r++) {
        if (!isValid(data, r)) {
          ids[row++] = idOf(null);
          prevDay = Number.NaN;
          continue;
        }
        const day = days[r]!; // fixed-width values are sliced with the data; the validity bitmap is not
        if (day !== prevDay) {
          prevId = idOf(dayString(day));
          prevDay = day;
        }
        ids[row++] = prevId;
      }
    } else {
      throw new TypeError(`partition column of type ${String(vector.type)}: only Utf8 and Date columns can partition a table`);
    }
  }
  return { ids, values };
}

/** The batch's rows grouped by partition value, in first-seen order; row order is kept within a partition. */
export function splitByPartition(batch: RecordBatch, column: string): Map<PartitionValue, RecordBatch> {
  const vector = batch.getChild(column);
  if (!vector) throw new TypeError(`partition column ${column} is missing from the batch`);
  const out = new Map<PartitionValue, RecordBatch>();
  if (batch.numRows === 0) return out;
  const { ids, values } = partitionIds(vector);
  if (values.length === 1) {
    out.set(values[0]!, batch);
    return out;
  }
  const counts = new Int32Array(values.length);
  for (let r = 0; r < ids.length; r++) counts[ids[r]!]!++;
  const rows = values.map((_, id) => new Int32Array(counts[id]!));
  const fill = new Int32Array(values.length);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r]!;
    rows[id]![fill[id]!++] = r;
  }
  values.forEach((value, id) => out.set(value, takeRows(batch, rows[id]!)));
  return out;
}

/**
 * The rows of `batch` in partition `value`, without the rows in `drop`, as gather indices; null when that is the
 * whole batch (one partition value, nothing dropped), so the batch is written as it is.
 */
export function rowsOfPartition(batch: RecordBatch, column: string, value: PartitionValue, drop: ReadonlySet<number> | undefined): Int32Array | null {
  const vector = batch.getChild(column);
  if (!vector) throw new TypeError(`partition column ${column} is missing from the batch`);
  const { ids, values } = partitionIds(vector);
  const id = values.indexOf(value);
  if (id < 0) return new Int32Array(0);
  if (values.length === 1 && (drop === undefined || drop.size === 0)) return null;
  let n = 0;
  for (let r = 0; r < ids.length; r++) if (ids[r] === id && !drop?.has(r)) n++;
  const rows = new Int32Array(n);
  let k = 0;
  for (let r = 0; r < ids.length; r++) if (ids[r] === id && !drop?.has(r)) rows[k++] = r;
  return rows;
}
