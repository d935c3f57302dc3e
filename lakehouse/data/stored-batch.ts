/**
 * From a batch of a table's logical rows to the batch stored in its data file, over the buffers: partition
 * columns are checked against the file's partition values and dropped (readers take them from the log), every
 * timestamp becomes Timestamp(MICROSECOND, 'UTC'), every other column passes through untouched (same buffers).
 * The layout is planned once per file from `DataFileOptions.schema`; a batch is matched to it by column name.
 */
import { Field, RecordBatch, Schema, Struct, Type, Utf8, makeData, type Data, type DataType, type Timestamp } from 'apache-arrow';
import { InternalError } from '../../connector-spec/index.js';
import { assertPartitionColumn, parsePartitionValue, type PartitionScalar } from './partition-columns.js';
import { MICROS_UTC, toMicrosUtc } from './timestamps.js';

export interface PartitionColumn {
  readonly name: string;
  readonly type: DataType;
  /** The Delta string form (null for a null partition). */
  readonly text: string | null;
  readonly value: PartitionScalar;
}

export interface StoredLayout {
  /** The file's schema: the logical schema without partition columns, timestamps as µs UTC, metadata kept. */
  readonly schema: Schema;
  readonly partitions: readonly PartitionColumn[];
}

/** The stored type of a logical column type. */
function storedType(type: DataType): DataType {
  return type.typeId === Type.Timestamp ? MICROS_UTC() : type;
}

/**
 * The layout of a file of `partitionValues` (in the table's partition column order). A partition column absent
 * from `schema` is typed as a string.
 */
export function planStoredLayout(schema: Schema, partitionValues: Readonly<Record<string, string | null>>): StoredLayout {
  const partitions: PartitionColumn[] = Object.entries(partitionValues).map(([name, text]) => {
    const type = schema.fields.find((f) => f.name === name)?.type ?? new Utf8();
    return { name, type, text, value: parsePartitionValue(name, text, type) };
  });
  const partitionNames = new Set(Object.keys(partitionValues));
  const fields = schema.fields
    .filter((f) => !partitionNames.has(f.name))
    .map((f) => (f.type.typeId === Type.Timestamp ? new Field(f.name, storedType(f.type), f.nullable, f.metadata) : f));
  return { schema: new Schema(fields, schema.metadata), partitions };
}

/**
 * The stored batch of `batch`. Throws InternalError when a column of the layout is missing from the batch or
 * has another type, or when a partition column holds another value than the file's.
 */
export function storedBatch(batch: RecordBatch, layout: StoredLayout): RecordBatch {
  const index = new Map<string, number>();
  batch.schema.fields.forEach((f, i) => index.set(f.name, i));
  for (const partition of layout.partitions) {
    const at = index.get(partition.name);
    if (at !== undefined) assertPartitionColumn(partition.name, batch.data.children[at]!, partition.value, partition.text);
  }
  const children: Data[] = layout.schema.fields.map((field) => {
    const at = index.get(field.name);
    if (at === undefined) {
      throw new InternalError(`data file batch has no column ${field.name}; every batch must carry the columns of the file's schema`, {
        code: 'LAKEHOUSE_BATCH_SCHEMA',
        context: { column: field.name },
      });
    }
    const data = batch.data.children[at]!;
    if (data.type.typeId !== field.type.typeId) {
      throw new InternalError(`data file batch column ${field.name} is ${String(data.type)}, the file's schema says ${String(field.type)}`, {
        code: 'LAKEHOUSE_BATCH_SCHEMA',
        context: { column: field.name },
      });
    }
    return data.type.typeId === Type.Timestamp ? toMicrosUtc(data as Data<Timestamp>) : data;
  });
  return new RecordBatch(layout.schema, makeData({ type: new Struct(layout.schema.fields), length: batch.numRows, nullCount: 0, children }));
}
