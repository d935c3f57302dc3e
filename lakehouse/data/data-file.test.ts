/**
 * createDataFile / readDataFile through a LocalStore, read back by DuckDB (an independent Parquet reader):
 * µs UTC timestamps, partition columns only in the log, every stat equal to what DuckDB computes on generated
 * data (nulls, unicode, long strings, negative numbers, NaN, empty maps), logical rows restored by a schema
 * cast, Spark's millis and micros files read, and the refusals (deletion vectors, empty files, a row of another
 * partition, an existing name).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Bool, DateDay, Field, Float64, Int32, Int64, RecordBatch, Schema, TimeUnit, Timestamp, Type, Utf8, makeData, type Table } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchFromColumns, isConnectorError, timestampMsData, timestampMsUtc, utf8MapType } from '../../connector-spec/index.js';
import { filesEncodedOnWorkers } from '../parquet/parquet-encoder.js';
import { LocalStore } from '../storage/local.js';
import { duckQuery, type DuckRow } from '../testing/duckdb-delta.js';
import { copyGolden } from '../testing/golden.js';
import { tempStore, type TempStore } from '../testing/tables.js';
import type { AddFile } from '../types.js';
import { createDataFile, readDataFile } from './index.js';
import { STRING_PREFIX } from './stats.js';
import { seededRandom as random } from '../../connector-spec/testing/seeded-random.js';

const SCHEMA = new Schema([
  new Field('dedupe_key', new Utf8(), false),
  new Field('event', new Utf8(), true),
  new Field('time', timestampMsUtc(), true),
  new Field('tu', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), true),
  new Field('n', new Int64(), true),
  new Field('i', new Int32(), true),
  new Field('f', new Float64(), true),
  new Field('b', new Bool(), true),
  new Field('d', new DateDay(), true),
  new Field('s', new Utf8(), true),
  new Field('u', new Utf8(), true),
  new Field('m', utf8MapType(), true),
  new Field('event_date', new Utf8(), true),
]);
const STATS_COLUMNS = ['dedupe_key', 's', 'u'];
const DAY = '2024-06-10';

/** Short strings whose UTF-16 order differs from their UTF-8 byte order (U+FF5E sorts after 😀 in UTF-16, before it in bytes). */
const SHORT = ['', 'a', 'z', 'é', 'Zürich', '\uff5e', '😀', '日本', 'a b'];

interface Generated {
  readonly batch: RecordBatch;
  /** Columns as plain values, for the round-trip comparison. */
  readonly columns: readonly unknown[][];
}

function generate(rows: number, seed: number, from = 0): Generated {
  const r = random(seed);
  const nullish = <T>(value: T, share = 0.1): T | null => (r() < share ? null : value);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(r() * values.length)]!;
  const keys = Array.from({ length: rows }, (_, i) => `key-${String(from + i).padStart(6, '0')}-${pick(SHORT)}`);
  const event = Array.from({ length: rows }, () => nullish(pick(['Sign up', 'Purchase', 'ünïcode'])));
  const time = Array.from({ length: rows }, () => nullish(Math.floor((r() - 0.2) * 2e12)));
  const tu = Array.from({ length: rows }, () => nullish(BigInt(Math.floor((r() - 0.2) * 2e15))));
  const n = Array.from({ length: rows }, () => nullish(BigInt(Math.floor((r() - 0.5) * 2 ** 53)) * pick([1n, 1000n])));
  const i = Array.from({ length: rows }, () => nullish(Math.floor((r() - 0.5) * 2 ** 32)));
  const f = Array.from({ length: rows }, () => nullish(pick([Number.NaN, -1e300, -0.5, r() * 1e9, 3.25])));
  const b = Array.from({ length: rows }, () => nullish(r() < 0.5));
  const dDays = Array.from({ length: rows }, () => nullish(Math.floor((r() - 0.5) * 60_000)));
  const s = Array.from({ length: rows }, () => nullish(pick(SHORT) + 'x'.repeat(33 + Math.floor(r() * 30)) + pick(SHORT)));
  const u = Array.from({ length: rows }, () => nullish(pick(SHORT), 0.3));
  const m = Array.from({ length: rows }, () => nullish(Array.from({ length: Math.floor(r() * 3) }, (_, j) => [`k${j}`, r() < 0.2 ? null : pick(SHORT)] as [string, string | null])));
  const dValues = new Int32Array(rows);
  const dValid = new Uint8Array((rows + 7) >> 3);
  dDays.forEach((v, k) => {
    if (v === null) return;
    dValues[k] = v;
    dValid[k >> 3]! |= 1 << (k & 7);
  });
  const d = makeData({ type: new DateDay(), length: rows, nullCount: dDays.filter((v) => v === null).length, nullBitmap: dValid, data: dValues });
  const eventDate = Array.from({ length: rows }, () => DAY);
  const batch = batchFromColumns(SCHEMA, [keys, event, time, timestampMsData(tu, new Timestamp(TimeUnit.MICROSECOND, 'UTC')), n, i, f, b, d, s, u, m, eventDate]);
  return { batch, columns: [keys, event, time, tu, n, i, f, b, dDays, s, u, m, eventDate] };
}

