/**
 * Our writes, read back by an outside reader (the DuckDB SQL replay, which shares no code with ours): create,
 * append, remove + add, a checkpoint at version 10 whose Parquet DuckDB reads with the protocol's columns,
 * tombstone expiry, log cleanup, metadata changes, append-only and invariants refusals, and the in-process
 * race rules (who retries, who gets CommitConflictError, nothing lost or doubled).
 */
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Field, List, Schema, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, InternalError } from '../../connector-spec/index.js';
import { CommitConflictError, lakehouseOnStore, type Lakehouse } from '../index.js';
import { duckDeltaTable, duckQuery } from '../testing/duckdb-delta.js';
import { writeTestFile } from '../testing/data-files.js';
import { EVENTS_METADATA, fakeAdd, request, rowsTable, tempStore, type TempStore } from '../testing/tables.js';
import type { AddFile, CommitRequest, Snapshot } from '../types.js';

const DAY = 24 * 60 * 60 * 1000;
let temp: TempStore;
let clock: number;
let lakehouse: Lakehouse;

beforeEach(async () => {
  temp = await tempStore();
  clock = Date.now();
  lakehouse = lakehouseOnStore(temp.store, { now: () => clock, engineInfo: 'mixpanel-lakeflow-test' });
});
afterEach(async () => {
  await temp.remove();
});

