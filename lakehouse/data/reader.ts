/**
 * `readDataFile`: the row groups of one data file, in order, as apache-arrow Tables (one batch per row group),
 * read from a local copy of the object (`store.localCopy`) one row group at a time, only the columns asked for.
 * With `schema`, each row group is cast to it over the buffers: timestamps converted to the schema's unit (µs →
 * ms rounds down, exact for files written from ms), columns an older file lacks filled with typed nulls,
 * partition columns re-attached as constants from `add.partitionValues`, columns in the schema's order. Without
 * `schema`, columns come as stored (timestamps in µs) and a partition column asked for by name comes as its
 * Delta string. A file with a deletion vector is refused (ConfigError naming `deletionVectors`).
 */
import { openAsBlob } from 'node:fs';
import { Field, RecordBatch, Schema, Struct, Table, Type, Utf8, makeData, tableFromIPC, type Data, type DataType, type Map_, type Timestamp } from 'apache-arrow';
import { ConfigError, DataError } from '../../connector-spec/index.js';
import type { AddAction } from '../delta/actions.js';
import { decodeAddPath, isAbsoluteAddPath, joinPath } from '../delta/paths.js';
import { unsupportedFeature } from '../errors.js';
import { loadParquetWasm } from '../parquet/parquet-wasm.js';
import type { ObjectStore } from '../storage/types.js';
import type { AddFile, ReadDataFileOptions } from '../types.js';
import { constantColumn, nullColumn, parsePartitionValue, relabelMap } from './partition-columns.js';
import { convertTimestamps } from './timestamps.js';

/** How one output column is made from a row group. */
type ColumnSource =
  | { readonly kind: 'file'; readonly field: Field; readonly index: number }
  | { readonly kind: 'partition'; readonly field: Field; readonly text: string | null }
  | { readonly kind: 'missing'; readonly field: Field };

function sameType(a: DataType, b: DataType): boolean {
  return String(a) === String(b);
}

/** A file column as the schema's type: the same buffers, or timestamps converted, or a map relabelled. */
function castColumn(data: Data, field: Field, display: string): Data {
  const target = field.type;
  if (data.type.typeId === Type.Timestamp && target.typeId === Type.Timestamp) return convertTimestamps(data as Data<Timestamp>, target as Timestamp);
  if (data.type.typeId === Type.Map && target.typeId === Type.Map && sameType(data.type.children[0]!.type.children[0]!.type, (target as Map_).children[0]!.type.children[0]!.type)) {
    return relabelMap(data, target as Map_);
  }
  if (sameType(data.type, target)) return data;
  throw new DataError(`${display}: column ${field.name} is ${String(data.type)} in the file but ${String(target)} in the table schema. Fix: rewrite the file (mixpanel-lakeflow repair) or restore the table schema.`, {
    code: 'LAKEHOUSE_DATA_FILE_TYPE',
    context: { column: field.name },
  });
}

function refuse(display: string, file: AddFile): void {
  if ((file as AddAction).deletionVector !== undefined) {
    throw unsupportedFeature(display, 'deletionVectors', 'read', 'read the table with an engine that applies deletion vectors (Spark, Databricks, delta-rs), or purge them there (REORG TABLE … APPLY (PURGE))');
  }
  if (isAbsoluteAddPath(file.path)) {
    throw new ConfigError(`${display}: data file ${file.path} is an absolute path (a shallow clone); mixpanel-lakeflow reads files inside the table folder only. Fix: deep-clone the table.`, {
      code: 'LAKEHOUSE_ABSOLUTE_PATH',
      context: { path: file.path },
    });
  }
}

export async function* readDataFile(store: ObjectStore, tableRoot: string, file: AddFile, options: ReadDataFileOptions = {}): AsyncGenerator<Table, void, undefined> {
  const root = tableRoot.replace(/\/+$/, '');
  const objectPath = joinPath(root, decodeAddPath(file.path));
  const display = `${store.displayUrl.replace(/\/+$/, '')}/${objectPath}`;
  refuse(display, file);
  const copy = await store.localCopy(objectPath);
  try {
    const { ParquetFile } = await loadParquetWasm();
    const parquet = await ParquetFile.fromFile(await openAsBlob(copy.file));
    try {
      const fileSchema = tableFromIPC(parquet.schema().intoIPCStream()).schema;
      const fileIndex = new Map(fileSchema.fields.map((f, i) => [f.name, i]));
      const partitionValues = file.partitionValues;
      const isPartition = (name: string) => Object.prototype.hasOwnProperty.call(partitionValues, name);
      const wanted = options.columns ? new Set(options.columns) : undefined;
      const outFields = options.schema
        ? options.schema.fields.filter((f) => !wanted || wanted.has(f.name))
        : [
            ...fileSchema.fields.filter((f) => (!wanted || wanted.has(f.name)) && !isPartition(f.name)),
            ...Object.keys(partitionValues)
              .filter((name) => wanted?.has(name))
              .map((name) => new Field(name, new Utf8(), true)),
          ];
      const sources: ColumnSource[] = outFields.map((field) => {
        if (isPartition(field.name)) return { kind: 'partition', field, text: partitionValues[field.name] ?? null };
        const index = fileIndex.get(field.name);
        return index === undefined ? { kind: 'missing', field } : { kind: 'file', field, index };
      });
      const read = sources.filter((s): s is Extract<ColumnSource, { kind: 'file' }> => s.kind === 'file').map((s) => s.field.name);
      const outSchema = new Schema(outFields, options.schema?.metadata ?? fileSchema.metadata);
      const constants = new Map(
        sources.flatMap((s) => (s.kind === 'partition' ? [[s.field.name, parsePartitionValue(s.field.name, s.text, s.field.type)] as const] : [])),
      );

      const metadata = parquet.metadata();
      const groups: number[] = [];
      try {
        for (let g = 0; g < metadata.numRowGroups(); g++) {
          const group = metadata.rowGroup(g);
          groups.push(group.numRows());
          group.free();
        }
      } finally {
        metadata.free();
      }
      for (let g = 0; g < groups.length; g++) {
        const rows = groups[g]!;
        let batches: { length: number; column: (name: string) => Data | undefined }[];
        if (read.length > 0) {
          const wasm = await parquet.read({ rowGroups: [g], columns: read, batchSize: Math.max(1, rows) });
          const table = tableFromIPC(wasm.intoIPCStream());
          batches = table.batches.map((batch) => ({ length: batch.numRows, column: (name: string) => batch.getChild(name)?.data[0] }));
        } else {
          batches = rows > 0 ? [{ length: rows, column: () => undefined }] : [];
        }
        const out = batches.map((batch) => {
          const children = sources.map((source) => {
            if (source.kind === 'partition') return constantColumn(source.field.name, source.field.type, constants.get(source.field.name)!, batch.length);
            if (source.kind === 'missing') return nullColumn(source.field.type, batch.length);
            const data = batch.column(source.field.name)!;
            return options.schema ? castColumn(data, source.field, display) : data;
          });
          return new RecordBatch(outSchema, makeData({ type: new Struct(outSchema.fields), length: batch.length, nullCount: 0, children }));
        });
        yield new Table(outSchema, out);
      }
    } finally {
      parquet.free();
    }
  } finally {
    await copy.release();
  }
}