/** A row of a read-back batch as plain values (bigint → string, maps → entry lists), keyed by column. */
function plainRows(table: Table | RecordBatch): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let row = 0; row < table.numRows; row++) {
    const record: Record<string, unknown> = {};
    table.schema.fields.forEach((field, c) => {
      const value: unknown = table.getChildAt(c)!.get(row);
      if (value === null || value === undefined) record[field.name] = null;
      else if (field.type.typeId === Type.Map) record[field.name] = [...(value as Iterable<[string, string | null]>)].map(([k, v]) => [k, v ?? null]);
      else if (typeof value === 'bigint') record[field.name] = String(value);
      else if (typeof value === 'number' && Number.isNaN(value)) record[field.name] = 'NaN';
      else record[field.name] = value;
    });
    out.push(record);
  }
  return out;
}

let temp: TempStore;
beforeEach(async () => {
  temp = await tempStore('data-file-');
});
afterEach(async () => {
  await temp.remove();
});

const fileOf = (add: AddFile): string => path.join(temp.dir, 'events', decodeURIComponent(add.path));
const sql = (text: string): string => `'${text.replaceAll("'", "''")}'`;

async function writeFile(parts: readonly RecordBatch[], mode: 'worker' | 'in-thread' | 'calling-thread' = 'worker'): Promise<AddFile> {
  const writer = await createDataFile(
    temp.store,
    'events',
    {
      schema: SCHEMA,
      partitionValues: { event_date: DAY },
      statsColumns: STATS_COLUMNS,
      keyValueMetadata: new Map([['lakeflow.test', 'yes']]),
      ...(mode === 'calling-thread' ? { encodeOn: mode } : {}),
    },
    mode === 'in-thread' ? { encoder: mode } : {},
  );
  for (const part of parts) await writer.write(part);
  expect(writer.rows).toBe(parts.reduce((sum, p) => sum + p.numRows, 0));
  return writer.close();
}

