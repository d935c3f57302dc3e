/**
 * A correct in-memory source over `FixtureStore`: a cdc table with a multi-call cursor (`orders`), a snapshot
 * table (`customers`) and an append table without keys (`clicks`). Real Arrow batches via batchFromColumns.
 *
 * `quirks` switch on the cursor bugs some mutants need (each names the mutant); with no quirks the source is
 * correct and passes every check.
 */
import { Field, Float64, Int64, Schema, Utf8, type RecordBatch } from 'apache-arrow';
import { batchFromColumns, timestampMsUtc, utf8MapType } from '../../arrow/columns.js';
import { withTableMetadata } from '../../arrow/schema-metadata.js';
import { ConfigError } from '../../errors.js';
import { emptyReadStats, isStartCursor } from '../../types.js';
import type { Cursor, LakeflowSource, Logger, ReadOptions, TableMetadata, TableOptionSpec, TableOptions, TableRead } from '../../types.js';
import type { AcceptanceOptions, SourceEnv } from '../types.js';
import { FixtureStore, type ClickRow, type CustomerRow, type OrderRow } from './store.js';

export const FIXTURE_SECRET = 'fixture-secret-7f3a9c';
export const FIXTURE_TABLES = ['orders', 'customers', 'clicks'] as const;

export interface FixtureConfig {
  readonly apiKey: string;
}

/** Cursor bugs, one per cursor mutant. */
export interface FixtureQuirks {
  /** never-converges: a caught-up `orders` call returns a new cursor (a poll counter) every time. */
  readonly pollCounter?: boolean;
  /** resume-loses-a-row: a new source resuming mid-window skips the next row. */
  readonly resumeSkipsRow?: boolean;
  /** resume-moves-backwards: a new source resuming mid-window backs up one row (repeats it). */
  readonly resumeRepeatsRow?: boolean;
  /** future-cursor-resets: a watermark beyond the run start is taken as corrupt and reset to 0. */
  readonly futureResets?: boolean;
  /** loss-across-triggers: a finished window moves the watermark 2 ticks past its upper bound. */
  readonly watermarkOvershoot?: boolean;
  /** resends-last-row: each call of one source starts by re-sending the last row of its previous call. */
  readonly resendLastRow?: boolean;
  /** ignores-added-rows: every customers snapshot returns what the store held at the first customers read. */
  readonly staleSnapshot?: boolean;
}

/** staleSnapshot: the run start of the first customers read, per store. */
const firstSnapshotRunStart = new WeakMap<FixtureStore, number>();

const ORDERS_META: TableMetadata = { primaryKeys: ['id'], cursorField: 'updated_at', sequenceBy: ['updated_at'], ingestionType: 'cdc' };
const CUSTOMERS_META: TableMetadata = { primaryKeys: ['id'], ingestionType: 'snapshot' };
const CLICKS_META: TableMetadata = { primaryKeys: [], ingestionType: 'append' };

// orders.id is nullable (as in Lakeflow's schemas), so a null key trips only the primary-key check.
const SCHEMAS: Readonly<Record<string, Schema>> = {
  orders: withTableMetadata(
    new Schema([
      new Field('id', new Utf8(), true),
      new Field('updated_at', new Int64(), false),
      new Field('amount', new Float64(), true),
      new Field('note', new Utf8(), true),
      new Field('tags', utf8MapType(), true),
    ]),
    ORDERS_META,
  ),
  customers: withTableMetadata(
    new Schema([
      new Field('id', new Int64(), false),
      new Field('name', new Utf8(), false),
      new Field('email', new Utf8(), true),
      new Field('created_ms', timestampMsUtc(), false),
    ]),
    CUSTOMERS_META,
  ),
  clicks: withTableMetadata(
    new Schema([new Field('at', timestampMsUtc(), true), new Field('url', new Utf8(), true), new Field('referrer', new Utf8(), true)]),
    CLICKS_META,
  ),
};

const META: Readonly<Record<string, TableMetadata>> = { orders: ORDERS_META, customers: CUSTOMERS_META, clicks: CLICKS_META };

const OPTIONS: readonly TableOptionSpec[] = [{ name: 'page_size', description: 'Rows per call (orders, clicks) or per batch.', default: '3' }];

function schemaOf(table: string): Schema {
  const schema = SCHEMAS[table];
  if (schema === undefined) {
    throw new ConfigError(`unknown table "${table}"; the fixture has ${FIXTURE_TABLES.join(', ')}`, { code: 'FIXTURE_UNKNOWN_TABLE', context: { table } });
  }
  return schema;
}

