/**
 * MAP<Utf8, Utf8> from flat, batch-wide key/value arrays plus row offsets: no per-row entry tuples (the events
 * hot path). Same Arrow layout as `utf8MapData` in connector-spec.
 */
import { RecordBatch, Struct, makeData, type Data, type Map_, type Schema, type Utf8 } from 'apache-arrow';
import { columnData, utf8Data, utf8MapType, type ColumnValues } from '../../../connector-spec/index.js';

/** `offsets` has n + 1 entries; row i owns entries [offsets[i], offsets[i+1]). No null maps. */
export function utf8MapFromFlat(keys: readonly string[], values: readonly (string | null)[], offsets: Int32Array, type: Map_<Utf8, Utf8> = utf8MapType()): Data<Map_<Utf8, Utf8>> {
  const n = offsets.length - 1;
  const entriesType = type.children[0]!.type as Struct;
  const entries = makeData({ type: entriesType, length: keys.length, nullCount: 0, children: [utf8Data(keys), utf8Data(values)] });
  return makeData({ type, length: n, nullCount: 0, valueOffsets: offsets, child: entries });
}

/** A RecordBatch whose last field is a prebuilt column (the map) and the others JS value arrays. */
export function batchWithLastColumn(schema: Schema, columns: readonly ColumnValues[], last: Data): RecordBatch {
  const fields = schema.fields;
  if (columns.length !== fields.length - 1) throw new TypeError(`batchWithLastColumn: ${columns.length} columns for ${fields.length - 1} fields`);
  const length = last.length;
  const children = columns.map((values, i) => {
    if (values.length !== length) throw new TypeError(`batchWithLastColumn: column ${fields[i]!.name} has ${values.length} rows, expected ${length}`);
    return columnData(fields[i]!.type, values);
  });
  children.push(last);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children }));
}