const logDir = (): string => path.join(temp.dir, 'events', '_delta_log');
const logLines = async (version: number): Promise<Record<string, Record<string, unknown>>[]> =>
  (await readFile(path.join(logDir(), `${String(version).padStart(20, '0')}.json`), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>);

async function fresh(): Promise<Snapshot> {
  const snapshot = await lakehouseOnStore(temp.store).table('events').snapshot();
  if (!snapshot) throw new Error('no table');
  return snapshot;
}

describe('commits read back by DuckDB', () => {
  it('create, append, rewrite (remove + add) and a checkpoint at version 10', async () => {
    const table = lakehouse.table('events');
    const files: AddFile[] = [];
    const write = async (from: number, count: number, day: string): Promise<AddFile> => {
      const add = await writeTestFile(temp.store, 'events', rowsTable(from, count), { partitionValues: { event_date: day } });
      files.push(add);
      return add;
    };
    const first = [await write(0, 3, '2026-11-20'), await write(3, 2, '2026-11-21')];
    const created = await table.commit(request(-1, { operation: 'CREATE TABLE', add: first, metadata: EVENTS_METADATA, txn: { appId: 'c/events', version: 0 }, info: { cursor: { n: 0 }, runId: 'r0' } }));
    expect(created).toEqual({ version: 0, racesLost: 0, checkpointWritten: false });

    // Version 0, line by line: commitInfo first, protocol reader 1 / writer 2 without features, metaData, txn, adds.
    const v0 = await logLines(0);
    expect(v0.map((l) => Object.keys(l)[0])).toEqual(['commitInfo', 'protocol', 'metaData', 'txn', 'add', 'add']);
    expect(v0[0]?.['commitInfo']).toMatchObject({ timestamp: clock, operation: 'CREATE TABLE', engineInfo: 'mixpanel-lakeflow-test', isBlindAppend: true, mixpanelLakeflow: { appId: 'c/events', txnVersion: 0, cursor: { n: 0 }, runId: 'r0' } });
    expect(v0[1]?.['protocol']).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const meta = v0[2]?.['metaData'] as Record<string, unknown>;
    expect(meta['format']).toEqual({ provider: 'parquet', options: {} });
    expect(meta['partitionColumns']).toEqual(['event_date']);
    expect(meta['configuration']).toEqual({ 'mixpanelLakeflow.writer': 'test' });
    expect(meta['createdTime']).toBe(clock);
    expect(meta['id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(meta['schemaString'] as string)).toEqual({
      type: 'struct',
      fields: [
        { name: 'id', type: 'long', nullable: false, metadata: {} },
        { name: 'name', type: 'string', nullable: true, metadata: {} },
        { name: 'time', type: 'timestamp', nullable: true, metadata: {} },
        { name: 'event_date', type: 'string', nullable: false, metadata: {} },
        { name: 'day', type: 'date', nullable: true, metadata: {} },
        { name: 'score', type: 'double', nullable: true, metadata: {} },
        { name: 'n', type: 'integer', nullable: true, metadata: {} },
        { name: 'ok', type: 'boolean', nullable: true, metadata: {} },
        { name: 'custom_properties', type: { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true }, nullable: true, metadata: {} },
      ],
    });
    expect(v0[3]?.['txn']).toEqual({ appId: 'c/events', version: 0, lastUpdated: clock });
    expect(v0[4]?.['add']).not.toHaveProperty('numRecords');

    // Appends up to version 4, then a rewrite of the first file at version 5.
    for (let v = 1; v <= 4; v++) {
      clock += 1000;
      await table.commit(request(v - 1, { add: [await write(100 * v, v, '2026-11-22')], txn: { appId: 'c/events', version: v }, info: { cursor: { n: v } } }));
    }
    clock += 1000;
    const replaced = files[0] as AddFile;
    const replacement = await write(0, 2, '2026-11-20');
    await table.commit(request(4, { operation: 'MERGE', add: [replacement], remove: [replaced], readPartitions: ['2026-11-20'], txn: { appId: 'c/events', version: 5 }, info: { cursor: { n: 5 } } }));
    const v5 = await logLines(5);
    expect(v5.map((l) => Object.keys(l)[0])).toEqual(['commitInfo', 'txn', 'remove', 'add']);
    expect(v5[0]?.['commitInfo']).toMatchObject({ operation: 'MERGE', readVersion: 4, isBlindAppend: false });
    expect(v5[2]?.['remove']).toEqual({ path: replaced.path, deletionTimestamp: clock, dataChange: true, extendedFileMetadata: true, partitionValues: { event_date: '2026-11-20' }, size: replaced.size });

    let results = [];
    for (let v = 6; v <= 10; v++) {
      clock += 1000;
      results.push(await table.commit(request(v - 1, { add: [await write(100 * v, 1, '2026-11-23')], txn: { appId: 'c/events', version: v }, info: { cursor: { n: v } } })));
    }
    expect(results.map((r) => r.checkpointWritten)).toEqual([false, false, false, false, true]);
    expect(JSON.parse(await readFile(path.join(logDir(), '_last_checkpoint'), 'utf8'))).toMatchObject({ version: 10, size: 2 + 1 + 11 + 1, numOfAddFiles: 11 });

    // DuckDB replays from the checkpoint and agrees with our snapshot on files, rows, stats and txn.
    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    expect(duck.checkpointVersion).toBe(10);
    const ours = await fresh();
    expect(ours.version).toBe(10);
    expect(duck.files.map((f) => f.path)).toEqual(ours.files.map((f) => f.path));
    expect(duck.files.map((f) => f.path)).not.toContain(replaced.path);
    expect(duck.tombstones).toEqual([replaced.path]);
    expect(duck.txns.get('c/events')).toBe(10);
    expect(ours.txns.get('c/events')?.version).toBe(10);
    const counts = await duckQuery(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${await duck.scan()}`);
    const expectedRows = 2 + 2 + (1 + 2 + 3 + 4) + 5;
    expect(Number(counts[0]?.['n'])).toBe(expectedRows);
    expect(Number(counts[0]?.['ids'])).toBe(expectedRows);
    expect(duck.files.reduce((n, f) => n + (f.numRecords ?? 0), 0)).toBe(expectedRows);
    for (const file of duck.files) {
      const [row] = await duckQuery(`SELECT count(*) AS n FROM read_parquet('${file.file}')`);
      expect(Number(row?.['n']), file.path).toBe(file.numRecords);
    }
    const byDay = await duckQuery(`SELECT event_date, count(*) AS n FROM ${await duck.scan()} GROUP BY ALL ORDER BY event_date`);
    expect(byDay.map((r) => [r['event_date'], Number(r['n'])])).toEqual([['2026-11-20', 2], ['2026-11-21', 2], ['2026-11-22', 10], ['2026-11-23', 5]]);

    // The checkpoint Parquet has the protocol's columns and types.
    const described = await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${path.join(logDir(), '00000000000000000010.checkpoint.parquet')}')`);
    const types = Object.fromEntries(described.map((r) => [r['column_name'], r['column_type']]));
    expect(Object.keys(types)).toEqual(['txn', 'add', 'remove', 'metaData', 'protocol']);
    expect(types['txn']).toBe('STRUCT(appId VARCHAR, "version" BIGINT, lastUpdated BIGINT)');
    expect(types['add']).toBe('STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))');
    expect(types['remove']).toBe('STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)');
    expect(types['metaData']).toBe('STRUCT(id VARCHAR, "name" VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "options" MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "configuration" MAP(VARCHAR, VARCHAR), createdTime BIGINT)');
    expect(types['protocol']).toBe('STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])');
    const cpRows = await duckQuery(`SELECT add.stats AS stats, remove.path AS removed, remove.deletionTimestamp AS ts FROM read_parquet('${path.join(logDir(), '00000000000000000010.checkpoint.parquet')}') WHERE add IS NOT NULL OR remove IS NOT NULL`);
    expect(cpRows.filter((r) => r['removed'] !== null).map((r) => r['removed'])).toEqual([replaced.path]);
    expect(cpRows.filter((r) => r['stats'] !== null).every((r) => /"numRecords":\d+/.test(String(r['stats'])))).toBe(true);

    // A fresh reader that only has the checkpoint and later commits (earlier JSON gone) sees the same table.
    for (let v = 0; v < 10; v++) await writeFile(path.join(logDir(), `${String(v).padStart(20, '0')}.json`), 'not json any more');
    const fromCheckpoint = await fresh();
    expect(fromCheckpoint.files.map((f) => f.path)).toEqual(ours.files.map((f) => f.path));
    expect(fromCheckpoint.tombstones.map((t) => t.path)).toEqual([replaced.path]);
  });

  it('leaves tombstones older than delta.deletedFileRetentionDuration out of the checkpoint', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('a'), fakeAdd('b')], metadata: { ...EVENTS_METADATA, configuration: { 'delta.deletedFileRetentionDuration': 'interval 2 days' } } }));
    await table.commit(request(0, { remove: [fakeAdd('a')] }));
    clock += 3 * DAY;
    await table.commit(request(1, { remove: [fakeAdd('b')], add: [fakeAdd('c')] }));
    for (let v = 3; v <= 10; v++) await table.commit(request(v - 1, { add: [fakeAdd(`f${v}`)] }));
    const duck = await duckQuery(`SELECT remove.path AS p FROM read_parquet('${path.join(logDir(), '00000000000000000010.checkpoint.parquet')}') WHERE remove IS NOT NULL`);
    expect(duck.map((r) => r['p'])).toEqual(['event_date=2026-11-20/b']);
  });

  it('changes the schema with a new metaData (same table id) and refuses a column type it cannot write', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('a')], metadata: EVENTS_METADATA }));
    const id = (await fresh()).metadata.id;
    // The same metadata again writes no metaData action.
    await table.commit(request(0, { add: [fakeAdd('b')], metadata: EVENTS_METADATA }));
    expect((await logLines(1)).map((l) => Object.keys(l)[0])).toEqual(['commitInfo', 'add']);
    const wider = new Schema([...EVENTS_METADATA.schema.fields, new Field('extra', new Utf8(), true)]);
    await table.commit(request(1, { add: [fakeAdd('c')], metadata: { ...EVENTS_METADATA, schema: wider } }));
    const after = await fresh();
    expect(after.metadata.id).toBe(id);
    expect(after.metadata.schema.fields.map((f) => f.name)).toContain('extra');
    const refused = await table
      .commit(request(2, { metadata: { ...EVENTS_METADATA, schema: new Schema([...EVENTS_METADATA.schema.fields, new Field('tags', new List(new Field('item', new Utf8())), true)]) } }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InternalError);
    expect((refused as InternalError).message).toMatch(/column tags has Arrow type List/);
    expect((await readdir(logDir())).filter((n) => n.endsWith('.json'))).toHaveLength(3);
  });
});

