/**
 * Row selection over Arrow buffers: `takeRows` builds a batch of chosen rows (any order, repeats allowed) by
 * copying buffer ranges, never by reading cells into JS values. Indices are first folded into runs of
 * consecutive source rows (a filter that keeps most rows becomes a few long runs), then every column copies
 * whole runs: fixed-width values and UTF-8 bytes with `TypedArray.set`, offsets rebased, validity and boolean
 * bits gathered, nested children (map entries, list items, struct fields) taken by the runs their parents
 * select. Works on a RecordBatch, on a Table of several batches (indices count across the batches) and on
 * sliced data (non-zero offsets). Pure: no I/O.
 *
 * Types: Null, Bool, Int*, Uint*, Float*, Decimal, Date*, Time*, Timestamp*, Duration, Interval, FixedSizeBinary,
 * Utf8, Binary, List, FixedSizeList, Map, Struct, and Dictionary when every chunk shares one dictionary.
 * Anything else (64-bit offset types, views, unions) throws a TypeError naming the type.
 */
import { Data, RecordBatch, Struct, Table, Type, makeData, vectorFromArray, type DataType, type Vector } from 'apache-arrow';

/** Runs of consecutive source rows: `chunk` (which source Data), `start` (row within it), `length`. */
interface Runs {
  readonly count: number;
  readonly chunk: Int32Array;
  readonly start: Int32Array;
  readonly length: Int32Array;
  /** Total rows selected (sum of lengths). */
  readonly rows: number;
}

/** Row indices may be signed or unsigned 32-bit. */
export type RowIndices = Int32Array | Uint32Array;

/** Copying a run through a loop beats `set(subarray())` (which allocates a view) below this many elements. */
const LOOP_BELOW = 48;

function runsFromIndices(indices: RowIndices, chunkLengths: readonly number[]): Runs {
  const bounds = new Float64Array(chunkLengths.length + 1);
  for (let c = 0; c < chunkLengths.length; c++) bounds[c + 1] = bounds[c]! + chunkLengths[c]!;
  const total = bounds[chunkLengths.length]!;
  const n = indices.length;
  let chunk = new Int32Array(Math.min(n, 1024));
  let start = new Int32Array(chunk.length);
  let length = new Int32Array(chunk.length);
  let count = 0;
  let c = 0;
  let prev = -2;
  for (let i = 0; i < n; i++) {
    const index = indices[i]!;
    if (!(index >= 0 && index < total)) throw new RangeError(`takeRows: row index ${index} at position ${i} is outside 0..${total - 1}`);
    if (index === prev + 1 && index < bounds[c + 1]! && count > 0) {
      length[count - 1]!++;
      prev = index;
      continue;
    }
    if (index < bounds[c]! || index >= bounds[c + 1]!) {
      let lo = 0;
      let hi = chunkLengths.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (bounds[mid]! <= index) lo = mid;
        else hi = mid - 1;
      }
      c = lo;
    }
    if (count === chunk.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      chunk = grow(chunk);
      start = grow(start);
      length = grow(length);
    }
    chunk[count] = c;
    start[count] = index - bounds[c]!;
    length[count] = 1;
    count++;
    prev = index;
  }
  return { count, chunk, start, length, rows: n };
}

/** Set bits that are unset in each byte value (a popcount table of the complement). */
const ZEROS = Uint8Array.from({ length: 256 }, (_, b) => 8 - ((b & 1) + ((b >> 1) & 1) + ((b >> 2) & 1) + ((b >> 3) & 1) + ((b >> 4) & 1) + ((b >> 5) & 1) + ((b >> 6) & 1) + ((b >> 7) & 1)));

/**
 * Copy `len` bits from `from` (starting at bit `at`) into the zeroed `to` (starting at bit `pos`); returns how
 * many of them were 0. Whole output bytes are assembled from two source bytes at a time.
 */
function copyBits(from: Uint8Array, at: number, to: Uint8Array, pos: number, len: number): number {
  let zeros = 0;
  let k = 0;
  // Head: bit by bit until the output is byte-aligned.
  for (; k < len && ((pos + k) & 7) !== 0; k++) {
    const bit = at + k;
    if ((from[bit >> 3]! >> (bit & 7)) & 1) to[(pos + k) >> 3]! |= 1 << ((pos + k) & 7);
    else zeros++;
  }
  // Body: one output byte from (up to) two source bytes.
  const shift = (at + k) & 7;
  let src = (at + k) >> 3;
  let dst = (pos + k) >> 3;
  for (; k + 8 <= len; k += 8, src++, dst++) {
    const next = src + 1 < from.length ? from[src + 1]! : 0;
    const byte = shift === 0 ? from[src]! : ((from[src]! >> shift) | (next << (8 - shift))) & 0xff;
    to[dst] = byte;
    zeros += ZEROS[byte]!;
  }
  // Tail.
  for (; k < len; k++) {
    const bit = at + k;
    if ((from[bit >> 3]! >> (bit & 7)) & 1) to[(pos + k) >> 3]! |= 1 << ((pos + k) & 7);
    else zeros++;
  }
  return zeros;
}

