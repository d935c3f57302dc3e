/** Helpers to build a broken source from the correct fixture: delegate, rewrite batches, rewrite cursors. */
import { Field, Schema, Type, type RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../../arrow/columns.js';
import type { Cursor, LakeflowSource, ReadOptions, TableRead } from '../../types.js';
import { batchRows, type Row } from '../values.js';

/** A source that forwards every method to `base` unless `overrides` replaces it. */
export function delegate(base: LakeflowSource, overrides: Partial<LakeflowSource> = {}): LakeflowSource {
  return {
    name: base.name,
    listTables: overrides.listTables ?? (() => base.listTables()),
    getSchema: overrides.getSchema ?? ((t, o) => base.getSchema(t, o)),
    readTableMetadata: overrides.readTableMetadata ?? ((t, o) => base.readTableMetadata(t, o)),
    listTableOptions: overrides.listTableOptions ?? ((t) => base.listTableOptions(t)),
    readTable: overrides.readTable ?? ((t, c, o) => base.readTable(t, c, o)),
    close: async () => base.close?.(),
  };
}

/** Map the batches and the returned cursor of one call (validation stays synchronous: base is called first). */
export function mapCall(
  inner: TableRead,
  mapBatch: (batch: RecordBatch, index: number) => readonly RecordBatch[] = (b) => [b],
  mapCursor: (cursor: Cursor, yielded: number) => Cursor = (c) => c,
): TableRead {
  return (async function* () {
    let index = 0;
    let yielded = 0;
    for (;;) {
      const step = await inner.next();
      if (step.done === true) return mapCursor(step.value, yielded);
      for (const batch of mapBatch(step.value, index++)) {
        yielded++;
        yield batch;
      }
    }
  })();
}

/** Override readTable for one table only. */
export function forTable(
  base: LakeflowSource,
  table: string,
  read: (cursor: Cursor, options: ReadOptions | undefined) => TableRead,
): LakeflowSource {
  return delegate(base, { readTable: (t, c, o) => (t === table ? read(c, o) : base.readTable(t, c, o)) });
}

function plain(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field.type.typeId === Type.Map) return Object.entries((value as { toJSON(): Record<string, string | null> }).toJSON());
  return value;
}

/** Rebuild a batch from its records, optionally rewriting them and the schema. */
export function rebuildBatch(batch: RecordBatch, schema: Schema = batch.schema, map: (rows: Row[]) => Row[] = (r) => r): RecordBatch {
  const rows = map(batchRows(batch));
  return batchFromColumns(schema, schema.fields.map((f) => rows.map((r) => plain(f, r[f.name]))));
}

/** A copy of `schema` with one field replaced. */
export function replaceField(schema: Schema, name: string, field: Field): Schema {
  return new Schema(schema.fields.map((f) => (f.name === name ? field : f)), schema.metadata);
}