describe('createDataFile', () => {
  for (const encoder of ['worker', 'in-thread', 'calling-thread'] as const) {
    it(`${encoder}: names the file Spark's way, stores µs UTC timestamps and no partition column, and returns its add`, async () => {
      expect.hasAssertions();
      const { batch, columns } = generate(3_000, 1);
      const onWorkersBefore = filesEncodedOnWorkers();
      const add = await writeFile([batch.slice(0, 1_000), batch.slice(1_000)], encoder);
      expect(filesEncodedOnWorkers() - onWorkersBefore).toBe(encoder === 'worker' ? 1 : 0);
      const read = await duckQuery(
        `SELECT dedupe_key, epoch_ms(time) AS time, epoch_us(tu)::VARCHAR AS tu, n::VARCHAR AS n, i, b, (d - DATE '1970-01-01')::INTEGER AS d, s, u,
                CASE WHEN m IS NULL THEN NULL ELSE cardinality(m)::INTEGER END AS m
         FROM read_parquet(${sql(fileOf(add))}, hive_partitioning = false) ORDER BY dedupe_key`,
      );
      const [keys, , time, tu, n, i, , b, d, s, u, m] = columns;
      const expected = keys!.map((key, row) => ({
        dedupe_key: key,
        time: time![row] === null ? null : BigInt(time![row] as number),
        tu: tu![row] === null ? null : String(tu![row]),
        n: n![row] === null ? null : String(n![row]),
        i: i![row],
        b: b![row],
        d: d![row],
        s: s![row],
        u: u![row],
        m: m![row] === null ? null : (m![row] as unknown[]).length,
      }));
      expect(read).toEqual(expected.sort((x, y) => (Buffer.from(String(x.dedupe_key)) < Buffer.from(String(y.dedupe_key)) ? -1 : 1)));
      expect(add.path).toMatch(/^event_date=2024-06-10\/part-00000-[0-9a-f-]{36}\.c000\.zstd\.parquet$/);
      expect(add).toMatchObject({ partitionValues: { event_date: DAY }, dataChange: true, numRecords: 3_000 });
      expect(add.size).toBe((await stat(fileOf(add))).size);
      const schema = await duckQuery(`SELECT name, type, logical_type FROM parquet_schema(${sql(fileOf(add))}) WHERE name IN ('time', 'tu', 'event_date', 'm')`);
      expect(schema).toEqual([
        { name: 'time', type: 'INT64', logical_type: 'TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))' },
        { name: 'tu', type: 'INT64', logical_type: 'TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))' },
        { name: 'm', type: null, logical_type: 'MapType()' },
      ]);
      const [codec] = await duckQuery(`SELECT DISTINCT compression FROM parquet_metadata(${sql(fileOf(add))})`);
      expect(codec).toEqual({ compression: 'ZSTD' });
      const [kv] = await duckQuery(`SELECT decode(value) AS v FROM parquet_kv_metadata(${sql(fileOf(add))}) WHERE decode(key) = 'lakeflow.test'`);
      expect(kv).toEqual({ v: 'yes' });
    });
  }

  it('records stats equal to what DuckDB computes from the file', async () => {
    expect.hasAssertions();
    const { batch } = generate(4_000, 2);
    const add = await writeFile([batch.slice(0, 1_500), batch.slice(1_500, 1_501), batch.slice(1_501)]);
    const stats = JSON.parse(add.stats!) as { numRecords: number; minValues: Record<string, unknown>; maxValues: Record<string, unknown>; nullCount: Record<string, number> };
    const file = `read_parquet(${sql(fileOf(add))}, hive_partitioning = false)`;
    const columns = SCHEMA.fields.map((f) => f.name).filter((name) => name !== 'event_date');
    const [duck] = await duckQuery(
      `SELECT count(*)::INTEGER AS rows, ${columns.map((c) => `(count(*) - count(${c}))::INTEGER AS "null_${c}"`).join(', ')},
        strftime(min(time), '%Y-%m-%dT%H:%M:%S.%gZ') AS min_time, strftime(max(time), '%Y-%m-%dT%H:%M:%S.%gZ') AS max_time,
        epoch_us(min(tu))::VARCHAR AS min_tu, epoch_us(max(tu))::VARCHAR AS max_tu,
        min(n)::VARCHAR AS min_n, max(n)::VARCHAR AS max_n, min(i) AS min_i, max(i) AS max_i,
        min(f) FILTER (WHERE NOT isnan(f)) AS min_f, max(f) FILTER (WHERE NOT isnan(f)) AS max_f,
        strftime(min(d), '%Y-%m-%d') AS min_d, strftime(max(d), '%Y-%m-%d') AS max_d,
        min(dedupe_key) AS min_key, max(dedupe_key) AS max_key, min(s) AS min_s, max(s) AS max_s, min(u) AS min_u, max(u) AS max_u
       FROM ${file}`,
    );
    const row = duck as DuckRow;
    expect(stats.numRecords).toBe(row['rows']);
    expect(stats.nullCount).toEqual({ ...Object.fromEntries(columns.map((c) => [c, row[`null_${c}`]])), event_date: 0 });
    expect(Object.values(stats.nullCount).some((v) => v > 0)).toBe(true);
    const msDown = (us: string) => new Date(Number(BigInt(us) / 1000n - (BigInt(us) % 1000n < 0n ? 1n : 0n))).toISOString();
    const msUp = (us: string) => new Date(Number(BigInt(us) / 1000n + (BigInt(us) % 1000n > 0n ? 1n : 0n))).toISOString();
    const cut = (text: unknown) => String(text).slice(0, STRING_PREFIX);
    expect(stats.minValues).toEqual({
      dedupe_key: cut(row['min_key']),
      time: row['min_time'],
      tu: msDown(String(row['min_tu'])),
      n: Number(row['min_n']),
      i: row['min_i'],
      f: row['min_f'],
      d: row['min_d'],
      s: cut(row['min_s']),
      u: row['min_u'],
      event_date: DAY,
    });
    // s runs longer than 32 characters: no max (a cut one would be below the real max); the keys are shorter.
    expect(String(row['max_s']).length).toBeGreaterThan(STRING_PREFIX);
    expect(String(row['max_key']).length).toBeLessThanOrEqual(STRING_PREFIX);
    expect(stats.maxValues).toEqual({
      dedupe_key: row['max_key'],
      time: row['max_time'],
      tu: msUp(String(row['max_tu'])),
      n: Number(row['max_n']),
      i: row['max_i'],
      f: row['max_f'],
      d: row['max_d'],
      u: row['max_u'],
      event_date: DAY,
    });
    // 64-bit bounds are written with every digit (JSON.parse above rounds them; the text does not).
    expect(add.stats).toContain(`"n":${String(row['min_n'])}`);
    expect(row['max_u']).toBe('😀'); // byte order, as DuckDB and Spark compare: U+FF5E < U+1F600
  });

  it('keeps a string max of 32 characters and cuts a min without splitting a surrogate pair', async () => {
    const schema = new Schema([new Field('k', new Utf8(), true)]);
    const long = `${'a'.repeat(31)}😀tail`;
    const writer = await createDataFile(temp.store, 't', { schema, partitionValues: {}, statsColumns: ['k'] }, { encoder: 'in-thread' });
    await writer.write(batchFromColumns(schema, [[long, 'b'.repeat(32)]]));
    const add = await writer.close();
    expect(JSON.parse(add.stats!)).toEqual({ numRecords: 2, minValues: { k: 'a'.repeat(31) }, maxValues: { k: 'b'.repeat(32) }, nullCount: { k: 0 } });
  });

  it('writes no file for a writer without rows: close() throws, abort() leaves nothing', async () => {
    expect.hasAssertions();
    const empty = await createDataFile(temp.store, 'events', { schema: SCHEMA, partitionValues: { event_date: DAY } });
    await empty.write(generate(0, 3).batch);
    await expect(empty.close()).rejects.toMatchObject({ code: 'LAKEHOUSE_EMPTY_DATA_FILE' });
    const aborted = await createDataFile(temp.store, 'events', { schema: SCHEMA, partitionValues: { event_date: DAY } });
    await aborted.write(generate(100, 4).batch);
    await aborted.abort();
    await aborted.abort();
    const left: string[] = [];
    for await (const object of temp.store.list('')) left.push(object.path);
    expect(left).toEqual([]);
  });

  it('refuses a row of another partition (InternalError) and never overwrites an existing file', async () => {
    expect.hasAssertions();
    const { batch } = generate(50, 5);
    const wrong = await createDataFile(temp.store, 'events', { schema: SCHEMA, partitionValues: { event_date: '2024-06-11' } });
    const error: unknown = await wrong.write(batch).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.kind === 'internal' && error.code === 'LAKEHOUSE_PARTITION_MISMATCH').toBe(true);
    await wrong.abort();

    const uuid = () => '00000000-0000-4000-8000-000000000000';
    const first = await createDataFile(temp.store, 'events', { schema: SCHEMA, partitionValues: { event_date: DAY } }, { uuid });
    await first.write(batch);
    const add = await first.close();
    const before = await readFile(fileOf(add));
    const second = await createDataFile(temp.store, 'events', { schema: SCHEMA, partitionValues: { event_date: DAY } }, { uuid });
    await second.write(batch.slice(0, 10));
    await expect(second.close()).rejects.toMatchObject({ code: 'LAKEHOUSE_FILE_EXISTS' });
    expect(await readFile(fileOf(add))).toEqual(before);
  });

  it('writes awkward partition values into escaped folders that DuckDB and readDataFile read back', async () => {
    expect.hasAssertions();
    const schema = new Schema([new Field('id', new Int32(), true), new Field('p', new Utf8(), true)]);
    for (const [k, value] of ['a b', 'x/y', 'k=v', '100%', '12:30', 'ünï😀', null].entries()) {
      const writer = await createDataFile(temp.store, 'events', { schema, partitionValues: { p: value } }, { encoder: 'in-thread' });
      await writer.write(batchFromColumns(schema, [[k, k + 100], [value, value]]));
      const add = await writer.close();
      expect(add.partitionValues).toEqual({ p: value });
      expect(JSON.parse(add.stats!).nullCount).toEqual({ id: 0, p: value === null ? 2 : 0 });
      const rows = await duckQuery(`SELECT id FROM read_parquet(${sql(fileOf(add))}, hive_partitioning = false) ORDER BY id`);
      expect(rows).toEqual([{ id: k }, { id: k + 100 }]);
      const back: Record<string, unknown>[] = [];
      for await (const table of readDataFile(temp.store, 'events', add, { schema })) back.push(...plainRows(table));
      expect(back).toEqual([
        { id: k, p: value },
        { id: k + 100, p: value },
      ]);
    }
  });
});

