/**
 * The partitioned writer: zero-copy runs per partition value survive the IPC hop to the encoder worker
 * (every type, nulls, maps), a cap on open files finishes the least recently used file and later rows of
 * that partition land in another part file, and nothing is lost or duplicated.
 */
import { Field, Int64, Schema, Utf8, type RecordBatch } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { timestampMsUtc, utf8MapType } from '../connector-spec/index.js';
import { batchFromCells, cellOf, partitionRuns, type Cell } from './arrow-rows.js';
import { noFaults } from './faults.js';
import { readParquetRowGroups } from '../lakehouse/parquet/parquet-reader.js';
import { PartitionedWriter } from './partitioned-writer.js';
import { tempDirs, type Dirs } from './testing/harness.js';

const schema = new Schema([
  new Field('id', new Utf8(), false),
  new Field('d', new Utf8(), true),
  new Field('n', new Int64(), true),
  new Field('t', timestampMsUtc(), true),
  new Field('m', utf8MapType(), true),
]);

function rowsFor(days: readonly (string | null)[], from: number): Cell[][] {
  return [
    days.map((_, i) => `id-${from + i}`),
    [...days],
    days.map((_, i) => (i % 3 === 0 ? null : BigInt(from + i))),
    days.map((_, i) => (i % 4 === 0 ? null : 1_700_000_000_000 + from + i)),
    days.map((_, i) => (i % 5 === 0 ? null : [['k', `v${from + i}`], ['z', i % 2 === 0 ? null : 'x']] as [string, string | null][])),
  ];
}

function rowsOf(batch: RecordBatch): string[] {
  const out: string[] = [];
  for (let r = 0; r < batch.numRows; r++) out.push(JSON.stringify(schema.fields.map((f) => cellOf(batch.getChild(f.name)!, r)), (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  return out;
}

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('partitioned writer', () => {
  it('splits a batch into runs (slices) and copies only heavily interleaved batches', () => {
    const runs = partitionRuns(batchFromCells(schema, rowsFor(['a', 'a', 'b', 'b', 'b', null, 'a'], 0)), 'd');
    expect(runs.map(([v, b]) => [v, b.numRows])).toEqual([['a', 2], ['b', 3], ['__HIVE_DEFAULT_PARTITION__', 1], ['a', 1]]);
    expect(cellOf(runs[3]![1].getChild('id')!, 0)).toBe('id-6');
    const alternating = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'x' : 'y'));
    const grouped = partitionRuns(batchFromCells(schema, rowsFor(alternating, 0)), 'd');
    expect(grouped.map(([v, b]) => [v, b.numRows])).toEqual([['x', 20], ['y', 20]]);
  });

  it('with one file open at a time, writes every row once across several part files per partition', async () => {
    expect.hasAssertions();
    const writer = new PartitionedWriter({ baseDir: dirs.root, partitionBy: 'd', prefix: 'part-0', keyValueMetadata: new Map(), faults: noFaults, maxOpen: 1 });
    const batches = [
      batchFromCells(schema, rowsFor(['2026-01-01', '2026-01-01', '2026-01-02', '2026-01-02', '2026-01-02'], 0)),
      batchFromCells(schema, rowsFor(['2026-01-01', null, null, '2026-01-03'], 100)),
    ];
    const expected: string[] = [];
    for (const batch of batches) {
      expected.push(...rowsOf(batch));
      await writer.write(batch);
    }
    const files = await writer.close();
    expect(files.filter((f) => f.relPath.startsWith('d=2026-01-01/')).length).toBe(2);
    expect(new Set(files.map((f) => f.relPath)).size).toBe(files.length);
    const got: string[] = [];
    for (const file of files) {
      let rows = 0;
      for await (const table of readParquetRowGroups(file.absPath)) {
        for (const batch of table.batches) got.push(...rowsOf(batch));
        rows += table.numRows;
      }
      expect(rows).toBe(file.rows);
    }
    expect(got.sort()).toEqual(expected.sort());
  });
});
