/**
 * `ReadOptions.liveRows` for a table: its committed rows projected on the asked columns, read one row group at a
 * file at a time and only those columns, so a source can detect deletions in a full snapshot without keeping every key in its
 * cursor. A column missing from an older file reads as null.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { Type, tableFromIPC, type Table } from 'apache-arrow';
import type { LiveCell, LiveRows } from '../connector-spec/index.js';
import { cellOf } from './arrow-rows.js';
import { liveFiles, type TablePaths } from './commit-log.js';
import { loadParquetWasm } from '../lakehouse/parquet/parquet-wasm.js';

/** Only the asked columns that the file has (a file written before a column existed lacks it). */
async function readProjected(file: string, columns: readonly string[]): Promise<Table> {
  const buffer = await fs.readFile(file);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const { readParquet, readSchema } = await loadParquetWasm();
  const names = new Set(tableFromIPC(readSchema(bytes).intoIPCStream()).schema.fields.map((f) => f.name));
  const present = columns.filter((c) => names.has(c));
  return tableFromIPC(readParquet(bytes, { columns: present }).intoIPCStream());
}

export function liveRowsOf(paths: TablePaths): LiveRows {
  return async function* liveRows(columns) {
    for (const file of await liveFiles(paths)) {
      {
        const table = await readProjected(path.join(paths.tableDir, file), columns);
        const vectors = columns.map((name) => {
          const vector = table.getChild(name);
          if (vector !== null && (vector.type.typeId === Type.Map || vector.type.typeId === Type.Struct || vector.type.typeId === Type.List)) {
            throw new TypeError(`liveRows: column ${name} is nested; ask for scalar columns`);
          }
          return vector;
        });
        for (let row = 0; row < table.numRows; row++) {
          yield vectors.map((v) => (v === null ? null : (cellOf(v, row) as LiveCell)));
        }
      }
    }
  };
}
