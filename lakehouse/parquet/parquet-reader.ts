/**
 * Read a whole (small) Parquet file into apache-arrow. Data files are read row group by row group through
 * `lakehouse/data` readDataFile instead.
 */
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