/** Set `len` bits from bit `pos` in the zeroed `to`. */
function setBits(to: Uint8Array, pos: number, len: number): void {
  let k = 0;
  for (; k < len && ((pos + k) & 7) !== 0; k++) to[(pos + k) >> 3]! |= 1 << ((pos + k) & 7);
  const whole = (len - k) >> 3;
  if (whole > 0) {
    to.fill(0xff, (pos + k) >> 3, ((pos + k) >> 3) + whole);
    k += whole * 8;
  }
  for (; k < len; k++) to[(pos + k) >> 3]! |= 1 << ((pos + k) & 7);
}

/** Gather bits (validity or boolean values) of the runs; `offsets` are each source's bit offset. */
function gatherBits(
  runs: Runs,
  bitmaps: readonly (Uint8Array | null | undefined)[],
  offsets: readonly number[],
): { bits: Uint8Array; unset: number } {
  const out = new Uint8Array((runs.rows + 7) >> 3);
  let pos = 0;
  let unset = 0;
  for (let r = 0; r < runs.count; r++) {
    const c = runs.chunk[r]!;
    const len = runs.length[r]!;
    const bitmap = bitmaps[c];
    if (!bitmap) setBits(out, pos, len);
    else unset += copyBits(bitmap, offsets[c]! + runs.start[r]!, out, pos, len);
    pos += len;
  }
  return { bits: out, unset };
}

function validityOf(sources: readonly Data[], runs: Runs): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  let any = false;
  for (const source of sources) if (source.nullCount > 0) any = true;
  if (!any) return { nullBitmap: undefined, nullCount: 0 };
  const { bits, unset } = gatherBits(
    runs,
    sources.map((s) => (s.nullCount > 0 ? s.nullBitmap : undefined)),
    sources.map((s) => s.offset),
  );
  return { nullBitmap: unset > 0 ? bits : undefined, nullCount: unset };
}

type Words = Int32Array | Uint16Array | Uint8Array;

/** A view of fixed-width values in the widest unit that divides a row (copying through Int32 never touches float bits). */
function wordsOf(values: ArrayBufferView, rowBytes: number): { words: Words; perRow: number } {
  const { buffer, byteOffset, byteLength } = values;
  if (rowBytes % 4 === 0 && byteOffset % 4 === 0) return { words: new Int32Array(buffer, byteOffset, byteLength >> 2), perRow: rowBytes >> 2 };
  if (rowBytes % 2 === 0 && byteOffset % 2 === 0) return { words: new Uint16Array(buffer, byteOffset, byteLength >> 1), perRow: rowBytes >> 1 };
  return { words: new Uint8Array(buffer, byteOffset, byteLength), perRow: rowBytes };
}

/*
 * Run copies, one function per array type so each stays monomorphic (a shared one slows every caller down):
 * short runs element by element, long ones with `set(subarray())` (which allocates a view).
 */
function copyBytes(to: Uint8Array, at: number, from: Uint8Array, begin: number, units: number): void {
  if (units < LOOP_BELOW) for (let k = 0; k < units; k++) to[at + k] = from[begin + k]!;
  else to.set(from.subarray(begin, begin + units), at);
}

function copyInt32(to: Int32Array, at: number, from: Int32Array, begin: number, units: number): void {
  if (units < LOOP_BELOW) for (let k = 0; k < units; k++) to[at + k] = from[begin + k]!;
  else to.set(from.subarray(begin, begin + units), at);
}

function copyUint16(to: Uint16Array, at: number, from: Uint16Array, begin: number, units: number): void {
  if (units < LOOP_BELOW) for (let k = 0; k < units; k++) to[at + k] = from[begin + k]!;
  else to.set(from.subarray(begin, begin + units), at);
}

function copyRange(to: Words, at: number, from: Words, begin: number, units: number): void {
  if (to instanceof Int32Array) copyInt32(to, at, from as Int32Array, begin, units);
  else if (to instanceof Uint16Array) copyUint16(to, at, from as Uint16Array, begin, units);
  else copyBytes(to, at, from as Uint8Array, begin, units);
}

