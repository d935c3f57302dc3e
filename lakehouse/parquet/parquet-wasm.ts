/**
 * parquet-wasm, loaded on first use. Importing it compiles its WebAssembly (~15 MiB of RSS); a run whose Parquet
 * is encoded on the worker thread and that reads nothing back never needs it on the main thread.
 */
type ParquetWasm = typeof import('parquet-wasm');

let loading: Promise<ParquetWasm> | undefined;

export function loadParquetWasm(): Promise<ParquetWasm> {
  loading ??= import('parquet-wasm');
  return loading;
}