describe('refusals', () => {
  it('refuses a remove on a delta.appendOnly=true table, and allows appends', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('a')], metadata: { ...EVENTS_METADATA, configuration: { 'delta.appendOnly': 'true' } } }));
    await table.commit(request(0, { add: [fakeAdd('b')] }));
    const refused = await table.commit(request(1, { remove: [fakeAdd('a')], add: [fakeAdd('c')] })).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).code).toBe('LAKEHOUSE_UNSUPPORTED_FEATURE');
    expect((refused as ConfigError).message).toMatch(/delta\.appendOnly=true/);
    expect((await fresh()).version).toBe(1);
  });

  const protocols: [string, Record<string, unknown>, RegExp][] = [
    ['writer version 4', { minReaderVersion: 1, minWriterVersion: 4 }, /changeDataFeed/],
    ['a writer feature we lack', { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['appendOnly', 'changeDataFeed'] }, /`changeDataFeed`/],
    ['columnMapping', { minReaderVersion: 2, minWriterVersion: 5 }, /columnMapping/],
    ['a reader feature (deletionVectors)', { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] }, /`deletionVectors`/],
  ];
  for (const [label, protocol, named] of protocols) {
    it(`never writes a table with ${label}, and names it`, async () => {
      const table = lakehouse.table('events');
      await table.commit(request(-1, { add: [fakeAdd('a')], metadata: EVENTS_METADATA }));
      // Another engine upgrades the protocol.
      await writeFile(path.join(logDir(), '00000000000000000001.json'), `${JSON.stringify({ commitInfo: { operation: 'UPGRADE PROTOCOL' } })}\n${JSON.stringify({ protocol })}\n`);
      const refused = await lakehouseOnStore(temp.store).table('events').commit(request(1, { add: [fakeAdd('b')] })).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).code).toBe('LAKEHOUSE_UNSUPPORTED_FEATURE');
      expect((refused as ConfigError).message).toMatch(named);
      expect((refused as ConfigError).message).toMatch(/events/);
      expect((await readdir(logDir())).filter((n) => n.endsWith('.json'))).toHaveLength(2);
    });
  }

  it('never creates a table with a property that switches on a feature it does not implement', async () => {
    const table = lakehouse.table('events');
    const refused: Record<string, string>[] = [{ 'delta.enableDeletionVectors': 'true' }, { 'delta.columnMapping.mode': 'name' }, { 'delta.enableChangeDataFeed': 'TRUE' }];
    for (const configuration of refused) {
      await expect(table.commit(request(-1, { add: [fakeAdd('a')], metadata: { ...EVENTS_METADATA, configuration } }))).rejects.toThrow(/needs the Delta feature/);
    }
    await expect(readdir(logDir())).rejects.toThrow();
    await table.commit(request(-1, { add: [fakeAdd('a')], metadata: { ...EVENTS_METADATA, configuration: { 'delta.enableDeletionVectors': 'false', 'delta.checkpointInterval': '3' } } }));
    const results = [];
    for (let v = 1; v <= 3; v++) results.push((await table.commit(request(v - 1, { add: [fakeAdd(`f${v}`)] }))).checkpointWritten);
    expect(results).toEqual([false, false, true]);
  });

  it('writes a writer-7 table whose features are only appendOnly and invariants, but not one with a column invariant', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('a')], metadata: EVENTS_METADATA }));
    await writeFile(path.join(logDir(), '00000000000000000001.json'), `${JSON.stringify({ protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['appendOnly', 'invariants'] } })}\n`);
    const other = lakehouseOnStore(temp.store).table('events');
    expect((await other.commit(request(1, { add: [fakeAdd('b')] }))).version).toBe(2);
    const snapshot = await fresh();
    const schema = JSON.parse(snapshot.metadata.schemaString) as { fields: { metadata: Record<string, string> }[] };
    (schema.fields[0] as { metadata: Record<string, string> }).metadata['delta.invariants'] = '{"expression":{"expression":"id > 0"}}';
    const metaData = { id: snapshot.metadata.id, format: { provider: 'parquet', options: {} }, schemaString: JSON.stringify(schema), partitionColumns: ['event_date'], configuration: {} };
    await writeFile(path.join(logDir(), '00000000000000000003.json'), `${JSON.stringify({ metaData })}\n`);
    const refused = await other.commit(request(3, { add: [fakeAdd('c')] })).catch((error: unknown) => error);
    expect((refused as ConfigError).message).toMatch(/invariants \(delta\.invariants on id\)/);
  });
});