function pageSize(table: string, options: TableOptions | undefined): number {
  for (const key of Object.keys(options ?? {})) {
    if (key !== 'page_size') throw new ConfigError(`table ${table}: unknown option "${key}"; options: page_size`, { code: 'FIXTURE_UNKNOWN_OPTION', context: { table } });
  }
  const raw = options?.page_size ?? '3';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`table ${table}: page_size must be a positive integer, got "${raw}"`, { code: 'FIXTURE_BAD_OPTION', context: { table } });
  return n;
}

export interface OrdersCursor {
  readonly v: 1;
  readonly watermark: number;
  readonly pending: { readonly upper: number; readonly after: number } | null;
}

function cursorError(table: string, cursor: Cursor): ConfigError {
  return new ConfigError(`table ${table}: cursor ${JSON.stringify(cursor)} is not a fixture cursor; reset the table state`, { code: 'FIXTURE_BAD_CURSOR', context: { table } });
}

function parseOrdersCursor(cursor: Cursor): OrdersCursor {
  if (isStartCursor(cursor)) return { v: 1, watermark: 0, pending: null };
  const c = cursor as Record<string, unknown>;
  const pending = c.pending as { upper?: unknown; after?: unknown } | null | undefined;
  if (c.v !== 1 || typeof c.watermark !== 'number' || (pending !== null && (typeof pending?.upper !== 'number' || typeof pending.after !== 'number'))) {
    throw cursorError('orders', cursor);
  }
  return { v: 1, watermark: c.watermark, pending: pending === null ? null : { upper: pending.upper as number, after: pending.after as number } };
}

function parseClicksCursor(cursor: Cursor): number {
  if (isStartCursor(cursor)) return 0;
  const offset = (cursor as Record<string, unknown>).offset;
  if ((cursor as Record<string, unknown>).v !== 1 || typeof offset !== 'number') throw cursorError('clicks', cursor);
  return offset;
}

function ordersBatch(rows: readonly OrderRow[]): RecordBatch {
  return batchFromColumns(SCHEMAS.orders!, [rows.map((r) => r.id), rows.map((r) => BigInt(r.seq)), rows.map((r) => r.amount), rows.map((r) => r.note), rows.map((r) => r.tags)]);
}

function customersBatch(rows: readonly CustomerRow[]): RecordBatch {
  return batchFromColumns(SCHEMAS.customers!, [rows.map((r) => r.id), rows.map((r) => r.name), rows.map((r) => r.email), rows.map((r) => r.createdMs)]);
}

function clicksBatch(rows: readonly ClickRow[]): RecordBatch {
  return batchFromColumns(SCHEMAS.clicks!, [rows.map((r) => r.atMs), rows.map((r) => r.url), rows.map((r) => r.referrer)]);
}

export class FixtureSource implements LakeflowSource {
  readonly name = 'fixture';
  readonly #store: FixtureStore;
  readonly #logger: Logger;
  readonly #quirks: FixtureQuirks;
  /** The run start: rows written after the source was created are not visible to it. */
  readonly #runStart: number;
  #calls = 0;
  #lastOrder: OrderRow | undefined;

  constructor(store: FixtureStore, config: FixtureConfig, env: SourceEnv, quirks: FixtureQuirks = {}) {
    if (config.apiKey.length === 0) throw new ConfigError('apiKey is empty; set FIXTURE_API_KEY', { code: 'FIXTURE_NO_KEY' });
    this.#store = store;
    this.#logger = env.logger;
    this.#quirks = quirks;
    this.#runStart = store.clock;
  }

  async listTables(): Promise<string[]> {
    return [...FIXTURE_TABLES];
  }

  async getSchema(table: string, _options?: { readonly tableOptions?: TableOptions }): Promise<Schema> {
    return schemaOf(table);
  }

  async readTableMetadata(table: string, _options?: { readonly tableOptions?: TableOptions }): Promise<TableMetadata> {
    schemaOf(table);
    return META[table]!;
  }

  async listTableOptions(table: string): Promise<readonly TableOptionSpec[]> {
    schemaOf(table);
    return OPTIONS;
  }

