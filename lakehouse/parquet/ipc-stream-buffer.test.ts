/**
 * IpcStreamBuffer writes exactly the bytes `tableToIPC` writes (nulls, a map, timestamps, a sliced batch, an empty
 * one), reuses its buffer across batches (a smaller batch after a larger one is still whole), and what it wrote
 * reads back equal, through apache-arrow and through parquet-wasm's reader of IPC streams.
 */
import { Bool, Field, Float64, Int64, Schema, Table, Utf8, tableFromIPC, tableToIPC, type RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromColumns, timestampMsUtc, utf8MapType } from '../../connector-spec/index.js';
import { IpcStreamBuffer } from './ipc-stream-buffer.js';
import { loadParquetWasm } from './parquet-wasm.js';

const schema = new Schema([
  new Field('k', new Utf8(), false),
  new Field('n', new Int64(), true),
  new Field('x', new Float64(), true),
  new Field('b', new Bool(), true),
  new Field('t', timestampMsUtc(), true),
  new Field('m', utf8MapType(), true),
]);

function batch(from: number, count: number): RecordBatch {
  const ids = Array.from({ length: count }, (_, i) => from + i);
  return batchFromColumns(schema, [
    ids.map((i) => `key-${i}-${'é'.repeat(i % 5)}`),
    ids.map((i) => (i % 7 === 0 ? null : BigInt(i) * 1_000_000_007n)),
    ids.map((i) => (i % 5 === 0 ? null : i / 3)),
    ids.map((i) => (i % 3 === 0 ? null : i % 2 === 0)),
    ids.map((i) => (i % 11 === 0 ? null : 1_700_000_000_000 + i)),
    ids.map((i) => (i % 4 === 0 ? null : [['a', String(i)], ['b', i % 2 === 0 ? null : '"x"']])),
  ]);
}

function rows(b: RecordBatch | Table): unknown[] {
  return (b instanceof Table ? b : new Table([b])).toArray().map((r) => JSON.stringify(r.toJSON(), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

describe('IpcStreamBuffer', () => {
  it('writes the bytes tableToIPC writes, reusing one buffer, and they read back equal', async () => {
    const ipc = new IpcStreamBuffer();
    const big = batch(0, 3000);
    const cases: [string, RecordBatch][] = [
      ['large', big],
      ['small after large', batch(5000, 17)],
      ['sliced (offset ≠ 0)', big.slice(1234, 1801)],
      ['empty', big.slice(0, 0)],
      ['larger than the buffer so far', batch(9000, 6000)],
    ];
    const { Table: WasmTable } = await loadParquetWasm();
    for (const [label, b] of cases) {
      const expected = tableToIPC(new Table([b]), 'stream');
      const got = ipc.streamOf(b);
      expect(Buffer.from(got).equals(Buffer.from(expected)), label).toBe(true);
      expect(rows(tableFromIPC(got)), label).toEqual(rows(b));
      const wasm = WasmTable.fromIPCStream(got);
      try {
        expect(wasm.numBatches > 0 ? wasm.recordBatches().reduce((n, r) => n + r.numRows, 0) : 0, label).toBe(b.numRows);
      } finally {
        wasm.free();
      }
    }
  });

  it('a view it returned is overwritten by the next call (it is valid until then only)', () => {
    const ipc = new IpcStreamBuffer();
    const first = ipc.streamOf(batch(0, 50));
    const copy = first.slice();
    ipc.streamOf(batch(100, 50));
    expect(Buffer.from(first).equals(Buffer.from(copy))).toBe(false);
    ipc.release();
    expect(rows(tableFromIPC(ipc.streamOf(batch(0, 50))))).toEqual(rows(batch(0, 50)));
  });
});
