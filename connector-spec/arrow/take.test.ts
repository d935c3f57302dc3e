/**
 * takeRows / filterRows / takeVector against a naive per-row reference (`vector.get(row)` for every selected
 * row) on generated data: nulls, empty strings, multi-byte UTF-8, long strings, negative and 64-bit integers,
 * NaN, empty and null maps, dictionaries, sliced inputs (non-zero offsets) and Tables of several batches.
 */
import {
  DateDay,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeUnit,
  Timestamp,
  Type,
  Utf8,
  Bool,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type Vector,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromColumns, timestampMsData, utf8MapType } from './columns.js';
import { filterRows, takeRows, takeVector } from './take.js';
import { seededRandom as random } from '../testing/seeded-random.js';

const STRINGS = ['', 'a', 'é', 'naïve café', '😀 emoji', '日本語テキスト', 'x'.repeat(70), 'tab\tnew\nline', '\u0000nul'];

const schema = new Schema([
  new Field('s', new Utf8(), true),
  new Field('i64', new Int64(), true),
  new Field('i32', new Int32(), true),
  new Field('f', new Float64(), true),
  new Field('b', new Bool(), true),
  new Field('t', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), true),
  new Field('tu', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), true),
  new Field('d', new DateDay(), true),
  new Field('m', utf8MapType(), true),
  new Field('k', new Dictionary(new Utf8(), new Int32()), true),
  new Field('none_s', new Utf8(), true),
  new Field('none_i', new Int64(), true),
  new Field('none_b', new Bool(), true),
]);

function generate(rows: number, seed: number): RecordBatch {
  const r = random(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(r() * values.length)]!;
  const nullish = <T>(value: T): T | null => (r() < 0.15 ? null : value);
  const s = Array.from({ length: rows }, () => nullish(pick(STRINGS) + (r() < 0.5 ? String(Math.floor(r() * 1000)) : '')));
  const i64 = Array.from({ length: rows }, () => nullish(pick([-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, BigInt(Math.floor((r() - 0.5) * 1e15))])));
  const i32 = Array.from({ length: rows }, () => nullish(Math.floor((r() - 0.5) * 2 ** 31)));
  const f = Array.from({ length: rows }, () => nullish(pick([Number.NaN, -0, 1.5, -1e300, r() * 1e6])));
  const b = Array.from({ length: rows }, () => nullish(r() < 0.5));
  const t = Array.from({ length: rows }, () => nullish(Math.floor((r() - 0.3) * 4e12)));
  const tu = Array.from({ length: rows }, () => nullish(BigInt(Math.floor((r() - 0.3) * 4e15))));
  const dValues = new Int32Array(rows);
  const dValid = new Uint8Array((rows + 7) >> 3);
  let dNulls = 0;
  for (let i = 0; i < rows; i++) {
    if (r() < 0.15) dNulls++;
    else {
      dValues[i] = Math.floor((r() - 0.5) * 40_000);
      dValid[i >> 3]! |= 1 << (i & 7);
    }
  }
  const d = makeData({ type: new DateDay(), length: rows, nullCount: dNulls, nullBitmap: dValid, data: dValues });
  const m = Array.from({ length: rows }, () =>
    nullish(Array.from({ length: Math.floor(r() * 4) }, (_, j) => [`key${j}${pick(STRINGS)}`, r() < 0.2 ? null : pick(STRINGS)] as [string, string | null])),
  );
  const k = vectorFromArray(
    Array.from({ length: rows }, () => nullish(pick(['web', 'ios', 'android', 'ünïcode']))),
    new Dictionary(new Utf8(), new Int32()),
  ).data[0]!;
  return batchFromColumns(schema, [
    s,
    i64,
    i32,
    f,
    b,
    t,
    timestampMsData(tu, new Timestamp(TimeUnit.MICROSECOND, 'UTC')),
    d,
    m,
    k,
    Array.from({ length: rows }, () => null),
    Array.from({ length: rows }, () => null),
    Array.from({ length: rows }, () => null),
  ]);
}

/** A cell as comparable plain data (the reference reads cells one by one; takeRows never does). */
function plain(value: unknown, type: Vector['type']): unknown {
  if (value === null || value === undefined) return null;
  if (type.typeId === Type.Map) return [...(value as Iterable<[unknown, unknown]>)].map(([key, v]) => [key, v ?? null]);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  return value;
}

function rowsOf(source: RecordBatch | Table, indices: ArrayLike<number>): unknown[][] {
  return source.schema.fields.map((field, c) => {
    const column = source.getChildAt(c)!;
    return Array.from(indices, (row) => plain(column.get(row), field.type));
  });
}

function allRows(batch: RecordBatch): unknown[][] {
  return rowsOf(
    batch,
    Array.from({ length: batch.numRows }, (_, i) => i),
  );
}

