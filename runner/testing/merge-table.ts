/**
 * Tests of `mergeCdc` on a real table: a fresh local Delta table per test, live files written from batches, and the
 * rows a merge leaves (the live files it keeps plus the files it adds) read back as "key:seq" strings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import { afterEach, beforeEach } from 'vitest';
import { LocalStore, lakehouseOnStore, type AddFile, type DeltaTable } from '../../lakehouse/index.js';
import type { CdcMergeResult } from '../cdc-merge.js';

export interface MergeTable {
  /** The test's own temp folder (the table lives in `lake/` under it). */
  readonly dir: string;
  readonly table: DeltaTable;
}

/** A new table `t` in a temp folder for each test (removed after it); call at a describe or file's top level. */
export function mergeTableEachTest(prefix: string): () => MergeTable {
  let current: MergeTable | undefined;
  beforeEach(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    current = { dir, table: lakehouseOnStore(new LocalStore(path.join(dir, 'lake'))).table('t') };
  });
  afterEach(async () => {
    if (current) await rm(current.dir, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('mergeTableEachTest: no table outside a test');
    return current;
  };
}

/** One unpartitioned live file holding `batch`, encoded on the calling thread. */
export async function writeLiveFile(table: DeltaTable, schema: Schema, batch: RecordBatch): Promise<AddFile> {
  const writer = await table.createDataFile({ partitionValues: {}, schema, encodeOn: 'calling-thread' });
  await writer.write(batch);
  return writer.close();
}

/** The rows of one file as "key:seq" (columns `k` and `s`), in file order. */
export async function keySeqRows(table: DeltaTable, schema: Schema, file: AddFile): Promise<string[]> {
  const out: string[] = [];
  for await (const group of table.readDataFile(file, { schema })) {
    const k = group.getChild('k')!;
    const s = group.getChild('s')!;
    for (let r = 0; r < group.numRows; r++) out.push(`${String(k.get(r))}:${String(s.get(r))}`);
  }
  return out;
}

/** The rows of the live files `result` keeps plus the files it adds, as "key:seq", sorted. */
export async function rowsAfterMerge(table: DeltaTable, schema: Schema, live: readonly AddFile[], result: CdcMergeResult): Promise<string[]> {
  const removed = new Set(result.remove.map((f) => f.path));
  const out: string[] = [];
  for (const file of [...live.filter((f) => !removed.has(f.path)), ...result.add]) out.push(...(await keySeqRows(table, schema, file)));
  return out.sort();
}
