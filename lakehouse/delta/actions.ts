/**
 * Delta log actions: the typed shapes, a parser from `unknown` (one JSON line of a commit file, or one row of a
 * checkpoint) and the serialisers our commits use. Parsers are tolerant as the protocol requires: unknown
 * fields are ignored, and unknown action kinds (`domainMetadata`, `cdc`, `checkpointMetadata`, `sidecar`, …)
 * come back as `other` and take no part in replay. A field we rely on with the wrong type is a corrupt log.
 */
import type { AddFile, Protocol, RemoveFile } from '../types.js';

export interface DeletionVectorDescriptor {
  readonly storageType: string;
  readonly pathOrInlineDv: string;
  readonly offset?: number;
  readonly sizeInBytes: number;
  readonly cardinality: number;
}

/** `add` as read from a log (our AddFile plus the fields other writers may set). */
export interface AddAction extends AddFile {
  readonly deletionVector?: DeletionVectorDescriptor;
  readonly baseRowId?: number;
  readonly defaultRowCommitVersion?: number;
}

export interface RemoveAction extends RemoveFile {
  readonly extendedFileMetadata?: boolean;
  readonly deletionVector?: DeletionVectorDescriptor;
  readonly stats?: string;
}

export interface MetadataAction {
  readonly id: string;
  readonly name?: string;
  readonly description?: string;
  readonly format: { readonly provider: string; readonly options: Readonly<Record<string, string>> };
  /** Absent in a few very old tables (the golden `corrupted-last-checkpoint`): read as an empty struct. */
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly createdTime?: number;
}

export type ProtocolAction = Protocol;

export interface TxnAction {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number;
}

export type CommitInfoAction = Readonly<Record<string, unknown>>;

export type Action =
  | { readonly kind: 'add'; readonly add: AddAction }
  | { readonly kind: 'remove'; readonly remove: RemoveAction }
  | { readonly kind: 'metaData'; readonly metaData: MetadataAction }
  | { readonly kind: 'protocol'; readonly protocol: ProtocolAction }
  | { readonly kind: 'txn'; readonly txn: TxnAction }
  | { readonly kind: 'commitInfo'; readonly commitInfo: CommitInfoAction }
  /** An action this reader does not interpret (`cdc`, `domainMetadata`, `sidecar`, `checkpointMetadata`, …). */
  | { readonly kind: 'other'; readonly name: string };

export const EMPTY_SCHEMA_STRING = '{"type":"struct","fields":[]}';

/** Why a value could not be read as an action; the caller names the file. */
export class ActionParseError extends Error {}

type Obj = Readonly<Record<string, unknown>>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A Delta long: a JSON number, or a bigint from a checkpoint. */
function num(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function requireStr(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ActionParseError(`${what} is not a string`);
  return value;
}

function requireNum(value: unknown, what: string): number {
  const n = num(value);
  if (n === undefined) throw new ActionParseError(`${what} is not a number`);
  return n;
}

/** Map<string,string|null> from a JSON object, a JS Map, or an array of {key, value} (checkpoint rows). */
export function stringMap(value: unknown, what: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (value === null || value === undefined) return out;
  if (value instanceof Map) {
    for (const [k, v] of value) out[String(k)] = v === null || v === undefined ? null : String(v);
    return out;
  }
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!isObj(entry)) throw new ActionParseError(`${what} has a malformed entry`);
      const v = entry['value'];
      out[requireStr(entry['key'], `${what} key`)] = v === null || v === undefined ? null : String(v);
    }
    return out;
  }
  if (!isObj(value)) throw new ActionParseError(`${what} is not a map`);
  for (const key in value) {
    const v = value[key];
    out[key] = v === null || v === undefined ? null : typeof v === 'string' ? v : String(v);
  }
  return out;
}

/** Like stringMap, without nulls (configuration, tags, options). */
function stringMapNoNull(value: unknown, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parsed = stringMap(value, what);
  for (const key of Object.keys(parsed)) {
    const v = parsed[key];
    if (v !== null && v !== undefined) out[key] = v;
  }
  return out;
}

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Array.isArray(value)) throw new ActionParseError(`${what} is not a list`);
  return value.map((item, i) => requireStr(item, `${what}[${i}]`));
}

const NUM_RECORDS = /"numRecords"\s*:\s*(\d+)/;

/** `numRecords` of a stats JSON text, without parsing the whole text (it can hold long min/max strings). */
export function numRecordsOf(stats: string | undefined): number | undefined {
  if (stats === undefined) return undefined;
  const match = NUM_RECORDS.exec(stats);
  return match ? Number(match[1]) : undefined;
}

