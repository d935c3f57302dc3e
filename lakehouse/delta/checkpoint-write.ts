/**
 * Write a classic V1 checkpoint (`%020d.checkpoint.parquet`): one row per action, the actions as nullable
 * struct columns with the protocol's checkpoint schema (txn, add, remove, metaData, protocol); `add.stats` as a
 * JSON string; `remove` without stats or tags. Columns are built straight into Arrow buffers (the connector-spec
 * column helpers) and encoded by parquet-wasm with Snappy, which every Delta reader decodes.
 */
import {
  Bool,
  Field,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableToIPC,
  type Data,
  type DataType,
} from 'apache-arrow';
import { boolData, int32Data, int64Data, utf8Data, utf8MapData, utf8MapType } from '../../connector-spec/index.js';
import { loadParquetWasm } from '../parquet/parquet-wasm.js';
import type { AddAction, MetadataAction, ProtocolAction, RemoveAction } from './actions.js';
import type { TxnState } from './log-state.js';

export interface CheckpointContent {
  readonly protocol: ProtocolAction;
  readonly metadata: MetadataAction;
  readonly txns: ReadonlyMap<string, TxnState>;
  readonly files: Iterable<AddAction>;
  /** Tombstones not yet expired. */
  readonly tombstones: Iterable<RemoveAction>;
}

export interface WrittenCheckpoint {
  readonly bytes: Uint8Array;
  /** Rows (actions) in the checkpoint. */
  readonly size: number;
  readonly numOfAddFiles: number;
}

const f = (name: string, type: DataType, nullable = true): Field => new Field(name, type, nullable);
const stringList = (): List<Utf8> => new List(new Field('element', new Utf8(), true));

const TXN = new Struct([f('appId', new Utf8()), f('version', new Int64()), f('lastUpdated', new Int64())]);
const ADD = new Struct([
  f('path', new Utf8()),
  f('partitionValues', utf8MapType()),
  f('size', new Int64()),
  f('modificationTime', new Int64()),
  f('dataChange', new Bool()),
  f('stats', new Utf8()),
  f('tags', utf8MapType()),
]);
const REMOVE = new Struct([
  f('path', new Utf8()),
  f('deletionTimestamp', new Int64()),
  f('dataChange', new Bool()),
  f('extendedFileMetadata', new Bool()),
  f('partitionValues', utf8MapType()),
  f('size', new Int64()),
]);
const FORMAT = new Struct([f('provider', new Utf8()), f('options', utf8MapType())]);
const METADATA = new Struct([
  f('id', new Utf8()),
  f('name', new Utf8()),
  f('description', new Utf8()),
  f('format', FORMAT),
  f('schemaString', new Utf8()),
  f('partitionColumns', stringList()),
  f('configuration', utf8MapType()),
  f('createdTime', new Int64()),
]);
const PROTOCOL = new Struct([f('minReaderVersion', new Int32()), f('minWriterVersion', new Int32()), f('readerFeatures', stringList()), f('writerFeatures', stringList())]);

/** The checkpoint's Arrow schema (exported for tests). */
export const CHECKPOINT_SCHEMA = new Schema([f('txn', TXN), f('add', ADD), f('remove', REMOVE), f('metaData', METADATA), f('protocol', PROTOCOL)]);

function validity(present: readonly boolean[]): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  const bitmap = new Uint8Array((present.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < present.length; i++) {
    if (present[i]) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    else nullCount++;
  }
  return { nullBitmap: nullCount > 0 ? bitmap : undefined, nullCount };
}

function structData(type: Struct, present: readonly boolean[], children: readonly Data[]): Data<Struct> {
  const { nullBitmap, nullCount } = validity(present);
  return makeData({ type, length: present.length, nullCount, nullBitmap, children: [...children] });
}

function stringListData(rows: readonly (readonly string[] | null | undefined)[]): Data<List<Utf8>> {
  const offsets = new Int32Array(rows.length + 1);
  const flat: string[] = [];
  const present: boolean[] = [];
  rows.forEach((row, i) => {
    present.push(row != null);
    if (row) flat.push(...row);
    offsets[i + 1] = flat.length;
  });
  const { nullBitmap, nullCount } = validity(present);
  return makeData({ type: stringList(), length: rows.length, nullCount, nullBitmap, valueOffsets: offsets, child: utf8Data(flat) });
}

type Entries = readonly (readonly [string, string | null])[];
const entries = (record: Readonly<Record<string, string | null>> | undefined): Entries | null => (record ? Object.entries(record) : null);