describe('typed partition columns', () => {
  it('timestamp, date and integer partition values: Spark folder names, constant stats, typed columns on read', async () => {
    expect.hasAssertions();
    const schema = new Schema([
      new Field('id', new Int32(), true),
      new Field('ts', timestampMsUtc(), true),
      new Field('day', new DateDay(), true),
      new Field('n', new Int64(), true),
    ]);
    const partitionValues = { ts: '2020-01-01 08:09:10.001', day: '2021-09-08', n: '-7' };
    const tsMs = Date.UTC(2020, 0, 1, 8, 9, 10, 1);
    const dayNumber = Date.UTC(2021, 8, 8) / 86_400_000;
    const rows = 3;
    const batch = batchFromColumns(schema, [
      [1, 2, 3],
      Array.from({ length: rows }, () => tsMs),
      makeData({ type: new DateDay(), length: rows, nullCount: 0, data: new Int32Array(rows).fill(dayNumber) }),
      Array.from({ length: rows }, () => -7n),
    ]);
    const writer = await createDataFile(temp.store, 'events', { schema, partitionValues }, { encoder: 'in-thread' });
    await writer.write(batch);
    const add = await writer.close();
    expect(add.path.startsWith('ts=2020-01-01%2008%253A09%253A10.001/day=2021-09-08/n=-7/part-00000-')).toBe(true);
    expect(JSON.parse(add.stats!)).toEqual({
      numRecords: 3,
      minValues: { id: 1, ts: '2020-01-01T08:09:10.001Z', day: '2021-09-08', n: -7 },
      maxValues: { id: 3, ts: '2020-01-01T08:09:10.001Z', day: '2021-09-08', n: -7 },
      nullCount: { id: 0, ts: 0, day: 0, n: 0 },
    });
    expect(await duckQuery(`SELECT name FROM parquet_schema(${sql(fileOf(add))}) WHERE name <> 'arrow_schema'`)).toEqual([{ name: 'id' }]);
    const back: Record<string, unknown>[] = [];
    for await (const table of readDataFile(temp.store, 'events', add, { schema })) back.push(...plainRows(table));
    expect(back).toEqual(plainRows(batch));
  });
});