function parseDv(value: unknown): DeletionVectorDescriptor | undefined {
  if (!isObj(value)) return undefined;
  const offset = num(value['offset']);
  return {
    storageType: requireStr(value['storageType'], 'deletionVector.storageType'),
    pathOrInlineDv: requireStr(value['pathOrInlineDv'], 'deletionVector.pathOrInlineDv'),
    ...(offset === undefined ? {} : { offset }),
    sizeInBytes: num(value['sizeInBytes']) ?? 0,
    cardinality: num(value['cardinality']) ?? 0,
  };
}

/** The unique id of a deletion vector (`''` for none), as Action Reconciliation keys logical files. */
export function dvId(dv: DeletionVectorDescriptor | undefined): string {
  if (!dv) return '';
  return dv.offset === undefined ? `${dv.storageType}${dv.pathOrInlineDv}` : `${dv.storageType}${dv.pathOrInlineDv}@${dv.offset}`;
}

export function parseAdd(value: Obj): AddAction {
  // Built by assignment, not spreads: this runs once per file of a checkpoint (10k+ times per snapshot).
  const add: { -readonly [K in keyof AddAction]: AddAction[K] } = {
    path: requireStr(value['path'], 'add.path'),
    partitionValues: stringMap(value['partitionValues'], 'add.partitionValues'),
    size: num(value['size']) ?? 0,
    modificationTime: num(value['modificationTime']) ?? 0,
    dataChange: bool(value['dataChange']) ?? true,
  };
  const stats = str(value['stats']);
  if (stats !== undefined) {
    add.stats = stats;
    const numRecords = numRecordsOf(stats);
    if (numRecords !== undefined) add.numRecords = numRecords;
  }
  const tags = value['tags'];
  if (tags !== null && tags !== undefined) add.tags = stringMapNoNull(tags, 'add.tags');
  const dv = parseDv(value['deletionVector']);
  if (dv) add.deletionVector = dv;
  const baseRowId = num(value['baseRowId']);
  if (baseRowId !== undefined) add.baseRowId = baseRowId;
  const defaultRowCommitVersion = num(value['defaultRowCommitVersion']);
  if (defaultRowCommitVersion !== undefined) add.defaultRowCommitVersion = defaultRowCommitVersion;
  return add;
}

export function parseRemove(value: Obj): RemoveAction {
  const dv = parseDv(value['deletionVector']);
  const size = num(value['size']);
  const pv = value['partitionValues'];
  const ext = bool(value['extendedFileMetadata']);
  return {
    path: requireStr(value['path'], 'remove.path'),
    // Optional in the protocol; a tombstone without a timestamp is as old as it gets (Spark reads 0 too).
    deletionTimestamp: num(value['deletionTimestamp']) ?? 0,
    dataChange: bool(value['dataChange']) ?? true,
    ...(ext === undefined ? {} : { extendedFileMetadata: ext }),
    ...(pv === null || pv === undefined ? {} : { partitionValues: stringMap(pv, 'remove.partitionValues') }),
    ...(size === undefined ? {} : { size }),
    ...(dv ? { deletionVector: dv } : {}),
  };
}

export function parseMetadata(value: Obj): MetadataAction {
  const format = isObj(value['format']) ? value['format'] : {};
  const name = str(value['name']);
  const description = str(value['description']);
  const createdTime = num(value['createdTime']);
  return {
    id: requireStr(value['id'], 'metaData.id'),
    ...(name === undefined ? {} : { name }),
    ...(description === undefined ? {} : { description }),
    format: { provider: str(format['provider']) ?? 'parquet', options: stringMapNoNull(format['options'], 'metaData.format.options') },
    schemaString: str(value['schemaString']) ?? EMPTY_SCHEMA_STRING,
    partitionColumns: stringList(value['partitionColumns'], 'metaData.partitionColumns') ?? [],
    configuration: stringMapNoNull(value['configuration'], 'metaData.configuration'),
    ...(createdTime === undefined ? {} : { createdTime }),
  };
}

export function parseProtocol(value: Obj): ProtocolAction {
  const readerFeatures = stringList(value['readerFeatures'], 'protocol.readerFeatures');
  const writerFeatures = stringList(value['writerFeatures'], 'protocol.writerFeatures');
  return {
    minReaderVersion: requireNum(value['minReaderVersion'], 'protocol.minReaderVersion'),
    minWriterVersion: requireNum(value['minWriterVersion'], 'protocol.minWriterVersion'),
    ...(readerFeatures === undefined ? {} : { readerFeatures }),
    ...(writerFeatures === undefined ? {} : { writerFeatures }),
  };
}

