/**
 * Read a Parquet file back into apache-arrow for merges: parquet-wasm `readParquet` → Arrow IPC →
 * `tableFromIPC`, freeing the wasm table as soon as it is converted.
 */
import * as fs from 'node:fs/promises';
import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';

export async function readParquetFile(file: string): Promise<Table> {
  const bytes = await fs.readFile(file);
  const wasm = readParquet(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  // intoIPCStream consumes the wasm table (its memory is released).
  return tableFromIPC(wasm.intoIPCStream());
}
