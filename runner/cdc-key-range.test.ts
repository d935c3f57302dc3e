/**
 * Step 1 of the cdc merge with the source's `keyDerivedFrom` (`keyRange`): a live file whose stats share no unit of
 * `granularity` (floor(value / granularity)) with the staged rows' range is not read, and the merge's outcome is the one it has reading every
 * file. Real Parquet files through a real table; staged batches spilled to the call's file.
 */
import path from 'node:path';
import { Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it, vi } from 'vitest';
import { batchFromColumns } from '../connector-spec/index.js';
import { ColumnRange, type AddFile } from '../lakehouse/index.js';
import { CallStaging } from './call-staging.js';
import { mergeCdc, type CdcMergeResult } from './cdc-merge.js';
import { KeyHashIndex, hashKeys } from './key-index.js';
import { TableDataWriter } from './table-data-writer.js';
import { mergeTableEachTest, rowsAfterMerge, writeLiveFile } from './testing/merge-table.js';

/** k: the key; t: a time the key is built from (copies share it); s: the sequence. */
const schema = new Schema([new Field('k', new Utf8(), false), new Field('t', new Int64(), true), new Field('s', new Int64(), false)]);
type Row = readonly [key: string, time: number | null, seq: number];
const batchOf = (rows: readonly Row[]) => batchFromColumns(schema, [rows.map((r) => r[0]), rows.map((r) => (r[1] === null ? null : BigInt(r[1]))), rows.map((r) => BigInt(r[2]))]);

const current = mergeTableEachTest('cdc-key-range-');
const liveFile = (rows: readonly Row[]): Promise<AddFile> => writeLiveFile(current().table, schema, batchOf(rows));

/** Merge `staged` (one batch each) into `live`, with or without the key range on `t` (granularity 1000). */
async function merge(live: readonly AddFile[], staged: readonly (readonly Row[])[], withRange: boolean): Promise<{ result: CdcMergeResult; reads: string[] }> {
  const { dir, table } = current();
  const staging = new CallStaging({ dir: path.join(dir, `staging-${withRange}`), schema, memoryBytes: 0 });
  const index = new KeyHashIndex();
  const range = new ColumnRange(schema.fields[1]!);
  for (const rows of staged) {
    const batch = batchOf(rows);
    index.add(hashKeys([batch.getChild('k')!], batch.numRows));
    range.add(batch.data.children[1]!);
    await staging.add(batch);
  }
  const reads: string[] = [];
  const original = table.readDataFile.bind(table);
  const spy = vi.spyOn(table, 'readDataFile').mockImplementation((file, options) => {
    if (options?.columns?.length === 1) reads.push(file.path); // step 1 reads the key column only
    return original(file, options);
  });
  const writer = new TableDataWriter({ table, schema, statsColumns: [], encodeOn: 'calling-thread', discard: async () => {} });
  try {
    const result = await mergeCdc({ table, live, staging, index, keys: ['k'], sequenceBy: ['s'], schema, writer, ...(withRange ? { keyRange: { range, granularity: 1000 } } : {}) });
    return { result, reads };
  } finally {
    spy.mockRestore();
    await staging.dispose();
  }
}

const tableAfter = (live: readonly AddFile[], result: CdcMergeResult): Promise<string[]> => rowsAfterMerge(current().table, schema, live, result);

describe('a cdc merge with the key range of keyDerivedFrom', () => {
  it('reads the keys of the live files near the call and skips the rest; the table is the one reading every file gives', async () => {
    const early = await liveFile([['a', 0, 1], ['b', 500, 1], ['c', 900, 1]]); // t: 0 … 900
    const late = await liveFile([['x', 10_000, 1], ['y', 10_500, 1], ['z', 11_000, 1]]); // t: 10 000 … 11 000
    const nulls = await liveFile([['n', null, 1], ['m', 20_000, 1]]);
    const live = [early, late, nulls];
    // A re-sent x (same t) and a new key; a copy of a new key within the call.
    const staged: Row[][] = [[['x', 10_000, 2], ['w', 12_500, 1]], [['w', 12_500, 3]]];

    const all = await merge(live, staged, false);
    const skipping = await merge(live, staged, true);
    expect(all.reads.sort()).toEqual([early.path, late.path, nulls.path].sort());
    // early's units are 0 … 0 and the call's 10 … 12; nulls holds a null (the call has none) and 20 000 (unit 20).
    expect(skipping.reads).toEqual([late.path]);
    expect([skipping.result.keyFilesRead, skipping.result.keyFilesSkipped]).toEqual([1, 2]);
    expect([all.result.keyFilesRead, all.result.keyFilesSkipped]).toEqual([3, 0]);
    expect(skipping.result.remove.map((f) => f.path)).toEqual([late.path]);
    expect(skipping.result.rowsMerged).toBe(all.result.rowsMerged);
    const expected = ['a:1', 'b:1', 'c:1', 'm:1', 'n:1', 'w:3', 'x:2', 'y:1', 'z:1'];
    expect(await tableAfter(live, all.result)).toEqual(expected);
    expect(await tableAfter(live, skipping.result)).toEqual(expected);
  });

  it('a staged null meets the file holding nulls; a row in a unit a file spans is looked up there', async () => {
    const early = await liveFile([['a', 0, 1], ['b', 900, 1]]);
    const nulls = await liveFile([['n', null, 1], ['m', 20_000, 1]]);
    const { result, reads } = await merge([early, nulls], [[['n', null, 2], ['c', 999, 1]]], true);
    expect(reads.sort()).toEqual([early.path, nulls.path].sort()); // 999 is in unit 0, as early's 0 … 900
    expect(result.remove.map((f) => f.path)).toEqual([nulls.path]);
    expect(await tableAfter([early, nulls], result)).toEqual(['a:1', 'b:1', 'c:1', 'm:1', 'n:2']);
  });

  it('adjacent ranges in different units: a call starting at 1 000 does not read a file ending at 999', async () => {
    const before = await liveFile([['a', 0, 1], ['b', 999, 1]]);
    const { result, reads } = await merge([before], [[['c', 1_000, 1], ['d', 1_500, 1]]], true);
    expect(reads).toEqual([]);
    expect(await tableAfter([before], result)).toEqual(['a:1', 'b:1', 'c:1', 'd:1']);
  });

  it('trusts the declaration: rows that break it (a re-sent key with another t) leave the old row beside the new one', async () => {
    // What the acceptance check "rows of one key agree on keyDerivedFrom" exists to catch in a source.
    const early = await liveFile([['a', 0, 1]]);
    const { result, reads } = await merge([early], [[['a', 50_000, 2]]], true);
    expect(reads).toEqual([]);
    expect(await tableAfter([early], result)).toEqual(['a:1', 'a:2']);
  });
});