describe('races inside one process (two writers planned on the same version)', () => {
  async function twoWriters(): Promise<{ a: ReturnType<Lakehouse['table']>; b: ReturnType<Lakehouse['table']> }> {
    const a = lakehouseOnStore(temp.store, { now: () => clock }).table('events');
    const b = lakehouseOnStore(temp.store, { now: () => clock }).table('events');
    await a.commit(request(-1, { add: [fakeAdd('base-1', '2026-11-20'), fakeAdd('base-2', '2026-11-21')], metadata: EVENTS_METADATA, txn: { appId: 'app-a', version: 0 } }));
    await b.snapshot();
    return { a, b };
  }

  it('a blind append that lost the race is retried at the next version; both commits are in the table once', async () => {
    const { a, b } = await twoWriters();
    expect((await a.commit(request(0, { add: [fakeAdd('a-1')], txn: { appId: 'app-a', version: 1 } }))).version).toBe(1);
    const lost = await b.commit(request(0, { add: [fakeAdd('b-1')], txn: { appId: 'app-b', version: 0 } }));
    expect(lost).toEqual({ version: 2, racesLost: 1, checkpointWritten: false });
    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    expect(duck.files.map((f) => f.path)).toEqual(['event_date=2026-11-20/a-1', 'event_date=2026-11-20/b-1', 'event_date=2026-11-20/base-1', 'event_date=2026-11-21/base-2']);
    expect(Object.fromEntries(duck.txns)).toEqual({ 'app-a': 1, 'app-b': 0 });
    // The loser's own snapshot now holds the winner's commit too.
    expect((await b.snapshot())?.files).toHaveLength(4);
  });

  const conflicts: [CommitConflictError['reason'], (b: ReturnType<Lakehouse['table']>) => Promise<unknown>, (a: ReturnType<Lakehouse['table']>) => Promise<unknown>][] = [
    ['txn', (a) => a.commit(request(0, { add: [fakeAdd('a-1')], txn: { appId: 'app-a', version: 1 } })), (b) => b.commit(request(0, { add: [fakeAdd('b-1')], txn: { appId: 'app-a', version: 1 } }))],
    ['removed-file', (a) => a.commit(request(0, { remove: [fakeAdd('base-1', '2026-11-20')] })), (b) => b.commit(request(0, { remove: [fakeAdd('base-1', '2026-11-20')], add: [fakeAdd('b-1')] }))],
    [
      'partition-changed',
      (a) => a.commit(request(0, { add: [fakeAdd('a-1', '2026-11-21')] })),
      (b) => b.commit(request(0, { remove: [fakeAdd('base-2', '2026-11-21')], add: [fakeAdd('b-1', '2026-11-21')], readPartitions: ['2026-11-21'] })),
    ],
    ['metadata', (a) => a.commit(request(0, { metadata: { ...EVENTS_METADATA, configuration: { x: 'y' } } })), (b) => b.commit(request(0, { add: [fakeAdd('b-1')] }))],
  ];
  for (const [reason, winner, loser] of conflicts) {
    it(`a lost race that conflicts on ${reason} throws CommitConflictError and writes nothing`, async () => {
      const { a, b } = await twoWriters();
      await winner(a);
      const before = (await readdir(logDir())).sort();
      const error = await loser(b).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommitConflictError);
      expect((error as CommitConflictError).reason).toBe(reason);
      expect((error as CommitConflictError).retryable).toBe(true);
      expect((error as CommitConflictError).code).toBe('LAKEHOUSE_COMMIT_CONFLICT');
      expect((error as CommitConflictError).message).toMatch(/events: planned on version 0, but the writer of version 1/);
      expect((await readdir(logDir())).sort()).toEqual(before);
    });
  }

  it('a plan that read other partitions than the winner changed commits at the next version', async () => {
    const { a, b } = await twoWriters();
    await a.commit(request(0, { add: [fakeAdd('a-1', '2026-11-21')] }));
    const result = await b.commit(request(0, { remove: [fakeAdd('base-1', '2026-11-20')], add: [fakeAdd('b-1', '2026-11-20')], readPartitions: ['2026-11-20'] }));
    expect(result.version).toBe(2);
    expect((await fresh()).files.map((f) => f.path)).toEqual(['event_date=2026-11-20/b-1', 'event_date=2026-11-21/a-1', 'event_date=2026-11-21/base-2']);
  });

  it('two creates: the second gets a metadata conflict', async () => {
    const a = lakehouseOnStore(temp.store).table('events');
    const b = lakehouseOnStore(temp.store).table('events');
    await a.commit(request(-1, { add: [fakeAdd('a')], metadata: EVENTS_METADATA }));
    const error = await b.commit(request(-1, { add: [fakeAdd('b')], metadata: EVENTS_METADATA })).catch((e: unknown) => e);
    expect((error as CommitConflictError).reason).toBe('metadata');
    expect((await fresh()).files.map((f) => f.path)).toEqual(['event_date=2026-11-20/a']);
  });

  it('refuses a plan from a version the table never had, and removing a file that is not live', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('a')], metadata: EVENTS_METADATA }));
    await expect(table.commit(request(5, { add: [fakeAdd('b')] }))).rejects.toThrow(/readVersion 5 is newer than the table's version 0/);
    const error = await table.commit(request(0, { remove: [fakeAdd('nope')] } as Partial<CommitRequest>)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalError);
    expect((error as InternalError).message).toMatch(/event_date=2026-11-20\/nope is not a live file of version 0/);
  });
});

