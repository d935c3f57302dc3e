/**
 * Test data files: a small Arrow table written as one Parquet file into a table folder of a store (through
 * `createUpload`), returned as its `add`. The log tests use it so they need nothing of the data half.
 */
import { tableToIPC, type Table } from 'apache-arrow';
import { randomUUID } from 'node:crypto';
import { encodeAddPath } from '../delta/paths.js';
import { loadParquetWasm } from '../parquet/parquet-wasm.js';
import type { ObjectStore } from '../storage/types.js';
import type { AddFile } from '../types.js';

export interface TestFileOptions {
  /** Partition values; the partition folder is `<col>=<value>/` (hive style). */
  readonly partitionValues?: Readonly<Record<string, string | null>>;
  readonly modificationTime?: number;
  /** A fixed file name (default part-<uuid>.parquet). */
  readonly fileName?: string;
}

export async function writeTestFile(store: ObjectStore, tableRoot: string, rows: Table, options: TestFileOptions = {}): Promise<AddFile> {
  const partitionValues = options.partitionValues ?? {};
  const dirs = Object.entries(partitionValues).map(([k, v]) => `${k}=${v ?? '__HIVE_DEFAULT_PARTITION__'}/`).join('');
  const rel = `${dirs}${options.fileName ?? `part-${randomUUID()}.parquet`}`;
  const wasm = await loadParquetWasm();
  const bytes = wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(rows, 'stream')));
  const upload = await store.createUpload(tableRoot === '' ? rel : `${tableRoot}/${rel}`);
  await upload.write(bytes);
  const stored = await upload.close();
  const stats = JSON.stringify({ numRecords: rows.numRows });
  return {
    path: encodeAddPath(rel),
    partitionValues,
    size: stored.size,
    modificationTime: options.modificationTime ?? Math.trunc(stored.modifiedMs),
    dataChange: true,
    stats,
    numRecords: rows.numRows,
  };
}