/** Encode the checkpoint (nothing is written to storage here). */
export async function encodeCheckpoint(content: CheckpointContent): Promise<WrittenCheckpoint> {
  const txns = [...content.txns].map(([appId, txn]) => ({ appId, ...txn }));
  const adds = [...content.files];
  const removes = [...content.tombstones];
  // Row order: protocol, metaData, txns, adds, removes.
  const n = 2 + txns.length + adds.length + removes.length;
  const txnStart = 2;
  const addStart = txnStart + txns.length;
  const removeStart = addStart + adds.length;
  const at = <T>(start: number, list: readonly T[], i: number): T | undefined => (i >= start && i < start + list.length ? list[i - start] : undefined);
  const rows = Array.from({ length: n }, (_, i) => i);

  const txnRows = rows.map((i) => at(txnStart, txns, i));
  const txnData = structData(
    TXN,
    txnRows.map((t) => t !== undefined),
    [utf8Data(txnRows.map((t) => t?.appId)), int64Data(txnRows.map((t) => t?.version)), int64Data(txnRows.map((t) => t?.lastUpdated))],
  );

  const addRows = rows.map((i) => at(addStart, adds, i));
  const addData = structData(
    ADD,
    addRows.map((a) => a !== undefined),
    [
      utf8Data(addRows.map((a) => a?.path)),
      utf8MapData(addRows.map((a) => (a ? entries(a.partitionValues) : null))),
      int64Data(addRows.map((a) => a?.size)),
      int64Data(addRows.map((a) => a?.modificationTime)),
      boolData(addRows.map((a) => a?.dataChange)),
      utf8Data(addRows.map((a) => a?.stats)),
      utf8MapData(addRows.map((a) => entries(a?.tags))),
    ],
  );

  const removeRows = rows.map((i) => at(removeStart, removes, i));
  const removeData = structData(
    REMOVE,
    removeRows.map((r) => r !== undefined),
    [
      utf8Data(removeRows.map((r) => r?.path)),
      int64Data(removeRows.map((r) => r?.deletionTimestamp)),
      boolData(removeRows.map((r) => r?.dataChange)),
      boolData(removeRows.map((r) => (r ? (r.extendedFileMetadata ?? (r.partitionValues !== undefined && r.size !== undefined)) : undefined))),
      utf8MapData(removeRows.map((r) => entries(r?.partitionValues))),
      int64Data(removeRows.map((r) => r?.size)),
    ],
  );

  const meta = content.metadata;
  const metaRows = rows.map((i) => (i === 1 ? meta : undefined));
  const metaData = structData(
    METADATA,
    metaRows.map((m) => m !== undefined),
    [
      utf8Data(metaRows.map((m) => m?.id)),
      utf8Data(metaRows.map((m) => m?.name)),
      utf8Data(metaRows.map((m) => m?.description)),
      structData(
        FORMAT,
        metaRows.map((m) => m !== undefined),
        [utf8Data(metaRows.map((m) => m?.format.provider)), utf8MapData(metaRows.map((m) => entries(m?.format.options)))],
      ),
      utf8Data(metaRows.map((m) => m?.schemaString)),
      stringListData(metaRows.map((m) => m?.partitionColumns)),
      utf8MapData(metaRows.map((m) => entries(m?.configuration))),
      int64Data(metaRows.map((m) => m?.createdTime)),
    ],
  );

  const proto = content.protocol;
  const protoRows = rows.map((i) => (i === 0 ? proto : undefined));
  const protocolData = structData(
    PROTOCOL,
    protoRows.map((p) => p !== undefined),
    [
      int32Data(protoRows.map((p) => p?.minReaderVersion)),
      int32Data(protoRows.map((p) => p?.minWriterVersion)),
      stringListData(protoRows.map((p) => p?.readerFeatures)),
      stringListData(protoRows.map((p) => p?.writerFeatures)),
    ],
  );

  const batchData = makeData({ type: new Struct(CHECKPOINT_SCHEMA.fields), length: n, nullCount: 0, children: [txnData, addData, removeData, metaData, protocolData] });
  const table = new Table([new RecordBatch(CHECKPOINT_SCHEMA, batchData)]);
  const wasm = await loadParquetWasm();
  const input = wasm.Table.fromIPCStream(tableToIPC(table, 'stream'));
  const props = new wasm.WriterPropertiesBuilder().setCompression(wasm.Compression.SNAPPY).setCreatedBy('mixpanel-lakeflow (parquet-wasm)').build();
  const bytes = wasm.writeParquet(input, props);
  return { bytes, size: n, numOfAddFiles: adds.length };
}

/** `_last_checkpoint` text. */
export function lastCheckpointJson(version: number, written: WrittenCheckpoint): string {
  return JSON.stringify({ version, size: written.size, sizeInBytes: written.bytes.byteLength, numOfAddFiles: written.numOfAddFiles });
}
