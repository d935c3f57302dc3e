/**
 * A cdc call's rows are written partition by partition: each partition the call touched gets one new file (its
 * staged rows, then the rows kept from its rewritten files), however the call's batches interleave partitions, so
 * the encoder holds one open file's row group at a time. Read back by DuckDB over the Delta log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logCommits } from './testing/delta-log.js';
import { deltaScan, query } from './testing/duckdb.js';
import { runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';
import { makeDataset } from './testing/memory-source.js';
import { MAX_OPEN_FILES } from './table-data-writer.js';

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('a cdc call whose batches interleave partitions', () => {
  it.each([
    ['staged in memory', undefined],
    // Every staged batch spills to the call's file, and the merge reads each back from it (twice: step 2 and step 3).
    ['every staged batch spilled to the call file', 0],
  ])('adds one file per partition it touched, and the table holds the newest version of every event (%s)', async (_how, stagingMemoryBytes) => {
    const dataset = { events: 400, interleaveEventDays: true } as const;
    const report = await runFixture(dirs, { dataset, tables: ['events'], ...(stagingMemoryBytes !== undefined ? { stagingMemoryBytes } : {}) });
    expect(report.tables.map((t) => [t.table, t.status])).toEqual([['events', 'ok']]);

    const commits = (await logCommits(dirs.lakehouse, 'events')).filter((c) => c.adds.length > 0);
    expect(commits.length).toBeGreaterThan(2); // several calls, the later ones rewriting files that hold a re-delivered event
    expect(commits.some((c) => c.removes.length > 0)).toBe(true);
    for (const commit of commits) {
      const perPartition = new Map<string, number>();
      for (const add of commit.adds) {
        const day = String(add.partitionValues['event_date']);
        perPartition.set(day, (perPartition.get(day) ?? 0) + 1);
      }
      // Each call touches far more partitions than the writer keeps open, so a least-recently-used writer would split them.
      expect(perPartition.size).toBeGreaterThan(MAX_OPEN_FILES * 2);
      expect([...perPartition.values()].every((n) => n === 1)).toBe(true);
    }

    const newest = new Map<string, { name: string; processedAt: bigint }>();
    for (const e of makeDataset(dataset).events) {
      const current = newest.get(e.eventId);
      if (!current || e.processedAt > current.processedAt) newest.set(e.eventId, { name: e.name, processedAt: e.processedAt });
    }
    const rows = await query(`SELECT event_id, name FROM ${await deltaScan(dirs.lakehouse, 'events')}`);
    expect(rows.length).toBe(newest.size);
    for (const row of rows) expect(row['name']).toBe(newest.get(String(row['event_id']))!.name);
    expect(await strayFiles(dirs.lakehouse)).toEqual([]);
  });
});
