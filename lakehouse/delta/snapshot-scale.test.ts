/**
 * A table with 10k live files and 205 commits: a fresh snapshot costs one listing, one `_last_checkpoint`
 * read, one checkpoint read and one read per commit after it: no call per data file. A refresh after one more
 * commit reads only that commit. (How fast it is: `npm run bench`, not an assertion.)
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouseOnStore } from '../index.js';
import { CountingStore } from '../testing/counting-store.js';
import { duckDeltaTable } from '../testing/duckdb-delta.js';
import { EVENTS_METADATA, fakeAdd, request, tempStore, type TempStore } from '../testing/tables.js';

const COMMITS = 205;
const FILES_PER_COMMIT = 49;
let temp: TempStore;

beforeAll(async () => {
  temp = await tempStore('lakehouse-scale-');
  const table = lakehouseOnStore(temp.store, { checkpointInterval: 100 }).table('events');
  for (let v = 0; v < COMMITS; v++) {
    const add = Array.from({ length: FILES_PER_COMMIT }, (_, i) => fakeAdd(`part-${v}-${i}.parquet`, `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`, 1000 + i));
    // Every 10th commit rewrites one earlier file, so tombstones and removes are part of the replay.
    const remove = v > 0 && v % 10 === 0 ? [fakeAdd(`part-${v - 1}-0.parquet`, '2026-11-01', 1000)] : [];
    await table.commit(request(v - 1, { add, remove, txn: { appId: 'conn/events', version: v }, info: { cursor: v }, ...(v === 0 ? { metadata: EVENTS_METADATA } : {}) }));
  }
}, 120_000);
afterAll(async () => {
  await temp.remove();
});

describe('snapshot of 10k live files and 205 commits', () => {
  it('reads one listing, _last_checkpoint, the checkpoint and the 4 commits after it; nothing per file', async () => {
    const store = new CountingStore(temp.store);
    const table = lakehouseOnStore(store).table('events');
    const snapshot = await table.snapshot();
    const expectedFiles = COMMITS * FILES_PER_COMMIT - 20;
    expect(snapshot?.version).toBe(COMMITS - 1);
    expect(snapshot?.files).toHaveLength(expectedFiles);
    expect(store.count('list')).toBe(1);
    expect(store.count('head')).toBe(0);
    expect(store.reads).toEqual([
      'events/_delta_log/_last_checkpoint',
      'events/_delta_log/00000000000000000200.checkpoint.parquet',
      ...[201, 202, 203, 204].map((v) => `events/_delta_log/${String(v).padStart(20, '0')}.json`),
    ]);
    expect(snapshot?.txns.get('conn/events')?.version).toBe(COMMITS - 1);
    expect(snapshot?.tombstones).toHaveLength(20);

    // One more commit by another writer; the refresh reads just that one.
    await lakehouseOnStore(temp.store).table('events').commit(request(COMMITS - 1, { add: [fakeAdd('late.parquet')] }));
    store.reset();
    const refreshed = await table.snapshot();
    expect(refreshed?.files).toHaveLength(expectedFiles + 1);
    expect(store.count('list')).toBe(1);
    expect(store.reads).toEqual([`events/_delta_log/${String(COMMITS).padStart(20, '0')}.json`]);

    // verify() lists the table folder once instead of one head per file.
    store.reset();
    const problems = await table.verify(refreshed as NonNullable<typeof refreshed>);
    expect(problems).toHaveLength(expectedFiles + 1); // the files of this test are log-only: all missing
    expect(store.count('list')).toBe(1);
    expect(store.count('head')).toBe(0);

    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    expect(duck.files.map((f) => f.path)).toEqual(refreshed?.files.map((f) => f.path));
  });
});
