import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLakehouse } from '../lakehouse/index.js';
import { liveRowsOf } from './live-rows.js';
import { deltaScan, query } from './testing/duckdb.js';
import { runFixture, tempDirs, type Dirs } from './testing/harness.js';

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

async function live(lakehouse: string, table: string) {
  const lake = await openLakehouse(lakehouse, { env: {} });
  const delta = lake.table(table);
  return liveRowsOf(delta, (await delta.snapshot())?.files ?? []);
}

describe('liveRowsOf', () => {
  it('yields exactly the committed rows of a table, projected on the asked columns, absent columns as null', async () => {
    expect.hasAssertions();
    await runFixture(dirs);
    const rows: (readonly unknown[])[] = [];
    for await (const row of (await live(dirs.lakehouse, 'items'))(['id', 'label', 'no_such_column'])) rows.push(row);
    const expected = await query(`SELECT id, label FROM ${await deltaScan(dirs.lakehouse, 'items')} ORDER BY id`);
    expect(expected.length).toBeGreaterThan(0);
    const sorted = [...rows].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(sorted).toEqual(expected.map((r) => [r['id'], r['label'], null]));
  });

  it('refuses nested columns and yields nothing for a table that does not exist yet', async () => {
    expect.hasAssertions();
    await runFixture(dirs);
    const read = async (table: string, columns: string[]): Promise<number> => {
      let n = 0;
      for await (const _ of (await live(dirs.lakehouse, table))(columns)) n++;
      return n;
    };
    await expect(read('items', ['props'])).rejects.toThrow(/props is nested/);
    expect(await read('never_written', ['id'])).toBe(0);
  });
});