function rowBytesOf(data: Data): number {
  const values = data.values as ArrayBufferView & { BYTES_PER_ELEMENT: number };
  return values.BYTES_PER_ELEMENT * data.stride;
}

function takeFixed(sources: readonly Data[], type: DataType, runs: Runs): ArrayBufferView {
  const first = sources[0]!;
  const rowBytes = rowBytesOf(first);
  const Ctor = (first.values as { constructor: new (buffer: ArrayBuffer) => ArrayBufferView }).constructor;
  const out = new Ctor(new ArrayBuffer(runs.rows * rowBytes));
  const { words: to, perRow } = wordsOf(out, rowBytes);
  const views = sources.map((s) => {
    if (rowBytesOf(s) !== rowBytes) throw new TypeError(`takeRows: chunks of ${String(type)} differ in width`);
    return wordsOf(s.values as ArrayBufferView, rowBytes);
  });
  let pos = 0;
  for (let r = 0; r < runs.count; r++) {
    const view = views[runs.chunk[r]!]!;
    const len = runs.length[r]!;
    if (view.perRow === perRow) copyRange(to, pos * perRow, view.words, runs.start[r]! * perRow, len * perRow);
    else {
      // A misaligned chunk: copy its bytes.
      const bytes = new Uint8Array(out.buffer);
      const from = new Uint8Array(view.words.buffer, view.words.byteOffset, view.words.byteLength);
      bytes.set(from.subarray(runs.start[r]! * rowBytes, (runs.start[r]! + len) * rowBytes), pos * rowBytes);
    }
    pos += len;
  }
  return out;
}

/** New offsets for the runs (rebased to 0) plus, per run, the child range it selects. */
function takeOffsets(sources: readonly Data[], runs: Runs): { offsets: Int32Array; childRuns: Runs } {
  const offsets = new Int32Array(runs.rows + 1);
  const childStart = new Int32Array(runs.count);
  const childLength = new Int32Array(runs.count);
  const all = sources.map((s) => s.valueOffsets as Int32Array);
  let pos = 0;
  let total = 0;
  for (let r = 0; r < runs.count; r++) {
    const source = all[runs.chunk[r]!]!;
    const s = runs.start[r]!;
    const len = runs.length[r]!;
    const first = source[s]!;
    const delta = total - first;
    for (let k = 1; k <= len; k++) offsets[pos + k] = source[s + k]! + delta;
    childStart[r] = first;
    childLength[r] = source[s + len]! - first;
    total += childLength[r]!;
    pos += len;
  }
  return { offsets, childRuns: { count: runs.count, chunk: runs.chunk, start: childStart, length: childLength, rows: total } };
}

function takeBytes(sources: readonly Data[], runs: Runs): Uint8Array {
  const out = new Uint8Array(runs.rows);
  const all = sources.map((s) => s.values as Uint8Array);
  let pos = 0;
  for (let r = 0; r < runs.count; r++) {
    const len = runs.length[r]!;
    if (len === 0) continue;
    copyBytes(out, pos, all[runs.chunk[r]!]!, runs.start[r]!, len);
    pos += len;
  }
  return out;
}

/** Every source row is null: the output is all null too, with zeroed buffers and no copying. */
function allNull(sources: readonly Data[], type: DataType, length: number): Data | undefined {
  for (const source of sources) if (source.nullCount !== source.length) return undefined;
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  const base = { type, length, nullCount: length, nullBitmap };
  switch (type.typeId) {
    case Type.Utf8:
    case Type.Binary:
      return makeData({ ...base, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) } as Parameters<typeof makeData>[0]) as Data;
    case Type.Bool:
      return makeData({ ...base, data: new Uint8Array((length + 7) >> 3) } as Parameters<typeof makeData>[0]) as Data;
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Duration: {
      const first = sources[0]!;
      const Ctor = (first.values as { constructor: new (buffer: ArrayBuffer) => ArrayBufferView }).constructor;
      return makeData({ ...base, data: new Ctor(new ArrayBuffer(length * rowBytesOf(first))) } as Parameters<typeof makeData>[0]) as Data;
    }
    default:
      return undefined;
  }
}

