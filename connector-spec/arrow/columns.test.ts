import { Field, Float64, Int64, Schema, Utf8, Bool, tableToIPC, tableFromIPC, Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromColumns, timestampMsUtc, utf8MapType } from './columns.js';

describe('batchFromColumns', () => {
  it('round-trips every supported type through Arrow IPC exactly', () => {
    const schema = new Schema([
      new Field('s', new Utf8(), true),
      new Field('i', new Int64(), true),
      new Field('f', new Float64(), true),
      new Field('b', new Bool(), true),
      new Field('t', timestampMsUtc(), true),
      new Field('m', utf8MapType(), true),
    ]);
    const big = 3928097563762691601n;
    const rows = {
      s: ['a', null, 'é😀', ''],
      i: [1n, null, big, -5],
      f: [1.5, null, -0.25, 1e300],
      b: [true, null, false, true],
      t: [1_700_000_000_123, null, 0, 1_000],
      m: [[['k', '"v"'], ['n', null]], null, [], [['x', '[1,2]']]] as ([string, string | null][] | null)[],
    };
    const batch = batchFromColumns(schema, [rows.s, rows.i, rows.f, rows.b, rows.t, rows.m]);
    const back = tableFromIPC(tableToIPC(new Table([batch]), 'stream'));
    expect(back.numRows).toBe(4);
    const get = (name: string, row: number): unknown => back.getChild(name)!.get(row);
    expect([0, 1, 2, 3].map((r) => get('s', r))).toEqual(rows.s);
    expect([0, 1, 2, 3].map((r) => get('i', r))).toEqual([1n, null, big, -5n]);
    expect([0, 1, 2, 3].map((r) => get('f', r))).toEqual(rows.f);
    expect([0, 1, 2, 3].map((r) => get('b', r))).toEqual(rows.b);
    expect([0, 1, 2, 3].map((r) => get('t', r))).toEqual(rows.t);
    const mapRow = (r: number): unknown => {
      const v = get('m', r) as { toJSON(): unknown } | null;
      return v === null ? null : v.toJSON();
    };
    expect(mapRow(0)).toEqual({ k: '"v"', n: null });
    expect(mapRow(1)).toBeNull();
    expect(mapRow(2)).toEqual({});
    expect(mapRow(3)).toEqual({ x: '[1,2]' });
  });

  it('rejects columns of unequal length', () => {
    const schema = new Schema([new Field('a', new Utf8(), true), new Field('b', new Utf8(), true)]);
    expect(() => batchFromColumns(schema, [['x'], []])).toThrow(/column b has 0 rows/);
  });
});

describe('utf8Data', () => {
  it('encodes ASCII-only and mixed columns to the same bytes and offsets a per-string encoder gives', async () => {
    const { utf8Data } = await import('./columns.js');
    for (const column of [
      ['abc', null, '', 'xyz', null],
      ['abc', 'é', null, '😀x', ''],
      [null, null],
      [],
      // lone surrogates, and a pair split across two strings (joined it would be one 4-byte character)
      ['a\ud800', '\udc00b', 'São Paulo', '€', '\udfff', 'z\ud83d', '\ude00'],
      ['日本語', null, '\u0000\u007f\u0080\u07ff\u0800\uffff', '𝄞𝄞', 'x'],
    ]) {
      const data = utf8Data(column);
      const expected = Buffer.concat(column.filter((s): s is string => s !== null).map((s) => Buffer.from(s, 'utf8')));
      expect(Buffer.from(data.values.subarray(0, expected.length))).toEqual(expected);
      const offsets = [0];
      for (const s of column) offsets.push(offsets.at(-1)! + (s === null ? 0 : Buffer.byteLength(s)));
      expect([...data.valueOffsets]).toEqual(offsets);
      expect(data.nullCount).toBe(column.filter((s) => s === null).length);
    }
  });

  it('matches a per-string encoder on 2,000 random columns mixing ASCII, 2-, 3- and 4-byte characters and lone surrogates', async () => {
    const { utf8Data } = await import('./columns.js');
    const alphabet = ['a', 'Z', ' ', '"', 'é', 'ß', '€', '日', '😀', '𝄞', '\ud800', '\udc00', '\udbff', '\udfff'];
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let c = 0; c < 2000; c++) {
      const column = Array.from({ length: 1 + next(12) }, () => (next(6) === 0 ? null : Array.from({ length: next(6) }, () => alphabet[next(alphabet.length)]).join('')));
      const data = utf8Data(column);
      const expected = Buffer.concat(column.filter((s): s is string => s !== null).map((s) => Buffer.from(s, 'utf8')));
      expect(Buffer.from(data.values.subarray(0, data.valueOffsets[column.length]))).toEqual(expected);
      const offsets = [0];
      for (const s of column) offsets.push(offsets.at(-1)! + (s === null ? 0 : Buffer.byteLength(s)));
      expect([...data.valueOffsets]).toEqual(offsets);
    }
  });
});
