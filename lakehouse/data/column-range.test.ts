/**
 * ColumnRange: a call's range of an integer or timestamp column against the stats real data files recorded
 * (written through createDataFile): a file is skipped only when its stats prove no value shares a unit of
 * `granularity` (floor(value / granularity)) with the call's, and nulls meet only nulls. Files without stats, or without the column's bounds, are never skipped.
 */
import { Field, Float64, Int32, Int64, Schema, TimeUnit, Timestamp, Uint64, Utf8, type RecordBatch } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchFromColumns, rangeableType, timestampMsUtc } from '../../connector-spec/index.js';
import { tempStore, type TempStore } from '../testing/tables.js';
import type { AddFile } from '../types.js';
import { ColumnRange, createDataFile } from './index.js';

const SCHEMA = new Schema([
  new Field('k', new Utf8(), false),
  new Field('t', timestampMsUtc(), true),
  new Field('tu', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), true),
  new Field('n', new Int64(), true),
  new Field('i', new Int32(), true),
]);

let temp: TempStore;
beforeEach(async () => {
  temp = await tempStore();
});
afterEach(async () => {
  await temp.remove();
});

type Values = { t?: (number | null)[]; tu?: (bigint | null)[]; n?: (bigint | null)[]; i?: (number | null)[] };

function batch(rows: number, v: Values): RecordBatch {
  const fill = <T>(values: T[] | undefined, make: (r: number) => T): T[] => values ?? Array.from({ length: rows }, (_, r) => make(r));
  return batchFromColumns(SCHEMA, [
    Array.from({ length: rows }, (_, r) => `k${r}`),
    fill(v.t, (r) => 1_000_000 + r),
    fill(v.tu, (r) => BigInt(1_000_000_000 + r * 1000)),
    fill(v.n, (r) => BigInt(r)),
    fill(v.i, (r) => r),
  ]);
}

async function fileOf(rows: number, v: Values): Promise<AddFile> {
  const writer = await createDataFile(temp.store, 't', { schema: SCHEMA, partitionValues: {} }, { encoder: 'in-thread' });
  await writer.write(batch(rows, v));
  return writer.close();
}

function rangeOf(column: string, b: RecordBatch): ColumnRange {
  const index = SCHEMA.fields.findIndex((f) => f.name === column);
  const range = new ColumnRange(SCHEMA.fields[index]!);
  range.add(b.data.children[index]!);
  return range;
}

describe('ColumnRange.near', () => {
  it('an Int64 column: near when a unit of `granularity` (floor(value / granularity)) holds values of both, else skipped', async () => {
    const file = await fileOf(3, { n: [100n, 150n, 200n] }); // the file's range: [100, 200]
    const call = (values: bigint[]): ColumnRange => rangeOf('n', batch(values.length, { n: values }));
    expect(call([201n]).near(file, 1)).toBe(false);
    expect(call([200n]).near(file, 1)).toBe(true);
    expect(call([201n]).near(file, 2)).toBe(true); // 200 and 201 are both in unit 100
    expect(call([202n]).near(file, 2)).toBe(false);
    expect(call([-5n, 99n]).near(file, 1)).toBe(false);
    expect(call([-5n, 99n]).near(file, 100)).toBe(false); // units −1 … 0 against 1 … 2
    expect(call([-5n, 99n]).near(file, 101)).toBe(true); // units −1 … 0 against 0 … 1
    expect(call([300n, 400n]).near(file, 1000)).toBe(true);
    expect(call([300n, 400n]).near(file, 100)).toBe(false);
    expect(call([0n, 1000n]).near(file, 1)).toBe(true); // the call's range covers the file's, with no value in it: still near (ranges, not values)
  });

  it('nulls: a call with nulls is near any file that may hold one; a call without values is near none without', async () => {
    const withNulls = await fileOf(3, { n: [null, 5n, 6n] });
    const noNulls = await fileOf(2, { n: [5n, 6n] });
    const onlyNulls = await fileOf(2, { n: [null, null] });
    const nullCall = rangeOf('n', batch(2, { n: [null, null] }));
    expect(nullCall.near(withNulls, 1)).toBe(true);
    expect(nullCall.near(onlyNulls, 1)).toBe(true);
    expect(nullCall.near(noNulls, 1_000_000)).toBe(false);
    const farCall = rangeOf('n', batch(1, { n: [1000n] }));
    expect(farCall.near(withNulls, 10)).toBe(false);
    expect(farCall.near(onlyNulls, 1_000_000)).toBe(false);
    expect(rangeOf('n', batch(2, { n: [null, 1000n] })).near(withNulls, 10)).toBe(true);
  });

  it('timestamps compare in milliseconds (a µs column too, its stats rounded outward to the millisecond)', async () => {
    const file = await fileOf(2, { t: [10_000, 20_000], tu: [10_000_000n, 20_000_500n] }); // tu: 10 000 ms … 20 000.5 ms
    expect(rangeOf('t', batch(1, { t: [21_000] })).near(file, 1000)).toBe(false);
    expect(rangeOf('t', batch(1, { t: [20_999] })).near(file, 1000)).toBe(true);
    expect(rangeOf('t', batch(1, { t: [9_999] })).near(file, 1000)).toBe(false);
    expect(rangeOf('tu', batch(1, { tu: [20_999_000n] })).near(file, 1000)).toBe(true);
    expect(rangeOf('tu', batch(1, { tu: [20_001_000n] })).near(file, 1)).toBe(true); // the file's max is 20 001 ms once rounded up
    expect(rangeOf('tu', batch(1, { tu: [20_002_000n] })).near(file, 1)).toBe(false);
    expect(rangeOf('i', batch(1, { i: [7] })).near(await fileOf(2, { i: [1, 2] }), 5)).toBe(false);
  });

  it('never skips a file whose stats do not prove it: no stats, no bounds of the column, no null count, a bound not exact as a number', async () => {
    const file = await fileOf(2, { n: [5n, 6n] });
    const call = rangeOf('n', batch(1, { n: [1000n] }));
    expect(call.near(file, 1)).toBe(false);
    const { stats: _stats, ...noStats } = file;
    expect(call.near(noStats, 1)).toBe(true);
    const stats = JSON.parse(file.stats!) as { minValues: Record<string, unknown>; maxValues: Record<string, unknown>; nullCount: Record<string, unknown> };
    const edited = (change: (s: typeof stats) => void): AddFile => {
      const copy = structuredClone(stats);
      change(copy);
      return { ...file, stats: JSON.stringify(copy) };
    };
    expect(call.near(edited((s) => delete s.maxValues['n']), 1)).toBe(true);
    expect(call.near(edited((s) => delete s.minValues['n']), 1)).toBe(false); // the max alone proves it
    expect(call.near(edited((s) => (s.maxValues['n'] = 2 ** 60)), 1)).toBe(true);
    expect(call.near({ ...file, stats: 'not json' }, 1)).toBe(true);
    const nullCall = rangeOf('n', batch(1, { n: [null] }));
    expect(nullCall.near(file, 1)).toBe(false);
    expect(nullCall.near(edited((s) => delete s.nullCount['n']), 1)).toBe(true);
  });

  it('ranges integer and timestamp columns only', () => {
    expect(rangeableType(new Int64())).toBe(true);
    expect(rangeableType(new Timestamp(TimeUnit.NANOSECOND))).toBe(true);
    expect(rangeableType(new Uint64())).toBe(false);
    expect(rangeableType(new Float64())).toBe(false);
    expect(rangeableType(new Utf8())).toBe(false);
    expect(() => new ColumnRange(new Field('a', new Utf8()))).toThrow(/not an integer or a timestamp/);
  });
});
