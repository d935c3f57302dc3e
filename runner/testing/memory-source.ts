/**
 * An in-memory LakeflowSource for runner tests: real Arrow batches over several calls with an offset
 * cursor, the four ingestion shapes (cdc, partitioned cdc with a two-column sequence, append, snapshot)
 * and scriptable failures (transient, 429, not entitled, data error) after a chosen number of batches.
 * Data is a pure function of the dataset options, so a child process rebuilds the same source.
 */
import { Field, Int64, Schema, Utf8, type RecordBatch } from 'apache-arrow';
import {
  ConfigError,
  DataError,
  NotEntitledError,
  RateLimitError,
  TransientError,
  batchFromColumns,
  readTableMetadataFromSchema,
  timestampMsUtc,
  utf8MapType,
  withTableMetadata,
  type Cursor,
  type LakeflowSource,
  type ReadOptions,
  type TableMetadata,
  type TableOptionSpec,
  type TableRead,
} from '../../connector-spec/index.js';

export const BASE_MS = Date.UTC(2026, 10, 15);

export interface ItemChange {
  readonly id: string;
  readonly updatedAt: number;
  readonly value: bigint;
  readonly label: string | null;
  readonly props: readonly (readonly [string, string | null])[] | null;
}

export interface EventRow {
  readonly eventId: string;
  readonly time: number;
  readonly eventDate: string;
  readonly processedAt: bigint;
  readonly name: string;
}

export interface LogRow {
  readonly seq: bigint;
  readonly message: string;
  readonly at: number;
}

export interface MemberRow {
  readonly groupId: string;
  readonly memberId: string;
}

export interface FixtureDataset {
  readonly items: readonly ItemChange[];
  readonly events: readonly EventRow[];
  readonly logs: readonly LogRow[];
  readonly members: readonly MemberRow[];
}

export interface DatasetOptions {
  readonly itemChanges?: number;
  readonly itemKeys?: number;
  readonly events?: number;
  readonly logs?: number;
  readonly members?: number;
  /** Changes snapshot membership (joins/leaves between runs). */
  readonly generation?: number;
  /** Serve the events round robin over their days (every batch then holds rows of many partitions). */
  readonly interleaveEventDays?: boolean;
}

/** `events` reordered round robin over their `eventDate`s: the first of each day, then the second of each, … */
function interleavedByDay(events: readonly EventRow[]): EventRow[] {
  const byDay = new Map<string, EventRow[]>();
  for (const e of events) {
    const rows = byDay.get(e.eventDate);
    if (rows) rows.push(e);
    else byDay.set(e.eventDate, [e]);
  }
  const out: EventRow[] = [];
  for (let k = 0; out.length < events.length; k++) for (const rows of byDay.values()) if (k < rows.length) out.push(rows[k]!);
  return out;
}

/** Deterministic data: duplicate keys within and across calls, late (older) versions arriving after newer ones. */
export function makeDataset(options: DatasetOptions = {}): FixtureDataset {
  const itemChanges = options.itemChanges ?? 400;
  const itemKeys = options.itemKeys ?? 120;
  const items: ItemChange[] = [];
  for (let i = 0; i < itemChanges; i++) {
    const key = (i * 7919) % itemKeys;
    // Every 5th change is a late arrival: an older version than the ones already seen.
    const late = i % 5 === 4;
    items.push({
      id: `item-${String(key).padStart(4, '0')}`,
      updatedAt: BASE_MS + (late ? i * 1000 - 400_000 : i * 1000),
      value: BigInt(i),
      label: i % 7 === 0 ? null : `label-${i}`,
      props: i % 11 === 0 ? null : [['n', String(i)], ['kind', i % 2 === 0 ? '"even"' : '"odd"'], ['maybe', i % 3 === 0 ? null : 'true']],
    });
  }
  const eventCount = options.events ?? 300;
  const events: EventRow[] = [];
  for (let i = 0; i < eventCount; i++) {
    // ~10% re-deliveries of an earlier event (same id) with a later processing time.
    const redelivery = i % 10 === 9 && i > 20;
    const base = redelivery ? i - 17 : i;
    const time = BASE_MS + base * 3_600_000 * 1.7;
    events.push({
      eventId: `ev-${base}`,
      time: Math.trunc(time),
      eventDate: new Date(Math.trunc(time)).toISOString().slice(0, 10),
      processedAt: BigInt(BASE_MS + i * 10_000),
      name: redelivery ? `redelivered-${i}` : `event-${i % 4}`,
    });
  }
  const logs: LogRow[] = Array.from({ length: options.logs ?? 250 }, (_, i) => ({ seq: BigInt(i), message: `line ${i}`, at: BASE_MS + i * 500 }));
  const generation = options.generation ?? 0;
  const members: MemberRow[] = [];
  for (let i = 0; i < (options.members ?? 60); i++) {
    // Each generation shifts membership: some members leave, others join.
    if ((i + generation) % 6 === 0) continue;
    members.push({ groupId: `cohort-${i % 3}`, memberId: `user-${i + generation * 5}` });
  }
  return { items, events: options.interleaveEventDays ? interleavedByDay(events) : events, logs, members };
}

