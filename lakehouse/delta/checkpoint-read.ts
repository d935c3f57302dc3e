/**
 * Read a classic (or multi-part) Parquet checkpoint into actions: parquet-wasm → apache-arrow struct columns
 * (`add`, `remove`, `metaData`, `protocol`, `txn`; every other column such as `domainMetadata` or
 * `commitInfo` is ignored). `add`/`remove` rows are decoded straight from the Arrow buffers (paths, sizes,
 * partition-value maps): going through apache-arrow's row proxies costs ~20× more at 10k files.
 */
import { makeVector, tableFromIPC, type Data, type RecordBatch, type Struct } from 'apache-arrow';
import { loadParquetWasm } from '../parquet/parquet-wasm.js';
import { parseAdd, parseMetadata, parseProtocol, parseRemove, parseTxn, type Action } from './actions.js';

const decoder = new TextDecoder();

type AnyData = Data;

function valid(data: AnyData, i: number): boolean {
  return data.nullCount === 0 || data.getValid(i);
}

function childByName(struct: AnyData, name: string): AnyData | undefined {
  const fields = (struct.type as Struct).children;
  const index = fields.findIndex((f) => f.name === name);
  return index < 0 ? undefined : struct.children[index];
}

function utf8(data: AnyData | undefined, i: number): string | undefined {
  if (!data || !valid(data, i)) return undefined;
  const offsets = data.valueOffsets as Int32Array;
  return decoder.decode((data.values as Uint8Array).subarray(offsets[i], offsets[i + 1]));
}

function int(data: AnyData | undefined, i: number): number | undefined {
  if (!data || !valid(data, i)) return undefined;
  const value = (data.values as BigInt64Array | Int32Array)[i];
  return value === undefined ? undefined : Number(value);
}

function bool(data: AnyData | undefined, i: number): boolean | undefined {
  if (!data || !valid(data, i)) return undefined;
  const bit = data.offset + i;
  return (((data.values as Uint8Array)[bit >> 3] as number) & (1 << (bit & 7))) !== 0;
}

/** Map<Utf8, Utf8> row as a plain object (undefined when the map is null). */
function utf8Map(data: AnyData | undefined, i: number): Record<string, string | null> | undefined {
  if (!data || !valid(data, i)) return undefined;
  const offsets = data.valueOffsets as Int32Array;
  const entries = data.children[0] as AnyData;
  const keys = entries.children[0] as AnyData;
  const values = entries.children[1] as AnyData;
  const out: Record<string, string | null> = {};
  for (let j = offsets[i] as number; j < (offsets[i + 1] as number); j++) out[utf8(keys, j) ?? ''] = utf8(values, j) ?? null;
  return out;
}

/** apache-arrow row values (StructRow, MapRow, Vector, bigint) as plain JSON-like values. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'object') return value;
  if (Symbol.iterator in value && typeof (value as { toArray?: unknown }).toArray === 'function') {
    return [...(value as Iterable<unknown>)].map(plain);
  }
  const json = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): unknown }).toJSON() : value;
  if (json instanceof Map) return Object.fromEntries([...json].map(([k, v]) => [String(k), plain(v)]));
  if (typeof json !== 'object' || json === null) return json;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(json)) out[key] = plain((json as Record<string, unknown>)[key]);
  return out;
}

/** Rows of one struct column as plain objects (for the few protocol/metaData/txn rows). */
function slowRow(data: AnyData, i: number): Record<string, unknown> {
  return plain(makeVector(data).get(i)) as Record<string, unknown>;
}