describe('log cleanup', () => {
  it('deletes log files behind the checkpoint once older than delta.logRetentionDuration, never the newest of an app', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('f0')], metadata: { ...EVENTS_METADATA, configuration: { 'delta.logRetentionDuration': 'interval 2 days' } }, txn: { appId: 'old-app', version: 7 }, info: { cursor: 'old' } }));
    for (let v = 1; v < 20; v++) await table.commit(request(v - 1, { add: [fakeAdd(`f${v}`)], txn: { appId: 'main', version: v }, info: { cursor: v } }));
    // Version 10 checkpointed; nothing was old enough to clean yet.
    expect((await readdir(logDir())).filter((n) => n.endsWith('.json'))).toHaveLength(20);
    const old = (Date.now() - 3 * DAY) / 1000;
    for (const name of await readdir(logDir())) await utimes(path.join(logDir(), name), old, old);
    await table.commit(request(19, { add: [fakeAdd('f20')], txn: { appId: 'main', version: 20 }, info: { cursor: 20 } }));
    // The cutoff commit is 19 (20 is new), so the cutoff checkpoint is 10: everything below it goes, except
    // version 0, old-app's newest (and only) commit, which holds its cursor.
    const version = (v: number): string => `${String(v).padStart(20, '0')}.json`;
    const names = (await readdir(logDir())).sort();
    expect(names).toEqual([
      version(0),
      '00000000000000000010.checkpoint.parquet',
      ...Array.from({ length: 11 }, (_, i) => version(10 + i)),
      '00000000000000000020.checkpoint.parquet',
      '_last_checkpoint',
    ].sort());
    const snapshot = await fresh();
    expect(snapshot.files).toHaveLength(21);
    expect((await snapshot.appCommit('old-app'))?.info).toEqual({ cursor: 'old' });
    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    expect(duck.files.map((f) => f.path)).toEqual(snapshot.files.map((f) => f.path));

    // A new process, whose txns come from checkpoint 20 (no commit version known), cleans at 30: it finds
    // old-app's commit among the files it is about to delete and keeps it.
    for (const name of await readdir(logDir())) await utimes(path.join(logDir(), name), old, old);
    const next = lakehouseOnStore(temp.store, { now: () => clock }).table('events');
    for (let v = 21; v <= 30; v++) await next.commit(request(v - 1, { add: [fakeAdd(`f${v}`)], txn: { appId: 'main', version: v } }));
    expect((await readdir(logDir())).filter((n) => n.endsWith('.json')).sort()).toEqual([0, ...Array.from({ length: 11 }, (_, i) => 20 + i)].map(version));
    expect((await (await fresh()).appCommit('old-app'))?.info).toEqual({ cursor: 'old' });
  });

  it('keeps everything when the retention property is not an interval it reads', async () => {
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('f0')], metadata: { ...EVENTS_METADATA, configuration: { 'delta.logRetentionDuration': 'interval 1 month' } } }));
    clock += 400 * DAY;
    for (let v = 1; v <= 10; v++) await table.commit(request(v - 1, { add: [fakeAdd(`f${v}`)] }));
    expect((await readdir(logDir())).filter((n) => n.endsWith('.json'))).toHaveLength(11);
  });
});