function expectSame(out: RecordBatch, source: RecordBatch | Table, indices: ArrayLike<number>): void {
  expect(out.numRows).toBe(indices.length);
  expect(out.schema.fields.map((f) => f.name)).toEqual(source.schema.fields.map((f) => f.name));
  const expected = rowsOf(source, indices);
  const actual = allRows(out);
  source.schema.fields.forEach((field, c) => {
    expect(actual[c], field.name).toEqual(expected[c]);
    const nulls = expected[c]!.filter((v) => v === null).length;
    expect(out.getChildAt(c)!.nullCount, `${field.name} nullCount`).toBe(nulls);
  });
  // The buffers are well-formed: an IPC round trip (what the Parquet encoder receives) reads back the same.
  const back = tableFromIPC(tableToIPC(new Table([out]), 'stream'));
  expect(allRows(back.batches[0] ?? out)).toEqual(actual);
}

function randomIndices(r: () => number, count: number, rows: number): Int32Array {
  return Int32Array.from({ length: count }, () => Math.floor(r() * rows));
}

describe('takeRows', () => {
  const batch = generate(2_000, 7);

  it('takes random rows with repeats, in the given order', () => {
    const indices = randomIndices(random(1), 3_000, batch.numRows);
    expectSame(takeRows(batch, indices), batch, indices);
  });

  it('keeps runs of consecutive rows (a filter that drops a few rows), and accepts Uint32Array', () => {
    const r = random(2);
    const kept = Array.from({ length: batch.numRows }, (_, i) => i).filter(() => r() > 0.03);
    const indices = Uint32Array.from(kept);
    expectSame(takeRows(batch, indices), batch, indices);
  });

  it('reads sliced input (non-zero offsets in every buffer)', () => {
    const sliced = batch.slice(333, 1_555);
    expect(sliced.data.children[0]!.offset).toBeGreaterThan(0);
    const indices = randomIndices(random(3), 2_000, sliced.numRows);
    expectSame(takeRows(sliced, indices), sliced, indices);
  });

  it('takes across the batches of a Table (indices count across chunks, chunks sliced)', () => {
    const table = new Table([batch.slice(0, 500), batch.slice(500, 501), batch.slice(501, 1_300), batch.slice(1_300)]);
    expect(table.batches.length).toBe(4);
    const indices = randomIndices(random(4), 2_500, table.numRows);
    expectSame(takeRows(table, indices), table, indices);
    const runs = Int32Array.from({ length: 1_200 }, (_, i) => 100 + i); // one run crossing three chunk borders
    expectSame(takeRows(table, runs), table, runs);
  });

  it('returns an empty batch for no indices, and refuses an index out of range', () => {
    expectSame(takeRows(batch, new Int32Array(0)), batch, []);
    expect(() => takeRows(batch, Int32Array.of(0, batch.numRows))).toThrow(RangeError);
    expect(() => takeRows(batch, Int32Array.of(-1))).toThrow(RangeError);
  });

  it('takes a struct column', () => {
    const inner = new Struct([new Field('x', new Utf8(), true), new Field('y', new Int64(), true)]);
    const structSchema = new Schema([new Field('st', inner, true)]);
    const base = batch.slice(10, 900);
    const data = makeData({
      type: inner,
      length: base.numRows,
      nullCount: 0,
      children: [base.data.children[0]!, base.data.children[1]!],
    });
    const structBatch = new RecordBatch(structSchema, makeData({ type: new Struct(structSchema.fields), length: base.numRows, nullCount: 0, children: [data] }));
    const indices = randomIndices(random(5), 700, structBatch.numRows);
    const out = takeRows(structBatch, indices);
    const plainStruct = (v: unknown) => (v === null ? null : JSON.stringify((v as { toJSON(): unknown }).toJSON(), (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)));
    expect(Array.from({ length: out.numRows }, (_, i) => plainStruct(out.getChildAt(0)!.get(i)))).toEqual(
      Array.from(indices, (i) => plainStruct(structBatch.getChildAt(0)!.get(i))),
    );
  });
});

describe('filterRows', () => {
  it('keeps the rows whose byte is set, in order', () => {
    const batch = generate(1_000, 11);
    const r = random(12);
    const keep = Uint8Array.from({ length: batch.numRows }, () => (r() < 0.9 ? 1 : 0));
    const indices = [...keep.keys()].filter((i) => keep[i] === 1);
    expectSame(filterRows(batch, keep), batch, indices);
    expect(() => filterRows(batch, new Uint8Array(3))).toThrow(RangeError);
  });
});

describe('takeVector', () => {
  it('takes one chunked column', () => {
    const batch = generate(800, 21);
    const table = new Table([batch.slice(0, 300), batch.slice(300)]);
    const column = table.getChild('m')!;
    const indices = randomIndices(random(22), 900, table.numRows);
    const data: Data = takeVector(column, indices);
    const out = new RecordBatch(new Schema([schema.fields[8]!]), makeData({ type: new Struct([schema.fields[8]!]), length: data.length, nullCount: 0, children: [data] }));
    expect(allRows(out)[0]).toEqual(Array.from(indices, (i) => plain(column.get(i), column.type)));
  });
});
