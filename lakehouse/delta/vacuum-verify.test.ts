/**
 * verify() finds live files that are missing or changed size; vacuum() deletes files removed longer ago than
 * the retention and old orphans, never live files, young files (a concurrent writer's), `_delta_log` or other
 * hidden folders; dryRun deletes nothing. Afterwards the table still reads back whole in DuckDB.
 */
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { lakehouseOnStore, type DeltaTable } from '../index.js';
import { writeTestFile } from '../testing/data-files.js';
import { duckDeltaTable, duckQuery } from '../testing/duckdb-delta.js';
import { copyGolden } from '../testing/golden.js';
import { EVENTS_METADATA, request, rowsTable, tempStore, type TempStore } from '../testing/tables.js';
import { LocalStore } from '../storage/local.js';
import type { AddFile, Snapshot } from '../types.js';

const DAY = 24 * 60 * 60 * 1000;
let temp: TempStore;
let clock: number;
let table: DeltaTable;

beforeEach(async () => {
  temp = await tempStore('lakehouse-vacuum-');
  clock = Date.now();
  table = lakehouseOnStore(temp.store, { now: () => clock }).table('events');
});
afterEach(async () => {
  await temp.remove();
});

const file = (add: AddFile): string => path.join(temp.dir, 'events', decodeURIComponent(add.path));
const write = (from: number, count: number, day = '2026-11-20'): Promise<AddFile> => writeTestFile(temp.store, 'events', rowsTable(from, count), { partitionValues: { event_date: day } });
const current = async (): Promise<Snapshot> => (await table.snapshot()) as Snapshot;

describe('verify', () => {
  it('reports a missing live file and one whose size changed, with their partitions', async () => {
    const [a, b, c] = [await write(0, 3), await write(3, 3, '2026-11-21'), await write(6, 3, 'a b:c')];
    await table.commit(request(-1, { add: [a, b, c], metadata: EVENTS_METADATA }));
    expect(await table.verify(await current())).toEqual([]);
    await rm(file(a));
    await writeFile(file(b), 'truncated');
    const problems = await table.verify(await current());
    expect(problems).toEqual([
      { path: a.path, problem: 'missing', expectedSize: a.size, partitionValues: { event_date: '2026-11-20' } },
      { path: b.path, problem: 'size-changed', expectedSize: b.size, actualSize: 9, partitionValues: { event_date: '2026-11-21' } },
    ]);
    expect(c.path).toContain('a%20b%3Ac');
  });
});

describe('vacuum', () => {
  it('deletes long-removed files and old orphans only; dryRun lists the same and deletes nothing', async () => {
    const [live, oldRemoved, newRemoved] = [await write(0, 2), await write(2, 2), await write(4, 2)];
    clock = Date.now() - 9 * DAY;
    await table.commit(request(-1, { add: [live, oldRemoved, newRemoved], metadata: EVENTS_METADATA }));
    clock = Date.now() - 8 * DAY;
    const replacement = await write(2, 1);
    await table.commit(request(0, { remove: [oldRemoved], add: [replacement] }));
    clock = Date.now() - DAY;
    await table.commit(request(1, { remove: [newRemoved] }));
    const oldOrphan = await write(100, 1);
    const youngOrphan = await write(200, 1);
    const eightDaysAgo = (Date.now() - 8 * DAY) / 1000;
    await utimes(file(oldOrphan), eightDaysAgo, eightDaysAgo);
    // Hidden things vacuum must never touch, however old.
    await mkdir(path.join(temp.dir, 'events', '_staging'), { recursive: true });
    await writeFile(path.join(temp.dir, 'events', '_staging', 'x.parquet'), 'x');
    await utimes(path.join(temp.dir, 'events', '_staging', 'x.parquet'), eightDaysAgo, eightDaysAgo);
    for (const name of await readdir(path.join(temp.dir, 'events', '_delta_log'))) await utimes(path.join(temp.dir, 'events', '_delta_log', name), eightDaysAgo, eightDaysAgo);
    const logBefore = (await readdir(path.join(temp.dir, 'events', '_delta_log'))).sort();
    clock = Date.now();

    const dry = await table.vacuum({ dryRun: true });
    expect([...dry.deleted].sort()).toEqual([oldRemoved.path, oldOrphan.path].map(decodeURIComponent).sort());
    expect(dry.bytes).toBe(oldRemoved.size + oldOrphan.size);
    expect(dry.retained).toBe(2);
    const onDisk = async (add: AddFile): Promise<boolean> => (await readdir(path.dirname(file(add)))).includes(path.basename(file(add)));
    expect(await onDisk(oldRemoved)).toBe(true);

    const done = await table.vacuum();
    expect(done).toEqual(dry);
    expect(await onDisk(oldRemoved)).toBe(false);
    expect(await onDisk(oldOrphan)).toBe(false);
    for (const kept of [live, replacement, newRemoved, youngOrphan]) expect(await onDisk(kept)).toBe(true);
    expect((await readdir(path.join(temp.dir, 'events', '_delta_log'))).sort()).toEqual(logBefore);
    expect(await readdir(path.join(temp.dir, 'events', '_staging'))).toEqual(['x.parquet']);

    // The table is whole for an outside reader.
    expect(await table.verify(await current())).toEqual([]);
    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    const [row] = await duckQuery(`SELECT count(*) AS n FROM ${await duck.scan()}`);
    expect(Number(row?.['n'])).toBe(3);

    // A zero retention takes the rest (the recently removed file and the young orphan), never a live file.
    const all = await table.vacuum({ retentionMs: 0 });
    expect([...all.deleted].sort()).toEqual([newRemoved.path, youngOrphan.path].map(decodeURIComponent).sort());
    expect(await table.verify(await current())).toEqual([]);
  });

  it('deletes the hidden temp file of an upload a crash interrupted once it is older than the retention, and not before', async () => {
    const live = await write(0, 5);
    await table.commit(request(-1, { add: [live], metadata: EVENTS_METADATA }));
    const dir = path.join(temp.dir, 'events', 'event_date=2026-11-20');
    const stale = path.join(dir, '.part-00000-dead.c000.zstd.parquet.4242.7.ab12cd.tmp');
    const young = path.join(dir, '.part-00000-busy.c000.zstd.parquet.4243.1.ef34gh.tmp');
    await writeFile(stale, 'half a file');
    await writeFile(young, 'being written');
    const old = new Date(clock - 8 * DAY);
    await utimes(stale, old, old);
    const dry = await table.vacuum({ dryRun: true });
    expect(dry.deleted).toEqual(['event_date=2026-11-20/.part-00000-dead.c000.zstd.parquet.4242.7.ab12cd.tmp']);
    expect((await readdir(dir)).sort()).toContain(path.basename(stale));
    await table.vacuum();
    const left = await readdir(dir);
    expect(left).not.toContain(path.basename(stale));
    expect(left).toContain(path.basename(young));
    expect(await table.verify(await current())).toEqual([]);
  });

  it('refuses a table with a feature it does not implement', async () => {
    const golden = await copyGolden('dv-partitioned-with-checkpoint');
    try {
      const dv = lakehouseOnStore(new LocalStore(golden.root)).table('dv-partitioned-with-checkpoint');
      const error = await dv.vacuum({ dryRun: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/deletionVectors/);
    } finally {
      await golden.remove();
    }
  });
});
