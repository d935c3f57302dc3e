/**
 * `ReadOptions.liveRows` for a table: its committed rows projected on the asked columns, read one row group of
 * one live file at a time and only those columns, so a source can detect deletions in a full snapshot without
 * keeping every key in its cursor. A column missing from an older file reads as null.
 */
import { Type } from 'apache-arrow';
import type { LiveCell, LiveRows } from '../connector-spec/index.js';
import type { AddFile, DeltaTable } from '../lakehouse/index.js';
import { cellOf } from './arrow-rows.js';

export function liveRowsOf(table: DeltaTable, files: readonly AddFile[]): LiveRows {
  return async function* liveRows(columns) {
    for (const file of files) {
      for await (const group of table.readDataFile(file, { columns })) {
        const vectors = columns.map((name) => {
          const vector = group.getChild(name);
          if (vector !== null && (vector.type.typeId === Type.Map || vector.type.typeId === Type.Struct || vector.type.typeId === Type.List)) {
            throw new TypeError(`liveRows: column ${name} is nested; ask for scalar columns`);
          }
          return vector;
        });
        for (let row = 0; row < group.numRows; row++) {
          yield vectors.map((v) => (v === null ? null : (cellOf(v, row) as LiveCell)));
        }
      }
    }
  };
}
