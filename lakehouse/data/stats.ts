/**
 * Delta per-file statistics (`add.stats`), computed from the Arrow buffers of the batches as they are written:
 * typed arrays and UTF-8 bytes, no per-row objects. Recorded:
 * - `numRecords`;
 * - `nullCount` for every top-level column (the stored ones and the partition columns);
 * - `minValues` / `maxValues` for every timestamp (ISO-8601 UTC, milliseconds: the min rounded down and the max
 *   rounded up, so data skipping is never wrong), integer, double (NaN skipped; ±Infinity leaves that bound out),
 *   date, for the Utf8 columns named in `statsColumns`, and for the partition columns (their constant value).
 *   Strings compare by UTF-8 bytes (code point order, as Spark and DuckDB compare them); a min longer than 32
 *   UTF-16 units is cut to its 32-unit prefix (still a lower bound), a max longer than that is left out (a cut max
 *   would be below the real one). Booleans and maps get a null count only.
 * A bound that cannot be written exactly (a timestamp or date outside years 0001–9999) is left out. Readers treat
 * a missing bound as "unknown", never as a reason to skip the file.
 */
import { DateDay, TimeUnit, Type, type Data, type DataType, type Field, type RecordBatch, type Timestamp } from 'apache-arrow';
import type { PartitionScalar } from './partition-columns.js';

/** Longest string bound, in UTF-16 units (Delta Spark's default `dataSkippingStringPrefixLength`). */
export const STRING_PREFIX = 32;

type Kind = 'small-int' | 'int64' | 'float' | 'timestamp' | 'date' | 'utf8' | 'none';

function kindOf(type: DataType, stringStats: boolean): Kind {
  switch (type.typeId) {
    case Type.Int: {
      const { bitWidth, isSigned } = type as DataType & { bitWidth: number; isSigned: boolean };
      if (bitWidth < 64) return 'small-int';
      return isSigned ? 'int64' : 'none';
    }
    case Type.Float:
      return (type as DataType & { precision: number }).precision === 0 ? 'none' : 'float'; // HALF: no bounds
    case Type.Timestamp:
      return 'timestamp';
    case Type.Date:
      return type instanceof DateDay ? 'date' : 'none';
    case Type.Utf8:
      return stringStats ? 'utf8' : 'none';
    default:
      return 'none';
  }
}

