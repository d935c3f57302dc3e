/**
 * Read Parquet files back into apache-arrow for merges. `readParquetRowGroups` reads one row group at a time
 * (optionally only some columns) through a file-backed Blob, so neither the file nor more than one decoded
 * row group is ever held in WASM memory; every wasm object is freed as soon as it is converted.
 */
import { openAsBlob } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tableFromIPC, type Table } from 'apache-arrow';
import { loadParquetWasm } from './parquet-wasm.js';

export async function readParquetFile(file: string): Promise<Table> {
  const bytes = await fs.readFile(file);
  const { readParquet } = await loadParquetWasm();
  const wasm = readParquet(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  // intoIPCStream consumes the wasm table (its memory is released).
  return tableFromIPC(wasm.intoIPCStream());
}

/** The row groups of a file in order, each as an apache-arrow Table (only `columns` when given). */
export async function* readParquetRowGroups(file: string, columns?: readonly string[]): AsyncGenerator<Table, void, undefined> {
  const { ParquetFile } = await loadParquetWasm();
  const parquet = await ParquetFile.fromFile(await openAsBlob(file));
  try {
    const metadata = parquet.metadata();
    const groups = metadata.numRowGroups();
    metadata.free();
    for (let g = 0; g < groups; g++) {
      const wasm = await parquet.read({ rowGroups: [g], ...(columns ? { columns: [...columns] } : {}) });
      yield tableFromIPC(wasm.intoIPCStream());
    }
  } finally {
    parquet.free();
  }
}