export type FixtureFailureKind = 'transient' | 'rate_limit' | 'not_entitled' | 'data';

export interface FixtureFailure {
  readonly table: string;
  /** 1-based call number (per table, counting retries) that fails. */
  readonly call: number;
  readonly kind: FixtureFailureKind;
  /** Batches yielded before throwing. */
  readonly afterBatches?: number;
  readonly retryAfterMs?: number;
}

export interface MemorySourceOptions {
  readonly dataset?: FixtureDataset;
  readonly failures?: readonly FixtureFailure[];
  /** Default rows per call (table option `page_size` overrides). */
  readonly pageSize?: number;
  readonly batchSize?: number;
}

const ITEMS_SCHEMA = withTableMetadata(
  new Schema([
    new Field('id', new Utf8(), false, new Map([['comment', 'item id']])),
    new Field('updated_at', timestampMsUtc(), true),
    new Field('value', new Int64(), true),
    new Field('label', new Utf8(), true),
    new Field('props', utf8MapType(), true),
  ]),
  { primaryKeys: ['id'], cursorField: 'updated_at', ingestionType: 'cdc' },
);
const EVENTS_SCHEMA = withTableMetadata(
  new Schema([
    new Field('event_id', new Utf8(), false),
    new Field('time', timestampMsUtc(), false),
    new Field('event_date', new Utf8(), false),
    new Field('processed_at', new Int64(), false),
    new Field('name', new Utf8(), true),
  ]),
  { primaryKeys: ['event_id'], cursorField: 'processed_at', sequenceBy: ['time', 'processed_at'], ingestionType: 'cdc', partitionBy: 'event_date' },
);
const LOGS_SCHEMA = withTableMetadata(
  new Schema([new Field('seq', new Int64(), false), new Field('message', new Utf8(), true), new Field('at', timestampMsUtc(), true)]),
  { primaryKeys: [], ingestionType: 'append' },
);
const MEMBERS_SCHEMA = withTableMetadata(new Schema([new Field('group_id', new Utf8(), false), new Field('member_id', new Utf8(), false)]), {
  primaryKeys: ['group_id', 'member_id'],
  ingestionType: 'snapshot',
});

const SCHEMAS: Readonly<Record<string, Schema>> = { items: ITEMS_SCHEMA, events: EVENTS_SCHEMA, logs: LOGS_SCHEMA, members: MEMBERS_SCHEMA };
const OPTIONS: readonly TableOptionSpec[] = [
  { name: 'page_size', description: 'rows per call', default: '100' },
  { name: 'batch_size', description: 'rows per Arrow batch', default: '32' },
];

function offsetOf(cursor: Cursor, table: string): number {
  if (cursor === null || (typeof cursor === 'object' && !Array.isArray(cursor) && Object.keys(cursor).length === 0)) return 0;
  if (typeof cursor === 'object' && !Array.isArray(cursor) && typeof (cursor as Record<string, unknown>)['offset'] === 'number') {
    return (cursor as { offset: number }).offset;
  }
  throw new ConfigError(`${table}: cursor ${JSON.stringify(cursor)} is not {"offset": n}; run with --full-refresh ${table}`, { code: 'FIXTURE_BAD_CURSOR' });
}

function intOption(options: ReadOptions | undefined, name: string, fallback: number): number {
  const raw = options?.tableOptions?.[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`table option ${name} must be a positive integer, got ${raw}`, { code: 'FIXTURE_BAD_OPTION' });
  return n;
}

function rowsToBatch(table: string, rows: readonly unknown[]): RecordBatch {
  switch (table) {
    case 'items': {
      const r = rows as ItemChange[];
      return batchFromColumns(ITEMS_SCHEMA, [r.map((x) => x.id), r.map((x) => x.updatedAt), r.map((x) => x.value), r.map((x) => x.label), r.map((x) => x.props)]);
    }
    case 'events': {
      const r = rows as EventRow[];
      return batchFromColumns(EVENTS_SCHEMA, [r.map((x) => x.eventId), r.map((x) => x.time), r.map((x) => x.eventDate), r.map((x) => x.processedAt), r.map((x) => x.name)]);
    }
    case 'logs': {
      const r = rows as LogRow[];
      return batchFromColumns(LOGS_SCHEMA, [r.map((x) => x.seq), r.map((x) => x.message), r.map((x) => x.at)]);
    }
    default: {
      const r = rows as MemberRow[];
      return batchFromColumns(MEMBERS_SCHEMA, [r.map((x) => x.groupId), r.map((x) => x.memberId)]);
    }
  }
}