export function parseTxn(value: Obj): TxnAction {
  const lastUpdated = num(value['lastUpdated']);
  return {
    appId: requireStr(value['appId'], 'txn.appId'),
    version: requireNum(value['version'], 'txn.version'),
    ...(lastUpdated === undefined ? {} : { lastUpdated }),
  };
}

/** One action from its wrapper object (`{"add": {...}}`); throws ActionParseError on a malformed known action. */
export function parseAction(value: unknown): Action {
  if (!isObj(value)) throw new ActionParseError('a log line is not a JSON object');
  for (const key of Object.keys(value)) {
    const body = value[key];
    if (body === null || body === undefined) continue;
    switch (key) {
      case 'add':
        if (!isObj(body)) throw new ActionParseError('add is not an object');
        return { kind: 'add', add: parseAdd(body) };
      case 'remove':
        if (!isObj(body)) throw new ActionParseError('remove is not an object');
        return { kind: 'remove', remove: parseRemove(body) };
      case 'metaData':
        if (!isObj(body)) throw new ActionParseError('metaData is not an object');
        return { kind: 'metaData', metaData: parseMetadata(body) };
      case 'protocol':
        if (!isObj(body)) throw new ActionParseError('protocol is not an object');
        return { kind: 'protocol', protocol: parseProtocol(body) };
      case 'txn':
        if (!isObj(body)) throw new ActionParseError('txn is not an object');
        return { kind: 'txn', txn: parseTxn(body) };
      case 'commitInfo':
        return { kind: 'commitInfo', commitInfo: isObj(body) ? body : {} };
      default:
        return { kind: 'other', name: key };
    }
  }
  return { kind: 'other', name: '' };
}

const decoder = new TextDecoder();

/**
 * Every action of a commit file (newline-delimited JSON; blank lines ignored). Throws ActionParseError naming
 * the line when a line is not JSON or a known action is malformed.
 */
export function parseCommitFile(bytes: Uint8Array | string): Action[] {
  const text = typeof bytes === 'string' ? bytes : decoder.decode(bytes);
  const actions: Action[] = [];
  let start = 0;
  let line = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line += 1;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if (raw === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new ActionParseError(`line ${line} is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    try {
      actions.push(parseAction(parsed));
    } catch (error) {
      throw new ActionParseError(`line ${line}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return actions;
}

// ---- serialisers: fixed key order, only Delta fields (never our parsed `numRecords`) ----

export function addJson(add: AddFile): Record<string, unknown> {
  return {
    path: add.path,
    partitionValues: add.partitionValues,
    size: add.size,
    modificationTime: add.modificationTime,
    dataChange: add.dataChange,
    ...(add.stats === undefined ? {} : { stats: add.stats }),
    ...(add.tags === undefined ? {} : { tags: add.tags }),
  };
}

/** The `remove` for a live file, as our commits write it. */
export function removeJson(file: AddFile, deletionTimestamp: number, dataChange: boolean): Record<string, unknown> {
  return {
    path: file.path,
    deletionTimestamp,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: file.partitionValues,
    size: file.size,
  };
}

export function protocolJson(protocol: ProtocolAction): Record<string, unknown> {
  return {
    minReaderVersion: protocol.minReaderVersion,
    minWriterVersion: protocol.minWriterVersion,
    ...(protocol.readerFeatures === undefined ? {} : { readerFeatures: protocol.readerFeatures }),
    ...(protocol.writerFeatures === undefined ? {} : { writerFeatures: protocol.writerFeatures }),
  };
}

export function metadataJson(metadata: MetadataAction): Record<string, unknown> {
  return {
    id: metadata.id,
    ...(metadata.name === undefined ? {} : { name: metadata.name }),
    ...(metadata.description === undefined ? {} : { description: metadata.description }),
    format: metadata.format,
    schemaString: metadata.schemaString,
    partitionColumns: metadata.partitionColumns,
    configuration: metadata.configuration,
    ...(metadata.createdTime === undefined ? {} : { createdTime: metadata.createdTime }),
  };
}

export function txnJson(txn: TxnAction): Record<string, unknown> {
  return { appId: txn.appId, version: txn.version, ...(txn.lastUpdated === undefined ? {} : { lastUpdated: txn.lastUpdated }) };
}

/** One line of a commit file. */
export function actionLine(kind: string, body: unknown): string {
  return JSON.stringify({ [kind]: body });
}
