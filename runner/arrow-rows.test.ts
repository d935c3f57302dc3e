import { Bool, DateDay, Field, Float64, Int32, Int64, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { timestampMsUtc, utf8MapType } from '../connector-spec/index.js';
import { batchFromCells, cellOf, compareSequence, keyString, splitByPartition, takeRows, type Cell } from './arrow-rows.js';

const schema = new Schema([
  new Field('s', new Utf8(), true),
  new Field('i32', new Int32(), true),
  new Field('i64', new Int64(), true),
  new Field('f', new Float64(), true),
  new Field('b', new Bool(), true),
  new Field('t', timestampMsUtc(), true),
  new Field('d', new DateDay(), true),
  new Field('m', utf8MapType(), true),
]);
const columns: Cell[][] = [
  ['a', null, 'ü😀'],
  [1, -2, null],
  [9_007_199_254_740_993n, null, -1n],
  [1.5, null, -0.25],
  [true, false, null],
  [Date.UTC(2026, 10, 20, 1, 2, 3, 4), null, 0],
  [Date.UTC(2026, 10, 20), Date.UTC(1970, 0, 1), null],
  [[['k', '{"a":1}'], ['n', null]], null, []],
];

describe('arrow-rows', () => {
  it('reads every supported type back as the cells it was built from', () => {
    const batch = batchFromCells(schema, columns);
    schema.fields.forEach((field, c) => {
      const vector = batch.getChildAt(c)!;
      expect([0, 1, 2].map((r) => cellOf(vector, r)), field.name).toEqual(columns[c]);
    });
  });

  it('takes rows in the given order and splits by partition value', () => {
    const batch = batchFromCells(schema, columns);
    const taken = takeRows(batch, [2, 0]);
    expect(taken.numRows).toBe(2);
    expect(cellOf(taken.getChild('i64')!, 0)).toBe(-1n);
    expect(cellOf(taken.getChild('m')!, 1)).toEqual([['k', '{"a":1}'], ['n', null]]);
    const parts = splitByPartition(batch, 'd');
    expect([...parts.keys()].sort()).toEqual(['1970-01-01', '2026-11-20', '__HIVE_DEFAULT_PARTITION__']);
    expect(parts.get('2026-11-20')!.numRows).toBe(1);
  });

  it('orders sequences with nulls first and keeps key types apart', () => {
    expect(compareSequence([null], [1n])).toBe(-1);
    expect(compareSequence([5, 2n], [5, 10n])).toBe(-1);
    expect(compareSequence(['b'], ['a'])).toBe(1);
    expect(compareSequence([3], [3])).toBe(0);
    expect(keyString(['1'])).not.toBe(keyString([1]));
    expect(keyString([null])).not.toBe(keyString(['null']));
  });
});
