/**
 * Small tables for the lakehouse tests: a partitioned schema with every type the writer maps, rows to put in
 * data files, a temp store, and commit requests in one line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Field, Int64, Schema, TimeUnit, Timestamp, Utf8, Bool, DateDay, Float64, Int32, tableFromArrays, type Table } from 'apache-arrow';
import { utf8MapType } from '../../connector-spec/index.js';
import { LocalStore } from '../storage/local.js';
import type { AddFile, CommitRequest, NewMetadata } from '../types.js';

export const EVENTS_SCHEMA = new Schema([
  new Field('id', new Int64(), false),
  new Field('name', new Utf8(), true),
  new Field('time', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), true),
  new Field('event_date', new Utf8(), false),
  new Field('day', new DateDay(), true),
  new Field('score', new Float64(), true),
  new Field('n', new Int32(), true),
  new Field('ok', new Bool(), true),
  new Field('custom_properties', utf8MapType(), true),
]);

export const EVENTS_METADATA: NewMetadata = { schema: EVENTS_SCHEMA, partitionColumns: ['event_date'], configuration: { 'mixpanelLakeflow.writer': 'test' } };

/** Rows `[from, from + count)` with ids and names (the columns a data file of these tests stores). */
export function rowsTable(from: number, count: number): Table {
  const ids = new BigInt64Array(count);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    ids[i] = BigInt(from + i);
    names.push(`row-${from + i}`);
  }
  return tableFromArrays({ id: ids, name: names });
}

export interface TempStore {
  readonly dir: string;
  readonly store: LocalStore;
  remove(): Promise<void>;
}

export async function tempStore(prefix = 'lakehouse-'): Promise<TempStore> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, store: new LocalStore(dir), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** An `add` for a file that does not exist (log-only tests). */
export function fakeAdd(name: string, partition = '2026-11-20', size = 100): AddFile {
  return {
    path: `event_date=${partition}/${name}`,
    partitionValues: { event_date: partition },
    size,
    modificationTime: 1_700_000_000_000,
    dataChange: true,
    stats: JSON.stringify({ numRecords: 1 }),
    numRecords: 1,
  };
}

export function request(readVersion: number, parts: Partial<CommitRequest> = {}): CommitRequest {
  return { readVersion, operation: 'WRITE', add: [], remove: [], ...parts };
}
