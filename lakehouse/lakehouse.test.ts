/**
 * The public entry end to end on a local folder: openLakehouse → createDataFile → commit → snapshot →
 * readDataFile, and an outside reader (DuckDB replaying the log) sees the same rows with µs UTC timestamps.
 */
import path from 'node:path';
import { Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchFromColumns, timestampMsUtc } from '../connector-spec/index.js';
import { openLakehouse, type AddFile, type Lakehouse } from './index.js';
import { duckDeltaTable, duckQuery } from './testing/duckdb-delta.js';
import { tempStore, type TempStore } from './testing/tables.js';

const SCHEMA = new Schema([new Field('id', new Int64(), false), new Field('time', timestampMsUtc(), true), new Field('event_date', new Utf8(), false)]);
let temp: TempStore;
let lakehouse: Lakehouse;

beforeEach(async () => {
  temp = await tempStore('lakehouse-entry-');
  lakehouse = await openLakehouse(path.join(temp.dir, 'lake'), { env: {}, engineInfo: 'test' });
});
afterEach(async () => {
  await lakehouse.close();
  await temp.remove();
});

async function dataFile(day: string, ids: readonly number[]): Promise<AddFile> {
  const writer = await lakehouse.table('events').createDataFile({ partitionValues: { event_date: day }, schema: SCHEMA, statsColumns: ['id'] });
  await writer.write(batchFromColumns(SCHEMA, [ids.map(BigInt), ids.map((id) => Date.UTC(2026, 10, 20, 0, 0, id)), ids.map(() => day)]));
  return writer.close();
}

describe('openLakehouse on a local folder', () => {
  it('writes data files and commits them; our reader and DuckDB read the same rows', async () => {
    await lakehouse.store.checkWritable('--lakehouse');
    const events = lakehouse.table('events');
    expect(await events.snapshot()).toBeUndefined();
    const files = [await dataFile('2026-11-20', [1, 2, 3]), await dataFile('2026-11-21', [4, 5])];
    expect(files.map((f) => f.numRecords)).toEqual([3, 2]);
    const result = await events.commit({ readVersion: -1, operation: 'CREATE TABLE', add: files, remove: [], metadata: { schema: SCHEMA, partitionColumns: ['event_date'], configuration: {} }, txn: { appId: 'c/events', version: 1 }, info: { cursor: 'x' } });
    expect(result.version).toBe(0);
    expect(await lakehouse.listTables()).toEqual(['events']);

    const snapshot = await lakehouse.table('events').snapshot();
    expect(snapshot?.files.map((f) => f.partitionValues['event_date'])).toEqual(['2026-11-20', '2026-11-21']);
    expect(await events.verify(snapshot as NonNullable<typeof snapshot>)).toEqual([]);
    const ids: bigint[] = [];
    for (const file of snapshot?.files ?? []) {
      for await (const group of events.readDataFile(file, { schema: snapshot?.metadata.schema })) {
        for (const row of group) ids.push(row.toJSON()['id'] as bigint);
      }
    }
    expect(ids.map(Number).sort()).toEqual([1, 2, 3, 4, 5]);

    const duck = await duckDeltaTable(path.join(temp.dir, 'lake', 'events'));
    const rows = await duckQuery(`SELECT id, epoch_ms("time") AS t, event_date FROM ${await duck.scan()} ORDER BY id`);
    expect(rows.map((r) => [Number(r['id']), Number(r['t']), r['event_date']])).toEqual([
      [1, Date.UTC(2026, 10, 20, 0, 0, 1), '2026-11-20'],
      [2, Date.UTC(2026, 10, 20, 0, 0, 2), '2026-11-20'],
      [3, Date.UTC(2026, 10, 20, 0, 0, 3), '2026-11-20'],
      [4, Date.UTC(2026, 10, 20, 0, 0, 4), '2026-11-21'],
      [5, Date.UTC(2026, 10, 20, 0, 0, 5), '2026-11-21'],
    ]);
    const [types] = await duckQuery(`SELECT typeof("time") AS t FROM ${await duck.scan()} LIMIT 1`);
    expect(types?.['t']).toBe('TIMESTAMP WITH TIME ZONE');
  });

  it('refuses a table name that leaves the lakehouse', () => {
    expect(() => lakehouse.table('../x')).toThrow(/is not a table name/);
    expect(() => lakehouse.table('/abs')).toThrow(/is not a table name/);
  });
});