function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let k = 0; k < n; k++) {
    const d = a[aStart + k]! - b[bStart + k]!;
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** Running statistics of one stored column (also what `ColumnRange` tracks a call's range with). */
export class ColumnStats {
  readonly name: string;
  readonly kind: Kind;
  readonly type: DataType;
  nulls = 0;
  found = false;
  /** small-int, float, date: numbers. int64, timestamp: high/low words. */
  min = 0;
  max = 0;
  minHi = 0;
  minLo = 0;
  maxHi = 0;
  maxLo = 0;
  minBytes: Uint8Array | undefined;
  maxBytes: Uint8Array | undefined;

  constructor(field: Field, stringStats: boolean) {
    this.name = field.name;
    this.type = field.type;
    this.kind = kindOf(field.type, stringStats);
  }

  add(data: Data): void {
    const nulls = data.nullCount;
    this.nulls += nulls;
    if (this.kind === 'none' || nulls === data.length) return;
    const bitmap = nulls > 0 ? data.nullBitmap : undefined;
    switch (this.kind) {
      case 'small-int':
      case 'date':
        this.addNumbers(data.values as ArrayLike<number>, data.length, bitmap, data.offset, false);
        return;
      case 'float':
        this.addNumbers(data.values as ArrayLike<number>, data.length, bitmap, data.offset, true);
        return;
      case 'int64':
      case 'timestamp':
        this.addInt64(data, bitmap);
        return;
      case 'utf8':
        this.addUtf8(data, bitmap);
        return;
    }
  }

  private addNumbers(values: ArrayLike<number>, n: number, bitmap: Uint8Array | undefined, offset: number, skipNaN: boolean): void {
    let min = this.found ? this.min : Infinity;
    let max = this.found ? this.max : -Infinity;
    let any = false;
    for (let i = 0; i < n; i++) {
      if (bitmap) {
        const at = offset + i;
        if (((bitmap[at >> 3]! >> (at & 7)) & 1) === 0) continue;
      }
      const v = values[i]!;
      if (skipNaN && v !== v) continue;
      any = true;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!any) return;
    this.found = true;
    this.min = min;
    this.max = max;
  }

  private addInt64(data: Data, bitmap: Uint8Array | undefined): void {
    const values = data.values as unknown as ArrayBufferView;
    const words = new Int32Array(values.buffer, values.byteOffset, data.length * 2);
    let { minHi, minLo, maxHi, maxLo } = this;
    let found = this.found;
    const offset = data.offset;
    for (let i = 0; i < data.length; i++) {
      if (bitmap) {
        const at = offset + i;
        if (((bitmap[at >> 3]! >> (at & 7)) & 1) === 0) continue;
      }
      const hi = words[2 * i + 1]!;
      const lo = words[2 * i]! >>> 0;
      if (!found) {
        minHi = maxHi = hi;
        minLo = maxLo = lo;
        found = true;
        continue;
      }
      if (hi < minHi || (hi === minHi && lo < minLo)) {
        minHi = hi;
        minLo = lo;
      }
      if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
        maxHi = hi;
        maxLo = lo;
      }
    }
    Object.assign(this, { minHi, minLo, maxHi, maxLo, found });
  }

  private addUtf8(data: Data, bitmap: Uint8Array | undefined): void {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    let minRow = -1;
    let maxRow = -1;
    for (let i = 0; i < data.length; i++) {
      if (bitmap) {
        const at = data.offset + i;
        if (((bitmap[at >> 3]! >> (at & 7)) & 1) === 0) continue;
      }
      if (minRow < 0) {
        minRow = maxRow = i;
        continue;
      }
      const s = offsets[i]!;
      const e = offsets[i + 1]!;
      if (compareBytes(bytes, s, e, bytes, offsets[minRow]!, offsets[minRow + 1]!) < 0) minRow = i;
      else if (compareBytes(bytes, s, e, bytes, offsets[maxRow]!, offsets[maxRow + 1]!) > 0) maxRow = i;
    }
    if (minRow < 0) return;
    const minS = offsets[minRow]!;
    const minE = offsets[minRow + 1]!;
    const maxS = offsets[maxRow]!;
    const maxE = offsets[maxRow + 1]!;
    if (!this.minBytes || compareBytes(bytes, minS, minE, this.minBytes, 0, this.minBytes.length) < 0) this.minBytes = bytes.slice(minS, minE);
    if (!this.maxBytes || compareBytes(bytes, maxS, maxE, this.maxBytes, 0, this.maxBytes.length) > 0) this.maxBytes = bytes.slice(maxS, maxE);
    this.found = true;
  }

  /** [min, max] as JSON texts (undefined: no bound written). */
  bounds(): [string | undefined, string | undefined] {
    if (!this.found) return [undefined, undefined];
    switch (this.kind) {
      case 'small-int':
        return [String(this.min), String(this.max)];
      case 'float':
        return [Number.isFinite(this.min) ? JSON.stringify(this.min) : undefined, Number.isFinite(this.max) ? JSON.stringify(this.max) : undefined];
      case 'date':
        return [dateText(this.min), dateText(this.max)];
      case 'int64':
        return [String(int64Of(this.minHi, this.minLo)), String(int64Of(this.maxHi, this.maxLo))];
      case 'timestamp': {
        const micros = MICROS_PER[(this.type as Timestamp).unit];
        return [timestampText(int64Of(this.minHi, this.minLo), micros, 'down'), timestampText(int64Of(this.maxHi, this.maxLo), micros, 'up')];
      }
      case 'utf8':
        return stringBounds(new TextDecoder().decode(this.minBytes), new TextDecoder().decode(this.maxBytes));
      default:
        return [undefined, undefined];
    }
  }
}

/** Multiply (coarser units) or divide (nanoseconds) a value of the unit to get microseconds. */
const MICROS_PER: Readonly<Record<TimeUnit, { readonly mul: bigint; readonly div: bigint }>> = {
  [TimeUnit.SECOND]: { mul: 1_000_000n, div: 1n },
  [TimeUnit.MILLISECOND]: { mul: 1_000n, div: 1n },
  [TimeUnit.MICROSECOND]: { mul: 1n, div: 1n },
  [TimeUnit.NANOSECOND]: { mul: 1n, div: 1_000n },
};

function int64Of(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z (Date.UTC would read year 1 as 1901). */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** A timestamp bound as ISO-8601 UTC with milliseconds, rounded `down` (min) or `up` (max). */
export function timestampText(value: bigint, unit: { readonly mul: bigint; readonly div: bigint }, round: 'down' | 'up'): string | undefined {
  // Work in nanoseconds-free integer arithmetic: value · mul / div is µs (floor for nanoseconds), then µs → ms.
  let micros = value * unit.mul;
  if (unit.div !== 1n) micros = round === 'down' ? floorDiv(micros, unit.div) : -floorDiv(-micros, unit.div);
  const ms = round === 'down' ? floorDiv(micros, 1_000n) : -floorDiv(-micros, 1_000n);
  const n = Number(ms);
  if (n < MIN_MS || n > MAX_MS) return undefined;
  return JSON.stringify(new Date(n).toISOString());
}

function dateText(days: number): string | undefined {
  const ms = days * 86_400_000;
  if (ms < MIN_MS || ms > MAX_MS) return undefined;
  return JSON.stringify(new Date(ms).toISOString().slice(0, 10));
}

/** The first `STRING_PREFIX` UTF-16 units of `text`, never ending inside a surrogate pair. */
export function stringPrefix(text: string): string {
  if (text.length <= STRING_PREFIX) return text;
  const last = text.charCodeAt(STRING_PREFIX - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? STRING_PREFIX - 1 : STRING_PREFIX);
}

function stringBounds(min: string, max: string): [string | undefined, string | undefined] {
  return [JSON.stringify(stringPrefix(min)), max.length > STRING_PREFIX ? undefined : JSON.stringify(max)];
}

function scalarBound(value: PartitionScalar): string | undefined {
  switch (value.kind) {
    case 'utf8':
      return undefined; // handled by stringBounds (min and max differ)
    case 'int':
      return String(value.value);
    case 'float':
      return Number.isFinite(value.value) ? JSON.stringify(value.value) : undefined;
    case 'date':
      return dateText(value.days);
    case 'timestamp':
      return timestampText(value.micros, MICROS_PER[TimeUnit.MICROSECOND], 'down');
    default:
      return undefined;
  }
}

export interface PartitionStatsColumn {
  readonly name: string;
  readonly type: DataType;
  readonly value: PartitionScalar;
}

/**
 * Statistics of one data file. `fields` are the stored columns (what `add` receives), in file order;
 * `partitions` are the partition columns with their constant value. `toJson()` renders Delta's stats text with
 * columns in schema order: `{"numRecords":…,"minValues":{…},"maxValues":{…},"nullCount":{…}}`.
 */
export class DataFileStats {
  readonly #columns: ColumnStats[];
  readonly #partitions: readonly PartitionStatsColumn[];
  readonly #order: readonly string[];
  #rows = 0;

  constructor(fields: readonly Field[], statsColumns: ReadonlySet<string>, partitions: readonly PartitionStatsColumn[] = [], order?: readonly string[]) {
    this.#columns = fields.map((field) => new ColumnStats(field, statsColumns.has(field.name)));
    this.#partitions = partitions;
    this.#order = order ?? [...fields.map((f) => f.name), ...partitions.map((p) => p.name)];
  }

  get numRecords(): number {
    return this.#rows;
  }

  /** Add a stored batch (its columns in the order of `fields`). */
  add(batch: RecordBatch): void {
    this.#rows += batch.numRows;
    const children = batch.data.children;
    for (let c = 0; c < this.#columns.length; c++) this.#columns[c]!.add(children[c]!);
  }

  toJson(): string {
    const min = new Map<string, string>();
    const max = new Map<string, string>();
    const nulls = new Map<string, number>();
    for (const column of this.#columns) {
      nulls.set(column.name, column.nulls);
      const [lo, hi] = column.bounds();
      if (lo !== undefined) min.set(column.name, lo);
      if (hi !== undefined) max.set(column.name, hi);
    }
    for (const partition of this.#partitions) {
      const value = partition.value;
      nulls.set(partition.name, value.kind === 'null' ? this.#rows : 0);
      if (value.kind === 'null' || value.kind === 'bool' || this.#rows === 0) continue;
      if (value.kind === 'utf8') {
        const [lo, hi] = stringBounds(value.text, value.text);
        if (lo !== undefined) min.set(partition.name, lo);
        if (hi !== undefined) max.set(partition.name, hi);
        continue;
      }
      const lo = scalarBound(value);
      const hi = value.kind === 'timestamp' ? timestampText(value.micros, MICROS_PER[TimeUnit.MICROSECOND], 'up') : lo;
      if (lo !== undefined) min.set(partition.name, lo);
      if (hi !== undefined) max.set(partition.name, hi);
    }
    const object = (values: ReadonlyMap<string, string | number>): string => {
      const parts: string[] = [];
      for (const name of this.#order) {
        const v = values.get(name);
        if (v !== undefined) parts.push(`${JSON.stringify(name)}:${v}`);
      }
      return `{${parts.join(',')}}`;
    };
    return `{"numRecords":${this.#rows},"minValues":${object(min)},"maxValues":${object(max)},"nullCount":${object(nulls)}}`;
  }
}