  readTable(table: string, cursor: Cursor, options: ReadOptions = {}): TableRead {
    schemaOf(table);
    const size = pageSize(table, options.tableOptions);
    const logger = options.logger ?? this.#logger;
    const stats = options.stats ?? emptyReadStats();
    const firstCall = this.#calls++ === 0;
    logger.debug('fixture read', { table, cursor, pageSize: size });
    stats.apiCalls++;
    if (table === 'orders') return this.#readOrders(parseOrdersCursor(cursor), cursor, size, firstCall);
    if (table === 'clicks') return this.#readClicks(parseClicksCursor(cursor), cursor, size);
    return this.#readCustomers(size);
  }

  async *#readOrders(c: OrdersCursor, input: Cursor, size: number, firstCall: boolean): TableRead {
    const q = this.#quirks;
    let { watermark, pending } = c;
    if (q.futureResets === true && watermark > this.#runStart) watermark = 0;
    if (pending === null) {
      if (watermark >= this.#runStart) {
        if (q.pollCounter === true && watermark === this.#runStart) {
          const polls = (input as { polls?: number }).polls ?? 0;
          return { v: 1, watermark, pending: null, polls: polls + 1 };
        }
        return input;
      }
      pending = { upper: this.#runStart, after: watermark };
    } else if (firstCall && q.resumeRepeatsRow === true) {
      const after = pending.after;
      const previous = Math.max(watermark, ...[...this.#store.orders.values()].map((r) => r.seq).filter((seq) => seq < after));
      pending = { upper: pending.upper, after: previous };
    }
    const { upper } = pending;
    let inRange = [...this.#store.orders.values()].filter((r) => r.seq > pending.after && r.seq <= upper).sort((a, b) => a.seq - b.seq);
    if (firstCall && c.pending !== null && q.resumeSkipsRow === true) inRange = inRange.slice(1);
    const page = inRange.slice(0, size);
    const resend = q.resendLastRow === true && !firstCall && page.length > 0 && this.#lastOrder !== undefined ? [this.#lastOrder] : [];
    if (page.length > 0) {
      this.#lastOrder = page.at(-1);
      yield ordersBatch([...resend, ...page]);
    }
    if (inRange.length > size) return { v: 1, watermark, pending: { upper, after: page.at(-1)!.seq } };
    return { v: 1, watermark: q.watermarkOvershoot === true ? upper + 2 : upper, pending: null };
  }

  async *#readClicks(offset: number, input: Cursor, size: number): TableRead {
    const visible = this.#store.clicks.filter((r) => r.seq <= this.#runStart);
    if (offset >= visible.length) return input;
    const page = visible.slice(offset, offset + size);
    yield clicksBatch(page);
    return { v: 1, offset: offset + page.length };
  }

  async *#readCustomers(size: number): TableRead {
    let upTo = this.#runStart;
    if (this.#quirks.staleSnapshot === true) {
      upTo = firstSnapshotRunStart.get(this.#store) ?? upTo;
      firstSnapshotRunStart.set(this.#store, upTo);
    }
    const visible = this.#store.customers.filter((r) => r.seq <= upTo);
    for (let i = 0; i < visible.length; i += size) yield customersBatch(visible.slice(i, i + size));
    return null;
  }
}

/** The acceptance options of the correct fixture over `store` (a fresh seeded store by default). */
export function fixtureOptions(
  store: FixtureStore = FixtureStore.seeded(),
  wrap: (source: FixtureSource, env: SourceEnv) => LakeflowSource = (s) => s,
  quirks: FixtureQuirks = {},
): AcceptanceOptions<FixtureConfig> {
  return {
    name: 'fixture',
    config: { apiKey: FIXTURE_SECRET },
    createSource: (config: FixtureConfig, env: SourceEnv) => wrap(new FixtureSource(store, config, env, quirks), env),
    tables: FIXTURE_TABLES,
    secrets: [FIXTURE_SECRET],
    addData: async (table) => store.addData(table),
    expected: (table) => {
      if (table === 'orders') return [...store.orders.keys()].map((id) => ({ id }));
      if (table === 'customers') return store.customers.map((c) => ({ id: c.id }));
      throw new TypeError(`fixture expected(): ${table} has no primary key to compare`);
    },
    futureCursor: (table, last) => {
      const c = (last ?? {}) as Record<string, unknown>;
      if (table === 'orders') return { ...c, v: 1, watermark: (typeof c.watermark === 'number' ? c.watermark : 0) + 1_000_000, pending: null } as Cursor;
      return { ...c, v: 1, offset: (typeof c.offset === 'number' ? c.offset : 0) + 1_000 } as Cursor;
    },
    maxCalls: 12,
  };
}
