/**
 * Partition columns live in the log, not in the file (Delta convention): the writer drops them from each batch
 * after checking, cheaply and over the buffers, that every row holds the file's partition value; the reader
 * re-attaches them as constant columns built from `add.partitionValues` (typed from the Delta string form:
 * `2026-11-20` for a date, `2026-11-20 08:09:10.001` or ISO-8601 for a timestamp, decimal digits, `true`). It
 * also builds the all-null column of a column an older file does not have. Pure functions, no per-row objects.
 */
import { Data, DateDay, Field, Int64, Map_, Struct, Type, Utf8, makeData, type DataType, type Timestamp } from 'apache-arrow';
import { InternalError } from '../../connector-spec/index.js';

/** A partition value parsed for a column type: what fills a constant column. */
export type PartitionScalar =
  | { readonly kind: 'null' }
  | { readonly kind: 'utf8'; readonly bytes: Uint8Array; readonly text: string }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  /** Days since the epoch. */
  | { readonly kind: 'date'; readonly days: number }
  /** Microseconds since the epoch (UTC). */
  | { readonly kind: 'timestamp'; readonly micros: bigint };

const DATE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

function utcDays(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return Math.floor(date.getTime() / 86_400_000);
}

/** Epoch µs of a Delta timestamp partition value; undefined when it is not one. A value without zone is UTC. */
export function parseTimestampMicros(text: string): bigint | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const days = utcDays(Number(m[1]), Number(m[2]), Number(m[3]));
  let seconds = BigInt(days) * 86_400n + BigInt(Number(m[4]) * 3_600 + Number(m[5]) * 60 + Number(m[6]));
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    seconds -= BigInt(sign * (Number(digits.slice(0, 2)) * 3_600 + Number(digits.slice(2)) * 60));
  }
  const fraction = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  return seconds * 1_000_000n + BigInt(fraction);
}