function takeData(sources: readonly Data[], type: DataType, runs: Runs): Data {
  const length = runs.rows;
  const empty = allNull(sources, type, length);
  if (empty) return empty;
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length } as Parameters<typeof makeData>[0]) as Data;
    case Type.Struct: {
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const children = (type as Struct).children.map((field, i) =>
        takeData(
          sources.map((s) => s.children[i]!),
          field.type,
          runs,
        ),
      );
      return makeData({ type: type as Struct, length, nullCount, nullBitmap, children });
    }
    case Type.Bool: {
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const { bits } = gatherBits(
        runs,
        sources.map((s) => s.values as Uint8Array),
        sources.map((s) => s.offset),
      );
      return makeData({ type, length, nullCount, nullBitmap, data: bits } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Utf8:
    case Type.Binary: {
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const { offsets, childRuns } = takeOffsets(sources, runs);
      const data = takeBytes(sources, childRuns);
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, data } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.List:
    case Type.Map: {
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const { offsets, childRuns } = takeOffsets(sources, runs);
      const child = takeData(
        sources.map((s) => s.children[0]!),
        type.children[0]!.type,
        childRuns,
      );
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, child } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.FixedSizeList: {
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const size = (type as DataType & { listSize: number }).listSize;
      const childRuns: Runs = {
        count: runs.count,
        chunk: runs.chunk,
        start: runs.start.map((s) => s * size),
        length: runs.length.map((l) => l * size),
        rows: runs.rows * size,
      };
      const child = takeData(
        sources.map((s) => s.children[0]!),
        type.children[0]!.type,
        childRuns,
      );
      return makeData({ type, length, nullCount, nullBitmap, child } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Dictionary: {
      const dictionary = sources[0]!.dictionary;
      for (const source of sources) {
        if (source.dictionary !== dictionary) throw new TypeError('takeRows: the chunks of a dictionary column have different dictionaries; unify them first');
      }
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const data = takeFixed(sources, type, runs);
      return makeData({ type, length, nullCount, nullBitmap, data, dictionary } as Parameters<typeof makeData>[0]) as Data;
    }
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Duration:
    case Type.Interval:
    case Type.FixedSizeBinary: {
      const { nullBitmap, nullCount } = validityOf(sources, runs);
      const data = takeFixed(sources, type, runs);
      return makeData({ type, length, nullCount, nullBitmap, data } as Parameters<typeof makeData>[0]) as Data;
    }
    default:
      throw new TypeError(`takeRows: Arrow type ${String(type)} is not supported`);
  }
}

function chunksOf(source: RecordBatch | Table): { schema: RecordBatch['schema']; columns: (i: number) => Data[]; lengths: number[] } {
  if (source instanceof RecordBatch) {
    return { schema: source.schema, columns: (i) => [source.data.children[i]!], lengths: [source.numRows] };
  }
  const batches = source.batches.filter((b) => b.numRows > 0);
  return { schema: source.schema, columns: (i) => batches.map((b) => b.data.children[i]!), lengths: batches.map((b) => b.numRows) };
}

/**
 * The rows at `indices` (in that order; repeats allowed) as one new RecordBatch with the source's schema. For a
 * Table, an index counts across its batches. Throws RangeError for an index out of range.
 */
export function takeRows(source: RecordBatch | Table, indices: RowIndices): RecordBatch {
  const { schema, columns, lengths } = chunksOf(source);
  const runs = runsFromIndices(indices, lengths);
  const children = schema.fields.map((field, i) => {
    const sources = columns(i);
    return sources.length === 0 ? emptyData(field.type, runs) : takeData(sources, field.type, runs);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: runs.rows, nullCount: 0, children }));
}

/** A Table with no rows has no chunk to take from: only an empty selection is possible. */
function emptyData(type: DataType, runs: Runs): Data {
  if (runs.rows !== 0) throw new RangeError('takeRows: the source has no rows');
  return vectorFromArray([], type).data[0]!;
}

/** One column's rows at `indices` (a Vector may have several chunks). */
export function takeVector(vector: Vector, indices: RowIndices): Data {
  const chunks = vector.data.filter((d) => d.length > 0);
  const runs = runsFromIndices(
    indices,
    chunks.map((d) => d.length),
  );
  return chunks.length === 0 ? emptyData(vector.type, runs) : takeData(chunks, vector.type, runs);
}

/** The rows whose `keep` byte is non-zero, in order. `keep` has one byte per row. */
export function filterRows(source: RecordBatch | Table, keep: Uint8Array): RecordBatch {
  if (keep.length !== source.numRows) throw new RangeError(`filterRows: keep has ${keep.length} entries for ${source.numRows} rows`);
  let kept = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i] !== 0) kept++;
  const indices = new Int32Array(kept);
  let k = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i] !== 0) indices[k++] = i;
  return takeRows(source, indices);
}
