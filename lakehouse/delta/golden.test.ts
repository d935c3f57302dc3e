/**
 * The log reader agrees with Spark: the vendored golden tables (written by Spark + Delta Lake) read back with
 * the versions, live files, partition values and schemas Spark wrote, and with the same live files and rows as
 * an independent DuckDB replay of the same log (lakehouse/testing/duckdb-delta.ts).
 */
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DataType, Type } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type Logger } from '../../connector-spec/index.js';
import { lakehouseOnStore } from '../index.js';
import { LocalStore } from '../storage/local.js';
import { copyGolden, type GoldenCopy, type GoldenTable } from '../testing/golden.js';
import { duckDeltaTable, duckQuery } from '../testing/duckdb-delta.js';
import type { Snapshot } from '../types.js';
import { checkpointActions } from './checkpoint-read.js';
import { listLog, readCommits } from './log-files.js';
import { LogState } from './log-state.js';

const copies: GoldenCopy[] = [];
afterEach(async () => {
  await Promise.all(copies.splice(0).map((c) => c.remove()));
});

interface Logged {
  readonly level: string;
  readonly msg: string;
}

function recordingLogger(into: Logged[]): Logger {
  const push = (level: string) => (msg: string) => void into.push({ level, msg });
  return { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

async function open(name: GoldenTable, logs: Logged[] = []): Promise<{ copy: GoldenCopy; snapshot: () => Promise<Snapshot | undefined> }> {
  const copy = await copyGolden(name);
  copies.push(copy);
  const lakehouse = lakehouseOnStore(new LocalStore(copy.root), { logger: recordingLogger(logs) });
  return { copy, snapshot: () => lakehouse.table(name).snapshot() };
}

const paths = (snapshot: Snapshot | undefined): string[] => (snapshot?.files ?? []).map((f) => f.path);
const typeName = (type: DataType): string => Type[type.typeId] ?? String(type.typeId);

describe('golden: checkpoint (15 commits, Parquet checkpoint at 10)', () => {
  it('reads version 14 from the checkpoint plus commits 11–14, as Spark and DuckDB do', async () => {
    const { copy, snapshot } = await open('checkpoint');
    const s = await snapshot();
    expect(s?.version).toBe(14);
    expect(paths(s)).toEqual(['15']);
    expect(s?.tombstones.map((t) => t.path).sort((a, b) => Number(a) - Number(b))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14']);
    expect(s?.metadata.schema.fields.map((f) => [f.name, typeName(f.type)])).toEqual([['intCol', 'Int']]);
    const duck = await duckDeltaTable(copy.dir);
    expect(duck.checkpointVersion).toBe(10);
    expect(paths(s)).toEqual(duck.files.map((f) => f.path));
    expect(s?.tombstones.map((t) => t.path).sort()).toEqual([...duck.tombstones].sort());
  });

  it('gives the same snapshot with the JSON commits before the checkpoint deleted (metadata cleanup)', async () => {
    const { copy, snapshot } = await open('checkpoint');
    for (let v = 0; v < 10; v++) await rm(path.join(copy.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`));
    const s = await snapshot();
    expect(s?.version).toBe(14);
    expect(paths(s)).toEqual(['15']);
  });
});

describe('golden: corrupted-last-checkpoint', () => {
  const expected = ['0', '1', '10', '2', '3', '4', '5', '6', '7', '8', '9'];

  it('reads the table as it is (metaData without schemaString)', async () => {
    const { copy, snapshot } = await open('corrupted-last-checkpoint');
    const s = await snapshot();
    expect(s?.version).toBe(10);
    expect(paths(s)).toEqual(expected);
    expect(s?.metadata.schema.fields).toEqual([]);
    expect(paths(s)).toEqual((await duckDeltaTable(copy.dir)).files.map((f) => f.path));
  });

  for (const [label, content] of [
    ['empty', ''],
    ['not JSON', '{"version":1'],
    ['pointing at a checkpoint that does not exist', '{"version":7,"size":3}'],
    ['pointing past the end of the log', '{"version":20,"size":13}'],
  ] as const) {
    it(`falls back to listing when _last_checkpoint is ${label}`, async () => {
      const { copy, snapshot } = await open('corrupted-last-checkpoint');
      await writeFile(path.join(copy.dir, '_delta_log', '_last_checkpoint'), content);
      const s = await snapshot();
      expect(s?.version).toBe(10);
      expect(paths(s)).toEqual(expected);
    });
  }

  it('replays the JSON commits when the checkpoint itself is corrupt, and says so', async () => {
    const logs: Logged[] = [];
    const { copy, snapshot } = await open('corrupted-last-checkpoint', logs);
    await truncate(path.join(copy.dir, '_delta_log', '00000000000000000010.checkpoint.parquet'), 300);
    const s = await snapshot();
    expect(s?.version).toBe(10);
    expect(paths(s)).toEqual(expected);
    expect(logs.some((l) => l.level === 'warn' && /checkpoint unreadable/.test(l.msg))).toBe(true);
  });
});

describe('golden: data-reader-map', () => {
  it('maps every map column to an Arrow Map with the Delta key and value types', async () => {
    const { copy, snapshot } = await open('data-reader-map');
    const s = await snapshot();
    const fields = new Map(s?.metadata.schema.fields.map((f) => [f.name, f]));
    expect([...fields.keys()]).toEqual(['i', 'a', 'b', 'c', 'd', 'e', 'f']);
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) expect(typeName(fields.get(name)?.type as DataType)).toBe('Map');
    const entries = (name: string): string[] => (fields.get(name)?.type.children[0]?.type.children ?? []).map((c: { type: DataType }) => String(c.type));
    expect(entries('b')).toEqual(['Int64', 'Int8']);
    expect(entries('d')).toEqual(['Float32', 'Float64']);
    expect(entries('e')[0]).toBe('Utf8');
    expect(entries('e')[1]).toMatch(/Decimal/);
    expect(String(fields.get('f')?.type)).toMatch(/List<.*Struct<\{val:Int32\}>/);
    const duck = await duckDeltaTable(copy.dir);
    expect(paths(s)).toEqual(duck.files.map((f) => f.path));
    const [row] = await duckQuery(`SELECT count(*) AS n FROM ${await duck.scan()}`);
    expect(Number(row?.['n'])).toBeGreaterThan(0);
  });
});

describe('golden: data-reader-partition-values', () => {
  it('reads partition values of every primitive type, null partitions as null', async () => {
    const { copy, snapshot } = await open('data-reader-partition-values');
    const s = await snapshot();
    expect(s?.metadata.partitionColumns).toHaveLength(12);
    const nulls = s?.files.find((f) => f.path.startsWith('as_int=__HIVE_DEFAULT_PARTITION__'));
    expect(nulls && Object.values(nulls.partitionValues).every((v) => v === null)).toBe(true);
    const one = s?.files.find((f) => f.partitionValues['as_int'] === '1');
    expect(one?.partitionValues).toMatchObject({ as_timestamp: '2021-09-08 11:11:11', as_string_lit_null: 'null', as_boolean: 'false', as_date: '2021-09-08' });
    const fields = new Map(s?.metadata.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(fields.get('as_timestamp')).toBe('Timestamp<MICROSECOND, UTC>');
    expect(fields.get('as_date')).toBe('Date32<DAY>');
    expect(fields.get('as_byte')).toBe('Int8');
    expect(fields.get('as_short')).toBe('Int16');
    const decimal = s?.metadata.schema.fields.find((f) => f.name === 'as_big_decimal')?.type as { precision?: number; scale?: number } | undefined;
    expect([typeName(s?.metadata.schema.fields.find((f) => f.name === 'as_big_decimal')?.type as DataType), decimal?.precision, decimal?.scale]).toEqual(['Decimal', 1, 0]);
    expect(fields.get('as_nested_struct')).toMatch(/^Struct/);
    // Every live file is where the (URI-encoded) add.path says.
    expect(await lakehouseOnStore(new LocalStore(copy.root)).table('data-reader-partition-values').verify(s as Snapshot)).toEqual([]);
    const duck = await duckDeltaTable(copy.dir);
    expect(paths(s)).toEqual(duck.files.map((f) => f.path));
    const rows = await duckQuery(`SELECT as_int, as_date::VARCHAR AS d, as_timestamp::VARCHAR AS ts, value FROM ${await duck.scan()} ORDER BY as_int NULLS LAST`);
    expect(rows.map((r) => [r['as_int'], r['d'], r['ts']])).toEqual([
      [0, '2021-09-08', '2021-09-08 11:11:11+00'],
      [1, '2021-09-08', '2021-09-08 11:11:11+00'],
      [null, null, null],
    ]);
  });
});

describe('golden: kernel timestamps (micros and millis), URI-escaped partition folders', () => {
  for (const name of ['kernel-timestamp-TIMESTAMP_MICROS', 'kernel-timestamp-TIMESTAMP_MILLIS'] as const) {
    it(`${name}: live files found on disk through their escaped paths; stats agree with the rows`, async () => {
      const { copy, snapshot } = await open(name);
      const s = await snapshot();
      expect(s?.files).toHaveLength(5);
      expect(s?.files.map((f) => f.partitionValues['part']).sort()).toEqual([null, '1969-01-01 00:00:00', '2020-01-01 08:09:10.001', '2021-10-01 08:09:20', '2021-10-01 08:09:20'].sort());
      expect(String(s?.metadata.schema.fields.find((f) => f.name === 'time')?.type)).toBe('Timestamp<MICROSECOND, UTC>');
      expect(await lakehouseOnStore(new LocalStore(copy.root)).table(name).verify(s as Snapshot)).toEqual([]);
      const duck = await duckDeltaTable(copy.dir);
      expect(paths(s)).toEqual(duck.files.map((f) => f.path));
      const rows = await duckQuery(`SELECT id, epoch_ms("time") AS t, part::VARCHAR AS part FROM ${await duck.scan()} ORDER BY id`);
      expect(rows.map((r) => r['id'])).toEqual([0, 1, 2, 3, 4]);
      expect(Number(rows.find((r) => r['id'] === 0)?.['t'])).toBe(Date.UTC(2020, 1, 1, 8, 9, 10));
      expect(rows.find((r) => r['id'] === 0)?.['part']).toBe('2020-01-01 08:09:10.001+00');
      expect(s?.files.reduce((n, f) => n + (f.numRecords ?? 0), 0)).toBe(rows.length);
    });
  }
});

describe('golden: dv-partitioned-with-checkpoint (deletion vectors)', () => {
  it('is refused for reading and for writing with deletionVectors named, and its log is left as it was', async () => {
    const { copy } = await open('dv-partitioned-with-checkpoint');
    const lakehouse = lakehouseOnStore(new LocalStore(copy.root));
    const table = lakehouse.table('dv-partitioned-with-checkpoint');
    const before = (await readdir(path.join(copy.dir, '_delta_log'))).sort();
    const refusal = await table.snapshot().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as ConfigError).code).toBe('LAKEHOUSE_UNSUPPORTED_FEATURE');
    expect((refusal as ConfigError).message).toMatch(/`deletionVectors`/);
    expect((refusal as ConfigError).message).toMatch(/dv-partitioned-with-checkpoint/);
    const write = await table.commit({ readVersion: 15, operation: 'WRITE', add: [], remove: [] }).catch((error: unknown) => error);
    expect(write).toBeInstanceOf(ConfigError);
    expect((write as ConfigError).message).toMatch(/deletionVectors/);
    expect((await readdir(path.join(copy.dir, '_delta_log'))).sort()).toEqual(before);
    expect(await readFile(path.join(copy.dir, '_delta_log', '00000000000000000015.json'), 'utf8')).toMatch(/deletionVector/);
  });

  it('its log replays (checkpoint with deletion-vector columns + commits) to the live files DuckDB finds', async () => {
    const { copy } = await open('dv-partitioned-with-checkpoint');
    const ctx = { store: new LocalStore(copy.root), root: 'dv-partitioned-with-checkpoint', display: 'dv' };
    const listing = await listLog(ctx);
    const checkpoint = listing.checkpoints[0];
    expect(checkpoint?.version).toBe(10);
    const state = new LogState();
    state.apply(await checkpointActions([await readFile(path.join(copy.dir, '_delta_log', '00000000000000000010.checkpoint.parquet'))]), 10, true);
    (await readCommits(ctx, 11, 15)).forEach((actions, i) => state.apply(actions, 11 + i));
    expect(state.protocol?.readerFeatures).toEqual(['deletionVectors']);
    const live = [...state.files.values()];
    const duck = await duckDeltaTable(copy.dir);
    expect(live.map((f) => f.path).sort()).toEqual(duck.files.map((f) => f.path));
    expect(live.filter((f) => f.deletionVector).map((f) => f.path).sort()).toEqual(duck.files.filter((f) => f.hasDeletionVector).map((f) => f.path));
    // Commit 15 replaced the DV-less logical file of part=8 with a DV'd one: one live entry for the path.
    expect(live.filter((f) => f.path.startsWith('part=8/part-00001')).map((f) => f.deletionVector?.cardinality)).toEqual([1]);
  });
});
