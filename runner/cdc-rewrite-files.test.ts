/**
 * A cdc merge that rewrites live files keeps each new file within `maxFileRows` (MAX_FILE_ROWS in production): a
 * partition's staged rows come first, and each rewritten file joins the last new file while it fits, or starts one of
 * its own, whole. So an incremental run that re-sends a copy into each of a big day's files gives back files of the
 * same size, not one file of the whole day that every later run rewrites again. Real Parquet files through a real
 * table, on the calling thread and on an encoder worker; the rows read back are exactly the merged ones.
 */
import path from 'node:path';
import { Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromColumns } from '../connector-spec/index.js';
import type { AddFile } from '../lakehouse/index.js';
import { CallStaging } from './call-staging.js';
import { COMPACT_ABOVE_FILES, mergeCdc, splitJobs, type CdcMergeResult } from './cdc-merge.js';
import { KeyHashIndex, hashKeys } from './key-index.js';
import { TableDataWriter } from './table-data-writer.js';
import { keySeqRows, mergeTableEachTest, rowsAfterMerge, writeLiveFile } from './testing/merge-table.js';

const schema = new Schema([new Field('k', new Utf8(), false), new Field('s', new Int64(), false)]);
type Row = readonly [key: string, seq: number];
const batchOf = (rows: readonly Row[]) => batchFromColumns(schema, [rows.map((r) => r[0]), rows.map((r) => BigInt(r[1]))]);
const rowsNamed = (prefix: string, n: number, seq = 1): Row[] => Array.from({ length: n }, (_, i) => [`${prefix}${i}`, seq] as const);

const current = mergeTableEachTest('cdc-rewrite-files-');
let merges = 0;
const liveFile = (rows: readonly Row[]): Promise<AddFile> => writeLiveFile(current().table, schema, batchOf(rows));

async function merge(live: readonly AddFile[], staged: readonly Row[], maxFileRows: number, encodeOn: 'calling-thread' | 'worker' = 'calling-thread'): Promise<CdcMergeResult> {
  const { dir, table } = current();
  const staging = new CallStaging({ dir: path.join(dir, `staging-${merges++}`), schema, memoryBytes: 0 });
  const index = new KeyHashIndex();
  const batch = batchOf(staged);
  index.add(hashKeys([batch.getChild('k')!], batch.numRows));
  await staging.add(batch);
  const writer = new TableDataWriter({ table, schema, statsColumns: [], encodeOn, discard: async () => {} });
  try {
    return await mergeCdc({ table, live, staging, index, keys: ['k'], sequenceBy: ['s'], schema, writer, maxFileRows });
  } finally {
    await staging.dispose();
  }
}

const rowsOf = (file: AddFile): Promise<string[]> => keySeqRows(current().table, schema, file);
const tableAfter = (live: readonly AddFile[], result: CdcMergeResult): Promise<string[]> => rowsAfterMerge(current().table, schema, live, result);

describe('a cdc merge that rewrites files keeps new files within maxFileRows', () => {
  it.each(['calling-thread', 'worker'] as const)('a copy re-sent into each of three full files: three files again, each within the limit, whole (%s)', async (encodeOn) => {
    const a = await liveFile(rowsNamed('a', 40));
    const b = await liveFile(rowsNamed('b', 40));
    const c = await liveFile(rowsNamed('c', 40));
    const untouched = await liveFile(rowsNamed('u', 40));
    const live = [a, b, c, untouched];
    // One newer copy of a key in each of a, b and c, and five new keys.
    const staged: Row[] = [['a3', 2], ['b7', 2], ['c39', 2], ...rowsNamed('n', 5)];
    const result = await merge(live, staged, 50, encodeOn);

    expect(result.remove.map((f) => f.path).sort()).toEqual([a.path, b.path, c.path].sort());
    const sizes = await Promise.all(result.add.map(async (f) => (await rowsOf(f)).length));
    // 8 staged rows + a's 39 kept (47), then b's 39 and c's 39 on their own: 48 + 40 would pass 50.
    expect(sizes).toEqual([8 + 39, 39, 39]);
    expect(result.add.map((f) => f.numRecords)).toEqual(sizes);
    // Each rewritten file's rows stay together in one new file.
    const byFile = await Promise.all(result.add.map(rowsOf));
    expect(byFile[1]!.every((r) => r.startsWith('b'))).toBe(true);
    expect(byFile[2]!.every((r) => r.startsWith('c'))).toBe(true);

    const expected = [...rowsNamed('a', 40), ...rowsNamed('b', 40), ...rowsNamed('c', 40), ...rowsNamed('u', 40), ...rowsNamed('n', 5)]
      .map(([k, s]) => `${k}:${['a3', 'b7', 'c39'].includes(k) ? 2 : s}`)
      .sort();
    expect(await tableAfter(live, result)).toEqual(expected);
  });

  it('under the limit, one new file per partition as before', async () => {
    const a = await liveFile(rowsNamed('a', 10));
    const b = await liveFile(rowsNamed('b', 10));
    const result = await merge([a, b], [['a1', 2], ['b1', 2]], 50);
    expect(result.add).toHaveLength(1);
    expect(result.add[0]!.numRecords).toBe(20);
    expect(await tableAfter([a, b], result)).toEqual([...rowsNamed('a', 10), ...rowsNamed('b', 10)].map(([k, s]) => `${k}:${k === 'a1' || k === 'b1' ? 2 : s}`).sort());
  });

  it('a file bigger than the limit is rewritten whole into a file of its own', async () => {
    const big = await liveFile(rowsNamed('g', 70));
    const result = await merge([big], [['g0', 2], ['x', 1]], 50);
    expect(result.add.map((f) => f.numRecords)).toEqual([2, 69]); // the two staged rows, then the file less its loser
    expect(await tableAfter([big], result)).toEqual([...rowsNamed('g', 70).map(([k, s]) => `${k}:${k === 'g0' ? 2 : s}`), 'x:1'].sort());
  });

  it(`a compacted partition (more than ${COMPACT_ABOVE_FILES} live files) is packed into files within the limit`, async () => {
    const live: AddFile[] = [];
    for (let f = 0; f <= COMPACT_ABOVE_FILES; f++) live.push(await liveFile(rowsNamed(`f${f}-`, 15)));
    const result = await merge(live, rowsNamed('n', 3), 50);
    expect(result.remove).toHaveLength(live.length);
    // 3 staged rows, then nine files of 15 packed whole: 3 + 3 × 15 = 48 (a fourth would pass 50), then 45 and 45.
    expect(result.add.map((f) => f.numRecords)).toEqual([48, 45, 45]);
    expect((await tableAfter(live, result)).length).toBe(3 + 15 * live.length);
  });
});

describe('splitJobs with rewritten files', () => {
  const file = (i: number, numRecords: number, losers = 0) => ({ file: { path: `f${i}.parquet`, numRecords } as AddFile, drop: losers > 0 ? new Set(Array.from({ length: losers }, (_, r) => r)) : undefined });

  it('one lane: staged runs first, then each file whole, joining the last run while the kept rows fit', () => {
    const job = { value: 'd', batches: [0, 1], files: [file(1, 600), file(2, 600, 100), file(3, 300)], rows: 0 };
    job.rows = 2 * 100 + 600 + 500 + 300;
    const out = splitJobs([job], 1, () => 100, 1_000);
    expect(out.map((j) => [j.batches, j.files.map((f) => f.file.path), j.rows])).toEqual([
      [[0, 1], ['f1.parquet'], 800],
      [[], ['f2.parquet', 'f3.parquet'], 800],
    ]);
  });
});
