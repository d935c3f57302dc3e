/**
 * A cdc call into an empty, unpartitioned table is encoded while it is read (early-write.ts) and its files are
 * committed as they are when the call holds no key twice; a call that does hold one is merged from its staging as
 * before (the early files deleted, none left in the table folder); a small call and a table that already has files
 * never write early (nor does a partitioned table: `TableRun.writesWhileReading`). Real runs of the runner over the
 * in-memory source, read back by DuckDB over the Delta log.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EARLY_WRITE_FROM_ROWS } from './early-write.js';
import { logCommits, unreferencedDataFiles } from './testing/delta-log.js';
import { deltaScan, query } from './testing/duckdb.js';
import { runFixture, tempDirs, type Dirs } from './testing/harness.js';

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

/** One items call of `changes` rows in batches of 1,000 (key = i × 7919 mod `keys`: distinct while i < keys). */
const itemsSpec = (changes: number) => ({
  connection_name: 'memory',
  objects: [{ table: { source_table: 'items', table_configuration: { page_size: changes, batch_size: 1000 } } }],
});

/** Hidden temp files of uploads never finished (`.<name>.<pid>.<n>.<random>.tmp`) in a table's folder. */
async function unfinishedUploads(table: string): Promise<string[]> {
  return (await readdir(join(dirs.lakehouse, table))).filter((f) => f.startsWith('.') && f.endsWith('.tmp'));
}

describe('cdc calls encoded while read', () => {
  it('an empty unpartitioned table and a call with every key once: the early files are the commit, the rows exact', async () => {
    const changes = 40_000;
    const report = await runFixture(dirs, { spec: itemsSpec(changes), dataset: { itemChanges: changes, itemKeys: changes } });
    const items = report.tables.find((t) => t.table === 'items')!;
    expect(items.status).toBe('ok');
    expect(items.counters['cdc_calls_written_while_read']).toBe(1);
    const scan = await deltaScan(dirs.lakehouse, 'items');
    const [row] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(value) AS total FROM ${scan}`);
    expect(Number(row!['n'])).toBe(changes);
    expect(Number(row!['ids'])).toBe(changes);
    expect(BigInt(String(row!['total']))).toBe(BigInt((changes * (changes - 1)) / 2));
    // What was written is what the log holds: one file, no stray one beside it.
    const commits = await logCommits(dirs.lakehouse, 'items');
    expect(commits.flatMap((c) => c.adds)).toHaveLength(1);
    expect(await unreferencedDataFiles(dirs.lakehouse, 'items')).toEqual([]);
  });

  it('a key twice in the call (in its last batch): the early files are deleted and the merge keeps the later version', async () => {
    const changes = 40_000;
    // Keys repeat from i = 39,999 on: change 39,999 is a later version of item-0000 (change 0).
    const report = await runFixture(dirs, { spec: itemsSpec(changes), dataset: { itemChanges: changes, itemKeys: changes - 1 } });
    const items = report.tables.find((t) => t.table === 'items')!;
    expect(items.status).toBe('ok');
    expect(items.counters['cdc_calls_written_while_read']).toBeUndefined();
    const scan = await deltaScan(dirs.lakehouse, 'items');
    const [row] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${scan}`);
    expect(Number(row!['n'])).toBe(changes - 1);
    expect(Number(row!['ids'])).toBe(changes - 1);
    const [first] = await query(`SELECT value FROM ${scan} WHERE id = 'item-0000'`);
    expect(BigInt(String(first!['value']))).toBe(BigInt(changes - 1));
    // The early file was deleted: every file in the folder is one the log added.
    expect(await unreferencedDataFiles(dirs.lakehouse, 'items')).toEqual([]);
  });

  it('a call that fails after its early file was started: the file is deleted, the retry writes early again, the rows exact', async () => {
    const changes = 40_000;
    // The first attempt yields 30 batches (30,000 rows, past EARLY_WRITE_FROM_ROWS) and fails; the second succeeds.
    const report = await runFixture(dirs, {
      spec: itemsSpec(changes),
      dataset: { itemChanges: changes, itemKeys: changes },
      failures: [{ table: 'items', call: 1, kind: 'transient', afterBatches: 30 }],
    });
    const items = report.tables.find((t) => t.table === 'items')!;
    expect(items.status).toBe('ok');
    expect(items.retries).toBe(1);
    expect(items.counters['cdc_calls_written_while_read']).toBe(1);
    const [row] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${await deltaScan(dirs.lakehouse, 'items')}`);
    expect(Number(row!['n'])).toBe(changes);
    expect(Number(row!['ids'])).toBe(changes);
    // The failed attempt's early file, still open when it failed, was aborted: nothing of it is left.
    expect(await unreferencedDataFiles(dirs.lakehouse, 'items')).toEqual([]);
    expect(await unfinishedUploads('items')).toEqual([]);
  });

  it('no early write for a call below one row group, nor into a table that has files', async () => {
    const small = await runFixture(dirs, { spec: itemsSpec(EARLY_WRITE_FROM_ROWS - 1000), dataset: { itemChanges: EARLY_WRITE_FROM_ROWS - 1000, itemKeys: 50_000 } });
    expect(small.tables[0]!.counters['cdc_calls_written_while_read']).toBeUndefined();
    // The next run reads the rest of the changes into a table that now has a file.
    const next = await runFixture(dirs, { spec: itemsSpec(40_000), dataset: { itemChanges: 60_000, itemKeys: 50_000 } });
    expect(next.tables[0]!.status).toBe('ok');
    expect(next.tables[0]!.counters['cdc_calls_written_while_read']).toBeUndefined();
    const [row] = await query(`SELECT count(*) AS n FROM ${await deltaScan(dirs.lakehouse, 'items')}`);
    expect(Number(row!['n'])).toBe(50_000);
  });
});