function failureError(f: FixtureFailure): Error {
  switch (f.kind) {
    case 'transient':
      return new TransientError(`fixture: connection reset on ${f.table}; retry`, { code: 'FIXTURE_TRANSIENT', context: { table: f.table } });
    case 'rate_limit':
      return new RateLimitError(`fixture: 429 on ${f.table}; wait`, { code: 'FIXTURE_429', retryAfterMs: f.retryAfterMs ?? 5, context: { table: f.table } });
    case 'not_entitled':
      return new NotEntitledError(`fixture: ${f.table} needs a paid plan; upgrade or remove the table from the spec`, { code: 'FIXTURE_402', context: { table: f.table } });
    case 'data':
      return new DataError(`fixture: ${f.table} returned garbage; report it`, { code: 'FIXTURE_DATA', context: { table: f.table } });
  }
}

export interface MemorySource extends LakeflowSource {
  /** Calls made per table (including failed ones). */
  readonly calls: Record<string, number>;
}

export function createMemorySource(options: MemorySourceOptions = {}): MemorySource {
  const dataset = options.dataset ?? makeDataset();
  const pending = [...(options.failures ?? [])];
  const calls: Record<string, number> = {};
  const rowsOf = (table: string): readonly unknown[] =>
    table === 'items' ? dataset.items : table === 'events' ? dataset.events : table === 'logs' ? dataset.logs : dataset.members;

  async function* read(table: string, cursor: Cursor, readOptions: ReadOptions | undefined, call: number): TableRead {
    const pageSize = intOption(readOptions, 'page_size', options.pageSize ?? 100);
    const batchSize = intOption(readOptions, 'batch_size', options.batchSize ?? 32);
    const all = rowsOf(table);
    const snapshot = table === 'members';
    const from = snapshot ? 0 : offsetOf(cursor, table);
    const to = snapshot ? all.length : Math.min(all.length, from + pageSize);
    if (readOptions?.stats) readOptions.stats.apiCalls += 1;
    const failureIndex = pending.findIndex((f) => f.table === table && f.call === call);
    const failure = failureIndex >= 0 ? pending.splice(failureIndex, 1)[0] : undefined;
    let yielded = 0;
    for (let start = from; start < to; start += batchSize) {
      if (failure && yielded === (failure.afterBatches ?? 0)) throw failureError(failure);
      await Promise.resolve();
      yield rowsToBatch(table, all.slice(start, Math.min(to, start + batchSize)));
      yielded++;
      readOptions?.onProgress?.({ table, rowsRead: start + batchSize - from, bytesRead: 0, slicesDone: yielded, slicesTotal: Math.ceil((to - from) / batchSize), apiBudgetLeft: 1000 - call });
    }
    if (failure) throw failureError(failure);
    if (snapshot) return null;
    return to === from ? cursor : { offset: to };
  }

  return {
    name: 'memory',
    calls,
    async listTables() {
      return Object.keys(SCHEMAS);
    },
    async getSchema(table) {
      const schema = SCHEMAS[table];
      if (!schema) throw new ConfigError(`unknown table ${table}`, { code: 'FIXTURE_UNKNOWN_TABLE' });
      return schema;
    },
    async readTableMetadata(table): Promise<TableMetadata> {
      const schema = SCHEMAS[table];
      if (!schema) throw new ConfigError(`unknown table ${table}`, { code: 'FIXTURE_UNKNOWN_TABLE' });
      return readTableMetadataFromSchema(schema);
    },
    async listTableOptions() {
      return OPTIONS;
    },
    readTable(table, cursor, readOptions) {
      if (!SCHEMAS[table]) throw new ConfigError(`unknown table ${table}; valid: ${Object.keys(SCHEMAS).join(', ')}`, { code: 'FIXTURE_UNKNOWN_TABLE' });
      intOption(readOptions, 'page_size', 1);
      calls[table] = (calls[table] ?? 0) + 1;
      return read(table, cursor, readOptions, calls[table]!);
    },
  };
}

/** The spec the tests and the crash script use: every shape, plus an SCD2 history of `items`. */
export const FIXTURE_SPEC = {
  connection_name: 'memory',
  objects: [
    { table: { source_table: 'items', table_configuration: { page_size: 90, batch_size: 25 } } },
    { table: { source_table: 'items', destination_table: 'items_history', table_configuration: { scd_type: 'SCD_TYPE_2', page_size: 150 } } },
    { table: { source_table: 'events', table_configuration: { page_size: 80 } } },
    { table: { source_table: 'logs', table_configuration: { page_size: 100, batch_size: 40 } } },
    { table: { source_table: 'members' } },
  ],
};