function batchActions(batch: RecordBatch, out: Action[]): void {
  const column = (name: string): AnyData | undefined => {
    const index = batch.schema.fields.findIndex((f) => f.name === name);
    return index < 0 ? undefined : batch.data.children[index];
  };
  const add = column('add');
  const remove = column('remove');
  const metaData = column('metaData');
  const protocol = column('protocol');
  const txn = column('txn');
  const add_ = add && {
    path: childByName(add, 'path'),
    partitionValues: childByName(add, 'partitionValues'),
    size: childByName(add, 'size'),
    modificationTime: childByName(add, 'modificationTime'),
    dataChange: childByName(add, 'dataChange'),
    stats: childByName(add, 'stats'),
    tags: childByName(add, 'tags'),
    deletionVector: childByName(add, 'deletionVector'),
  };
  const remove_ = remove && {
    path: childByName(remove, 'path'),
    deletionTimestamp: childByName(remove, 'deletionTimestamp'),
    dataChange: childByName(remove, 'dataChange'),
    extendedFileMetadata: childByName(remove, 'extendedFileMetadata'),
    partitionValues: childByName(remove, 'partitionValues'),
    size: childByName(remove, 'size'),
    deletionVector: childByName(remove, 'deletionVector'),
  };
  // The buffer fast path reads IPC-fresh columns (offset 0, as parquet-wasm hands them over); anything else
  // goes through apache-arrow's row accessors.
  const fast = (add?.offset ?? 0) === 0 && (remove?.offset ?? 0) === 0;
  for (let i = 0; i < batch.numRows; i++) {
    if (!fast) {
      if (add && valid(add, i)) out.push({ kind: 'add', add: parseAdd(slowRow(add, i)) });
      else if (remove && valid(remove, i)) out.push({ kind: 'remove', remove: parseRemove(slowRow(remove, i)) });
      else if (metaData && valid(metaData, i)) out.push({ kind: 'metaData', metaData: parseMetadata(slowRow(metaData, i)) });
      else if (protocol && valid(protocol, i)) out.push({ kind: 'protocol', protocol: parseProtocol(slowRow(protocol, i)) });
      else if (txn && valid(txn, i)) out.push({ kind: 'txn', txn: parseTxn(slowRow(txn, i)) });
      continue;
    }
    if (add && add_ && valid(add, i)) {
      out.push({
        kind: 'add',
        add: parseAdd({
          path: utf8(add_.path, i),
          partitionValues: utf8Map(add_.partitionValues, i),
          size: int(add_.size, i),
          modificationTime: int(add_.modificationTime, i),
          dataChange: bool(add_.dataChange, i),
          stats: utf8(add_.stats, i),
          tags: utf8Map(add_.tags, i),
          deletionVector: add_.deletionVector && valid(add_.deletionVector, i) ? slowRow(add_.deletionVector, i) : undefined,
        }),
      });
    } else if (remove && remove_ && valid(remove, i)) {
      out.push({
        kind: 'remove',
        remove: parseRemove({
          path: utf8(remove_.path, i),
          deletionTimestamp: int(remove_.deletionTimestamp, i),
          dataChange: bool(remove_.dataChange, i),
          extendedFileMetadata: bool(remove_.extendedFileMetadata, i),
          partitionValues: utf8Map(remove_.partitionValues, i),
          size: int(remove_.size, i),
          deletionVector: remove_.deletionVector && valid(remove_.deletionVector, i) ? slowRow(remove_.deletionVector, i) : undefined,
        }),
      });
    } else if (metaData && valid(metaData, i)) {
      out.push({ kind: 'metaData', metaData: parseMetadata(slowRow(metaData, i)) });
    } else if (protocol && valid(protocol, i)) {
      out.push({ kind: 'protocol', protocol: parseProtocol(slowRow(protocol, i)) });
    } else if (txn && valid(txn, i)) {
      out.push({ kind: 'txn', txn: parseTxn(slowRow(txn, i)) });
    }
  }
}

/** Every action of a checkpoint (all parts, in order). Throws on bytes that are not a readable Parquet file. */
export async function checkpointActions(parts: readonly Uint8Array[]): Promise<Action[]> {
  const { readParquet } = await loadParquetWasm();
  const out: Action[] = [];
  for (const bytes of parts) {
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    for (const batch of table.batches) batchActions(batch, out);
  }
  return out;
}