describe('readDataFile', () => {
  it('with the table schema restores the logical rows exactly: ms timestamps, the partition column, and null for a column added later', async () => {
    expect.hasAssertions();
    const a = generate(1_200, 6);
    const b = generate(700, 7, 1_200);
    const add = await writeFile([a.batch, b.batch]);
    const later = new Schema([
      ...SCHEMA.fields.slice(0, 3),
      new Field('added_text', new Utf8(), true),
      ...SCHEMA.fields.slice(3),
      new Field('added_map', utf8MapType(), true),
      new Field('added_time', timestampMsUtc(), true),
    ]);
    const tables: Table[] = [];
    for await (const table of readDataFile(temp.store, 'events', add, { schema: later })) tables.push(table);
    expect(tables.every((t) => t.batches.length === 1)).toBe(true);
    expect(tables[0]!.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(later.fields.map((f) => `${f.name}:${String(f.type)}`));
    const rows = tables.flatMap((t) => plainRows(t));
    const expected = [...plainRows(a.batch), ...plainRows(b.batch)].map((r) => {
      const ordered: Record<string, unknown> = {};
      for (const f of later.fields) ordered[f.name] = r[f.name] ?? null;
      return ordered;
    });
    expect(rows).toEqual(expected);
  });

  it('reads only the columns asked for, in the schema order; without a schema timestamps come as stored (µs)', async () => {
    expect.hasAssertions();
    const { batch } = generate(300, 8);
    const add = await writeFile([batch]);
    const names: string[][] = [];
    for await (const table of readDataFile(temp.store, 'events', add, { schema: SCHEMA, columns: ['event_date', 'dedupe_key'] })) {
      names.push(table.schema.fields.map((f) => f.name));
      expect(table.getChild('event_date')!.toArray().every((v: unknown) => v === DAY)).toBe(true);
    }
    expect(names).toEqual([['dedupe_key', 'event_date']]);
    for await (const table of readDataFile(temp.store, 'events', add, { columns: ['time', 'event_date'] })) {
      expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['time:Timestamp<MICROSECOND, UTC>', 'event_date:Utf8']);
    }
  });

  for (const unit of ['MILLIS', 'MICROS'] as const) {
    it(`reads Spark's TIMESTAMP_${unit} files to the values Spark recorded in the log`, async () => {
      expect.hasAssertions();
      const golden = await copyGolden(`kernel-timestamp-TIMESTAMP_${unit}`);
      try {
        const store = new LocalStore(golden.root);
        const log = await readFile(path.join(golden.dir, '_delta_log', '00000000000000000000.json'), 'utf8');
        const adds = log
          .split('\n')
          .filter((line) => line.includes('"add"'))
          .map((line) => (JSON.parse(line) as { add: AddFile }).add);
        expect(adds.length).toBe(5);
        const schema = new Schema([new Field('id', new Int32(), true), new Field('part', timestampMsUtc(), true), new Field('time', timestampMsUtc(), true)]);
        for (const add of adds) {
          const stats = JSON.parse(add.stats!) as { minValues: { id: number; time?: string } };
          const rows: Record<string, unknown>[] = [];
          for await (const table of readDataFile(store, golden.name, add, { schema })) rows.push(...plainRows(table));
          // id and time: the values Spark recorded in its stats. part: Spark wrote it without a zone; Delta says to read
          // such a value in the writer's zone, which the log does not name, so it is read as UTC (documented).
          const part = add.partitionValues['part'];
          expect(rows).toEqual([
            {
              id: stats.minValues.id,
              part: part === null || part === undefined ? null : Date.parse(`${part.replace(' ', 'T')}Z`),
              time: stats.minValues.time === undefined ? null : Date.parse(stats.minValues.time),
            },
          ]);
        }
      } finally {
        await golden.remove();
      }
    });
  }

  it('refuses a file with a deletion vector, naming the feature', async () => {
    expect.hasAssertions();
    const { batch } = generate(10, 9);
    const add = await writeFile([batch]);
    const withDv = { ...add, deletionVector: { storageType: 'u', pathOrInlineDv: 'ab', offset: 1, sizeInBytes: 36, cardinality: 1 } };
    const error: unknown = await (async () => {
      for await (const table of readDataFile(temp.store, 'events', withDv)) void table;
    })().catch((e: unknown) => e);
    expect(isConnectorError(error) && error.kind === 'config' && /deletionVectors/.test(error.message)).toBe(true);
  });
});
