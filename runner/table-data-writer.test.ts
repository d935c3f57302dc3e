/**
 * TableDataWriter.finishPartition: encoding on a worker, a finished partition's file is left closing (its worker
 * flushes the last row group while the caller starts the next file), at most one at a time; `close()` waits for it
 * and returns its `add`, a failure to close it surfaces at the next finish or at `close()`, and `abort()` deletes it
 * once it has closed. Encoding on the calling thread, finishing waits for the close as before. The files here are
 * fakes whose close the test resolves by hand: what is checked is the order of events, not Parquet (the cdc merge
 * tests write real files through this path: runner/cdc-merge-lanes.test.ts).
 */
import { Field, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromColumns } from '../connector-spec/index.js';
import type { AddFile, DataFileOptions, DataFileWriter, DeltaTable, EncodeOn } from '../lakehouse/index.js';
import { TableDataWriter } from './table-data-writer.js';

const schema = new Schema([new Field('id', new Utf8(), false), new Field('d', new Utf8(), true)]);

function rows(d: string) {
  return batchFromColumns(schema, [
    ['x', 'y'],
    [d, d],
  ]);
}

/** A promise settled from outside (Node 20 has no Promise.withResolvers). */
interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface FakeFile {
  readonly partition: string;
  readonly closing: Deferred;
  closeCalled: boolean;
}

function fakeTable(): { table: DeltaTable; files: FakeFile[] } {
  const files: FakeFile[] = [];
  const table = {
    async createDataFile(options: DataFileOptions): Promise<DataFileWriter> {
      const file: FakeFile = { partition: String(options.partitionValues['d']), closing: deferred(), closeCalled: false };
      files.push(file);
      let count = 0;
      return {
        get rows() {
          return count;
        },
        async write(batch) {
          count += batch.numRows;
        },
        async close(): Promise<AddFile> {
          file.closeCalled = true;
          await file.closing.promise;
          return { path: `d=${file.partition}/part.parquet`, partitionValues: { d: file.partition }, size: 1, modificationTime: 0, dataChange: true, numRecords: count };
        },
        async abort() {},
      };
    },
  } as unknown as DeltaTable;
  return { table, files };
}

function writerOn(table: DeltaTable, encodeOn: EncodeOn, discarded: string[] = []): TableDataWriter {
  return new TableDataWriter({ table, schema, partitionBy: 'd', statsColumns: [], encodeOn, discard: async (file) => void discarded.push(file.path) });
}

/** Whether `promise` settles within a few turns of the event loop. */
async function settles(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20))]);
}

describe('TableDataWriter.finishPartition', () => {
  it('encoding on a worker, leaves one file closing while the next is written; close() waits for it', async () => {
    const { table, files } = fakeTable();
    const writer = writerOn(table, 'worker');
    await writer.writeToPartition('a', rows('a'));
    expect(await settles(writer.finishPartition('a'))).toBe(true); // a is still closing
    expect(files[0]!.closeCalled).toBe(true);
    await writer.writeToPartition('b', rows('b')); // b is written while a closes
    expect(files.map((f) => f.partition)).toEqual(['a', 'b']);
    const finishB = writer.finishPartition('b');
    expect(await settles(finishB)).toBe(false); // at most one closing: b waits for a
    files[0]!.closing.resolve();
    await finishB;
    const closing = writer.close();
    expect(await settles(closing)).toBe(false); // close() waits for b
    files[1]!.closing.resolve();
    expect((await closing).map((f) => f.path)).toEqual(['d=a/part.parquet', 'd=b/part.parquet']);
  });

  it('a file that fails to close fails the next finish, or close()', async () => {
    const { table, files } = fakeTable();
    const writer = writerOn(table, 'worker');
    await writer.writeToPartition('a', rows('a'));
    await writer.finishPartition('a');
    files[0]!.closing.reject(new Error('upload of a failed'));
    await writer.writeToPartition('b', rows('b'));
    await expect(writer.finishPartition('b')).rejects.toThrow('upload of a failed');

    const second = fakeTable();
    const other = writerOn(second.table, 'worker');
    await other.writeToPartition('a', rows('a'));
    await other.finishPartition('a');
    second.files[0]!.closing.reject(new Error('upload of a failed'));
    await expect(other.close()).rejects.toThrow('upload of a failed');
  });

  it('abort() waits for the closing file and deletes it', async () => {
    const { table, files } = fakeTable();
    const discarded: string[] = [];
    const writer = writerOn(table, 'worker', discarded);
    await writer.writeToPartition('a', rows('a'));
    await writer.finishPartition('a');
    const aborting = writer.abort();
    files[0]!.closing.resolve();
    await aborting;
    expect(discarded).toEqual(['d=a/part.parquet']);
  });

  it('encoding on the calling thread, waits for the close', async () => {
    const { table, files } = fakeTable();
    const writer = writerOn(table, 'calling-thread');
    await writer.writeToPartition('a', rows('a'));
    const finishA = writer.finishPartition('a');
    expect(await settles(finishA)).toBe(false);
    files[0]!.closing.resolve();
    await finishA;
    expect((await writer.close()).map((f) => f.path)).toEqual(['d=a/part.parquet']);
  });
});