/** Days since the epoch of a `YYYY-MM-DD` value; undefined when it is not one. */
export function parseDateDays(text: string): number | undefined {
  const m = DATE.exec(text);
  return m ? utcDays(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

const MICROS_PER_UNIT = [1_000_000n, 1_000n, 1n, 1n] as const; // SECOND, MILLISECOND, MICROSECOND, NANOSECOND (÷/×)

/** A timestamp in µs expressed in `type`'s unit (rounded down for coarser units). */
export function microsToUnit(micros: bigint, type: Timestamp): bigint {
  if (type.unit === 3) return micros * 1_000n; // NANOSECOND
  const per = MICROS_PER_UNIT[type.unit];
  const q = micros / per;
  return micros % per < 0n ? q - 1n : q;
}

/**
 * Parse a Delta partition value string for a column of `type`. Throws InternalError when the text is not a value
 * of that type (a log written by another engine with another convention, or a bug).
 */
export function parsePartitionValue(column: string, text: string | null, type: DataType): PartitionScalar {
  if (text === null || text === '') return { kind: 'null' };
  const bad = (): InternalError =>
    new InternalError(`partition value ${JSON.stringify(text)} of column ${column} is not a ${String(type)}`, {
      code: 'LAKEHOUSE_PARTITION_VALUE',
      context: { column },
    });
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
      return { kind: 'utf8', bytes: new TextEncoder().encode(text), text };
    case Type.Int:
      if (!/^-?\d+$/.test(text)) throw bad();
      return { kind: 'int', value: BigInt(text) };
    case Type.Float: {
      const value = Number(text);
      if (Number.isNaN(value) && text !== 'NaN') throw bad();
      return { kind: 'float', value };
    }
    case Type.Bool:
      if (text !== 'true' && text !== 'false') throw bad();
      return { kind: 'bool', value: text === 'true' };
    case Type.Date: {
      const days = parseDateDays(text);
      if (days === undefined) throw bad();
      return { kind: 'date', days };
    }
    case Type.Timestamp: {
      const micros = parseTimestampMicros(text);
      if (micros === undefined) throw bad();
      return { kind: 'timestamp', micros };
    }
    default:
      throw new InternalError(`partition column ${column} has type ${String(type)}; partition columns must be a string, integer, double, boolean, date or timestamp`, {
        code: 'LAKEHOUSE_PARTITION_TYPE',
        context: { column },
      });
  }
}

function allValid(length: number): Uint8Array {
  return new Uint8Array((length + 7) >> 3).fill(0xff);
}

/** An all-null column of `type` with `length` rows (typed buffers of the right size, so any reader accepts it). */
export function nullColumn(type: DataType, length: number): Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  const base = { type, length, nullCount: length, nullBitmap };
  switch (type.typeId) {
    case Type.Utf8:
    case Type.Binary:
      return makeData({ ...base, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) } as Parameters<typeof makeData>[0]) as Data;
    case Type.Map:
    case Type.List: {
      const child = nullColumn(type.children[0]!.type, 0);
      return makeData({ ...base, valueOffsets: new Int32Array(length + 1), child } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Struct:
      return makeData({ ...base, children: (type as Struct).children.map((f: Field) => nullColumn(f.type, length)) } as Parameters<typeof makeData>[0]) as Data;
    case Type.Bool:
      return makeData({ ...base, data: new Uint8Array((length + 7) >> 3) } as Parameters<typeof makeData>[0]) as Data;
    case Type.Null:
      return makeData({ type, length } as Parameters<typeof makeData>[0]) as Data;
    default: {
      // Fixed width: a zeroed buffer of the type's array type.
      const ArrayType = (type as DataType & { ArrayType: new (n: number) => ArrayBufferView }).ArrayType;
      const stride = (type as DataType & { listSize?: number; byteWidth?: number }).typeId === Type.FixedSizeBinary ? (type as DataType & { byteWidth: number }).byteWidth : 1;
      return makeData({ ...base, data: new ArrayType(length * stride) } as Parameters<typeof makeData>[0]) as Data;
    }
  }
}

/** A column of `length` rows all holding `value`, typed as `type`. */
export function constantColumn(column: string, type: DataType, value: PartitionScalar, length: number): Data {
  if (value.kind === 'null') return nullColumn(type, length);
  const base = { type, length, nullCount: 0, nullBitmap: allValid(length) };
  const mismatch = (): InternalError =>
    new InternalError(`partition column ${column}: a ${value.kind} value cannot fill a ${String(type)} column`, { code: 'LAKEHOUSE_PARTITION_TYPE', context: { column } });
  switch (type.typeId) {
    case Type.Utf8: {
      if (value.kind !== 'utf8') throw mismatch();
      const width = value.bytes.length;
      const valueOffsets = new Int32Array(length + 1);
      for (let i = 1; i <= length; i++) valueOffsets[i] = i * width;
      const data = new Uint8Array(width * length);
      if (width > 0 && length > 0) {
        data.set(value.bytes, 0);
        for (let filled = width; filled < data.length; filled *= 2) data.copyWithin(filled, 0, Math.min(filled, data.length - filled));
      }
      return makeData({ ...base, type: type as Utf8, valueOffsets, data });
    }
    case Type.Int: {
      if (value.kind !== 'int') throw mismatch();
      const ArrayType = (type as DataType & { ArrayType: new (n: number) => { fill(v: number | bigint): unknown } & ArrayBufferView }).ArrayType;
      const data = new ArrayType(length);
      data.fill((type as Int64).bitWidth === 64 ? value.value : Number(value.value));
      return makeData({ ...base, data } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Float: {
      if (value.kind !== 'float') throw mismatch();
      const ArrayType = (type as DataType & { ArrayType: new (n: number) => Float64Array }).ArrayType;
      return makeData({ ...base, data: new ArrayType(length).fill(value.value) } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Bool: {
      if (value.kind !== 'bool') throw mismatch();
      return makeData({ ...base, data: value.value ? allValid(length) : new Uint8Array((length + 7) >> 3) } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Date: {
      if (value.kind !== 'date') throw mismatch();
      if (type instanceof DateDay) return makeData({ ...base, type, data: new Int32Array(length).fill(value.days) });
      return makeData({ ...base, data: new BigInt64Array(length).fill(BigInt(value.days) * 86_400_000n) } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Timestamp: {
      if (value.kind !== 'timestamp') throw mismatch();
      return makeData({ ...base, type: type as Timestamp, data: new BigInt64Array(length).fill(microsToUnit(value.micros, type as Timestamp)) });
    }
    default:
      throw mismatch();
  }
}

function mismatchError(column: string, expected: string | null, row: number): InternalError {
  return new InternalError(
    `data file for partition ${column}=${expected === null ? 'null' : JSON.stringify(expected)} got a row (${row}) from another partition; split batches by ${column} before writing them`,
    { code: 'LAKEHOUSE_PARTITION_MISMATCH', context: { column } },
  );
}

function validAt(data: Data, row: number): boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || data.nullCount === 0) return true;
  const at = data.offset + row;
  return ((bitmap[at >> 3]! >> (at & 7)) & 1) === 1;
}

/**
 * Throws InternalError (LAKEHOUSE_PARTITION_MISMATCH) unless every row of `data` holds `expected`. One pass
 * over the buffers: null counts, then lengths and bytes (strings) or values (numbers, dates, timestamps).
 */
export function assertPartitionColumn(column: string, data: Data, expected: PartitionScalar, expectedText: string | null): void {
  const n = data.length;
  if (n === 0) return;
  if (expected.kind === 'null') {
    if (data.nullCount === n) return;
    // Delta reads an empty partition value as null, so an empty string belongs to the null partition too.
    const offsets = data.type.typeId === Type.Utf8 ? (data.valueOffsets as Int32Array) : undefined;
    for (let row = 0; row < n; row++) {
      if (validAt(data, row) && !(offsets && offsets[row + 1] === offsets[row])) throw mismatchError(column, expectedText, row);
    }
    return;
  }
  if (data.nullCount > 0) for (let row = 0; row < n; row++) if (!validAt(data, row)) throw mismatchError(column, expectedText, row);
  switch (expected.kind) {
    case 'utf8': {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      const want = expected.bytes;
      const width = want.length;
      for (let row = 0; row < n; row++) {
        const start = offsets[row]!;
        if (offsets[row + 1]! - start !== width) throw mismatchError(column, expectedText, row);
        for (let k = 0; k < width; k++) if (bytes[start + k] !== want[k]) throw mismatchError(column, expectedText, row);
      }
      return;
    }
    case 'date': {
      if (!(data.type instanceof DateDay)) break;
      const values = data.values as Int32Array;
      for (let row = 0; row < n; row++) if (values[row] !== expected.days) throw mismatchError(column, expectedText, row);
      return;
    }
    case 'int': {
      const values = data.values as ArrayLike<number | bigint>;
      const want = (data.type as Int64).bitWidth === 64 ? expected.value : Number(expected.value);
      for (let row = 0; row < n; row++) if (values[row] !== want) throw mismatchError(column, expectedText, row);
      return;
    }
    case 'float': {
      const values = data.values as Float64Array;
      for (let row = 0; row < n; row++) if (!Object.is(values[row], expected.value) && values[row] !== expected.value) throw mismatchError(column, expectedText, row);
      return;
    }
    case 'bool': {
      const values = data.values as Uint8Array;
      for (let row = 0; row < n; row++) {
        const at = data.offset + row;
        if ((((values[at >> 3]! >> (at & 7)) & 1) === 1) !== expected.value) throw mismatchError(column, expectedText, row);
      }
      return;
    }
    case 'timestamp': {
      const want = microsToUnit(expected.micros, data.type as Timestamp);
      const values = data.values as BigInt64Array;
      for (let row = 0; row < n; row++) if (values[row] !== want) throw mismatchError(column, expectedText, row);
      return;
    }
  }
  throw new InternalError(`partition column ${column}: cannot check a ${String(data.type)} column against a ${expected.kind} value`, {
    code: 'LAKEHOUSE_PARTITION_TYPE',
    context: { column },
  });
}

/** Utf8 type, for partition columns a caller asks for without a schema (their Delta string form). */
export const PARTITION_TEXT_TYPE = (): Utf8 => new Utf8();

/** Map<Utf8, Utf8> relabelled to `target`'s field names and nullability (files from other writers name them differently). */
export function relabelMap(data: Data, target: Map_): Data {
  const entries = data.children[0]!;
  const targetEntries = target.children[0]!.type as Struct;
  const child = makeData({ type: targetEntries, length: entries.length, offset: entries.offset, nullCount: entries.nullCount, nullBitmap: entries.nullBitmap, children: entries.children });
  return makeData({ type: target, length: data.length, offset: data.offset, nullCount: data.nullCount, nullBitmap: data.nullBitmap, valueOffsets: data.valueOffsets as Int32Array, child });
}
