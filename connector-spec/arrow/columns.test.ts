import { Field, Float64, Int64, Schema, Utf8, Bool, tableToIPC, tableFromIPC, Table, RecordBatch, Struct, makeData, type Data } from 'apache-arrow';
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

describe('column builders (bytes in, the same Data as the value helpers)', () => {
  /** A seeded generator (LCG). */
  function lcg(seed: number): (n: number) => number {
    let s = seed;
    return (n) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
  }

  function ipcOf(schema: Schema, data: Data): Buffer {
    return Buffer.from(tableToIPC(new Table([new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: data.length, nullCount: 0, children: [data] }))]), 'stream'));
  }

  it('build the same columns as utf8Data, int64Data, float64Data, boolData and timestampMsData, batch after batch from tiny buffers', async () => {
    const { Utf8ColumnBuilder, Int64ColumnBuilder, Float64ColumnBuilder, BoolColumnBuilder, utf8Data, int64Data, float64Data, boolData, timestampMsData } = await import('./columns.js');
    const next = lcg(11);
    const alphabet = ['a', 'Z', ' ', '"', 'é', '€', '日', '😀', '\ud800', '\udc00'];
    // One builder of each kind for every batch: buffers start tiny and grow, and a batch reuses the last one's.
    const text = new Utf8ColumnBuilder(1, 1);
    const int = new Int64ColumnBuilder(1);
    const time = new Int64ColumnBuilder(1);
    const float = new Float64ColumnBuilder(1);
    const bool = new BoolColumnBuilder(1);
    for (let batch = 0; batch < 60; batch++) {
      const n = next(70);
      const nulls = next(4); // 0: none; else about one in `nulls + 1`
      const isNull = (): boolean => nulls > 0 && next(nulls + 1) === 0;
      const strings = Array.from({ length: n }, () => (isNull() ? null : Array.from({ length: next(9) }, () => alphabet[next(alphabet.length)]).join('')));
      const ints = Array.from({ length: n }, () => (isNull() ? null : next(3) === 0 ? BigInt(next(1 << 30)) * 9_000_000_017n - 2n ** 62n : (next(1 << 30) - (1 << 29)) * (next(2) === 0 ? 1 : 8_388_607)));
      const floats = Array.from({ length: n }, () => (isNull() ? null : [0, -0, 1.5, -1e300, 5e-324, next(1000) / 7][next(6)]!));
      const bools = Array.from({ length: n }, () => (isNull() ? null : next(2) === 0));
      for (const [i, s] of strings.entries()) {
        if (s === null) text.appendNull();
        else if (i % 2 === 0) text.appendString(s);
        else {
          // as bytes, in two pieces
          const bytes = Buffer.from(s, 'utf8');
          text.write(bytes, 0, bytes.length >> 1);
          text.write(bytes, bytes.length >> 1, bytes.length);
          text.endValue();
        }
      }
      for (const v of ints) {
        if (v === null) int.appendNull();
        else if (typeof v === 'bigint') int.appendBigInt(v);
        else int.appendNumber(v);
        if (v === null) time.appendNull();
        else time.appendNumber(Number(v) % 8.64e15);
      }
      for (const v of floats) (v === null ? float.appendNull() : float.append(v));
      for (const v of bools) (v === null ? bool.appendNull() : bool.append(v));
      const stamps = ints.map((v) => (v === null ? null : Number(v) % 8.64e15));
      const cases: [string, Data, Data][] = [
        ['utf8', text.finish(), utf8Data(strings)],
        ['int64', int.finish(), int64Data(ints)],
        ['timestamp', time.finishTimestamp(), timestampMsData(stamps)],
        ['float64', float.finish(), float64Data(floats)],
        ['bool', bool.finish(), boolData(bools)],
      ];
      for (const [name, built, expected] of cases) {
        const schema = new Schema([new Field(name, expected.type, true)]);
        expect(built.nullCount, `${name} batch ${batch}`).toBe(expected.nullCount);
        expect(ipcOf(schema, built).equals(ipcOf(schema, expected)), `${name} batch ${batch}`).toBe(true);
      }
    }
  });

  it('clear() drops a half-built batch; padTo() fills nulls; utf8MapOfColumns equals utf8MapFromFlat', async () => {
    const { Utf8ColumnBuilder, Float64ColumnBuilder, utf8MapOfColumns, utf8MapFromFlat, utf8Data, float64Data } = await import('./columns.js');
    const text = new Utf8ColumnBuilder(2, 2);
    text.appendString('dropped');
    text.appendNull();
    text.clear();
    text.appendString('a');
    text.padTo(3);
    text.appendString('b');
    const schema = new Schema([new Field('s', new Utf8(), true)]);
    expect(ipcOf(schema, text.finish()).equals(ipcOf(schema, utf8Data(['a', null, null, 'b'])))).toBe(true);
    const float = new Float64ColumnBuilder(1);
    float.append(1);
    float.clear();
    float.padTo(2);
    float.append(2.5);
    const floats = new Schema([new Field('f', new Float64(), true)]);
    expect(ipcOf(floats, float.finish()).equals(ipcOf(floats, float64Data([null, null, 2.5])))).toBe(true);
    const keys = new Utf8ColumnBuilder();
    const values = new Utf8ColumnBuilder();
    for (const [k, v] of [['k', '"v"'], ['ü', '[1, 2]'], ['', 'null']] as const) {
      keys.appendString(k);
      values.appendString(v);
    }
    const offsets = Int32Array.from([0, 2, 2, 3]);
    const maps = new Schema([new Field('m', utf8MapType(), true)]);
    const built = utf8MapOfColumns(keys.finish(), values.finish(), offsets);
    const expected = utf8MapFromFlat(['k', 'ü', ''], ['"v"', '[1, 2]', 'null'], offsets);
    expect(ipcOf(maps, built).equals(ipcOf(maps, expected))).toBe(true);
  });
});
