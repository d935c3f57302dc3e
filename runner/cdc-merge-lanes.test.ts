/**
 * `--merge-encoders 1|2`: a big cdc merge that rewrites no live file writes its files on one encoder worker (the
 * default) or on two at once (lanes), while the merging thread reads and filters the staged rows. The table must hold
 * exactly what the merging thread alone writes (a merge below the lanes' row threshold; read back by DuckDB over the
 * Delta log); merges that rewrite files keep to the calling thread; a lane that fails stops the merge with nothing
 * left behind.
 */
import { join } from 'node:path';
import { Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, TransientError, batchFromColumns } from '../connector-spec/index.js';
import type { AddFile, DeltaTable } from '../lakehouse/index.js';
import { filesEncodedOnWorkers } from '../lakehouse/parquet/parquet-encoder.js';
import { CallStaging } from './call-staging.js';
import { MAX_FILE_ROWS, MIN_LANE_FILE_ROWS, mergeCdc, splitJobs } from './cdc-merge.js';
import { crashAt } from './faults.js';
import { KeyHashIndex, hashKeys } from './key-index.js';
import type { TableDataWriter } from './table-data-writer.js';
import { logCommits } from './testing/delta-log.js';
import { deltaScan, query } from './testing/duckdb.js';
import { runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const job = (value: string, batches: number[], rows: number, files: number[] = []) => ({
  value,
  batches,
  rows,
  files: files.map((i) => ({ file: { path: `f${i}.parquet` } as never, drop: undefined })),
});

describe('splitJobs', () => {
  it('one lane: the jobs as they are, in order', () => {
    const jobs = [job('a', [0, 1], 10), job('b', [2], 900_000)];
    expect(splitJobs(jobs, 1, () => 5)).toEqual(jobs);
  });

  it('two lanes: a big partition is cut into contiguous runs of its batches, its rewritten files with the last; largest first', () => {
    const rows = 4_000;
    const batches = Array.from({ length: 100 }, (_, i) => i);
    const big = job('2026-03-31', batches, 100 * rows, [7, 8]);
    const small = job('2026-03-30', [100, 101], 2 * rows);
    const out = splitJobs([small, big], 2, () => rows);
    expect(out.map((j) => j.value)).toEqual(['2026-03-31', '2026-03-31', '2026-03-30']);
    expect(out[0]!.rows + out[1]!.rows).toBe(100 * rows);
    expect(Math.abs(out[0]!.rows - out[1]!.rows)).toBeLessThanOrEqual(rows);
    expect([...out[0]!.batches, ...out[1]!.batches].sort((a, b) => a - b)).toEqual(batches);
    for (const j of out.slice(0, 2)) expect(j.batches).toEqual(Array.from({ length: j.batches.length }, (_, i) => j.batches[0]! + i));
    expect(out.flatMap((j) => j.files.map((f) => f.file.path))).toEqual(['f7.parquet', 'f8.parquet']);
    expect(out.find((j) => j.files.length > 0)!.batches.at(-1)).toBe(99);
  });

  it('one lane: a partition above MAX_FILE_ROWS staged rows is cut into files of contiguous runs, in order; smaller ones stay whole', () => {
    const rows = 16_384;
    const n = Math.ceil((2.5 * MAX_FILE_ROWS) / rows); // a 2.5M-row day: three files
    const big = job('2026-03-31', Array.from({ length: n }, (_, i) => i), n * rows, [4]);
    const small = job('2026-03-30', [n, n + 1], 2 * rows);
    const out = splitJobs([small, big], 1, () => rows);
    expect(out.map((j) => j.value)).toEqual(['2026-03-30', '2026-03-31', '2026-03-31', '2026-03-31']);
    expect(out[0]).toEqual(small);
    const pieces = out.slice(1);
    expect(pieces.flatMap((j) => j.batches)).toEqual(big.batches);
    for (const j of pieces) expect(j.rows).toBeLessThanOrEqual(MAX_FILE_ROWS);
    expect(Math.max(...pieces.map((j) => j.rows)) - Math.min(...pieces.map((j) => j.rows))).toBeLessThanOrEqual(2 * rows);
    expect(pieces.map((j) => j.files.length)).toEqual([0, 0, 1]); // rewritten files go with the last run
  });

  it('two lanes: a partition under twice the smallest lane file stays whole', () => {
    const rows = 1_000;
    const n = Math.floor((2 * MIN_LANE_FILE_ROWS - 1) / rows);
    const out = splitJobs([job('d', Array.from({ length: n }, (_, i) => i), n * rows)], 2, () => rows);
    expect(out).toHaveLength(1);
  });
});

const DATASET = { events: 400, interleaveEventDays: true } as const;

async function tableRows(): Promise<string[]> {
  return (await query(`SELECT event_id, name, event_date FROM ${await deltaScan(dirs.lakehouse, 'events')} ORDER BY event_id`)).map((r) => JSON.stringify(r));
}

/**
 * The table the merging thread alone writes for DATASET (read once, in folders of its own): 400 events stage far fewer
 * rows than LANES_FROM_ROWS, so every merge of that run is written on the merging thread.
 */
let merged: Promise<string[]> | undefined;
function mergingThreadRows(): Promise<string[]> {
  merged ??= (async () => {
    const own = dirs;
    dirs = await tempDirs();
    try {
      const before = filesEncodedOnWorkers();
      const one = await runFixture(dirs, { dataset: DATASET, tables: ['events'] });
      expect(one.tables.map((t) => t.status)).toEqual(['ok']);
      expect(filesEncodedOnWorkers()).toBe(before);
      const rows = await tableRows();
      expect(rows.length).toBeGreaterThan(0);
      return rows;
    } finally {
      await dirs.cleanup();
      dirs = own;
    }
  })();
  return merged;
}

describe('a cdc merge on encoder workers (--merge-encoders 1 and 2)', () => {
  it.each([1, 2])('with %i: writes the same table as the merging thread alone; only merges that rewrite no file use the workers', async (count) => {
    const expected = await mergingThreadRows();
    const before = filesEncodedOnWorkers();
    const onLanes = await runFixture(dirs, { dataset: DATASET, tables: ['events'], mergeEncoders: count, mergeLanesFromRows: 1 });
    expect(onLanes.tables.map((t) => t.status)).toEqual(['ok']);
    expect(await tableRows()).toEqual(expected);

    const commits = (await logCommits(dirs.lakehouse, 'events')).filter((c) => c.adds.length > 0);
    const first = commits[0]!;
    expect(first.removes).toHaveLength(0);
    // The first call rewrote nothing: each of its files was encoded on a worker. Later calls rewrite files that hold a
    // re-delivered event (removes > 0): those are written on the calling thread.
    const rewriting = commits.filter((c) => c.removes.length > 0);
    expect(rewriting.length).toBeGreaterThan(0);
    const onWorkers = filesEncodedOnWorkers() - before;
    expect(onWorkers).toBeGreaterThanOrEqual(first.adds.length);
    expect(onWorkers).toBeLessThan(commits.reduce((n, c) => n + c.adds.length, 0));
    expect(await strayFiles(dirs.lakehouse)).toEqual([]);
  });

  it('a call that fails after its lane files were written commits nothing; the next run holds every event once', async () => {
    const expected = await mergingThreadRows();
    // The first call's merge writes its files on the worker, then fails before its commit (a transient error).
    const before = filesEncodedOnWorkers();
    let failed = 0;
    const faults = crashAt('written', 1, () => {
      failed++;
      throw new TransientError('injected: the commit store went away', { code: 'TEST_INJECTED' });
    });
    const broken = await runFixture(dirs, { dataset: DATASET, tables: ['events'], mergeLanesFromRows: 1, faults });
    expect(failed).toBe(1);
    expect(filesEncodedOnWorkers() - before).toBeGreaterThan(0);
    expect(broken.tables.map((t) => t.status)).toEqual(['failed']);
    expect(await logCommits(dirs.lakehouse, 'events').catch(() => [])).toEqual([]);
    const next = await runFixture(dirs, { dataset: DATASET, tables: ['events'], mergeLanesFromRows: 1 });
    expect(next.tables.map((t) => t.status)).toEqual(['ok']);
    expect(await tableRows()).toEqual(expected);
    expect(await strayFiles(dirs.lakehouse)).toEqual([]);
  });

  it('rejects a count other than 1 or 2 before anything is read or written', async () => {
    expect.hasAssertions();
    const error = await runFixture(dirs, { tables: ['events'], mergeEncoders: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('--merge-encoders must be 1 or 2, got 3');
    expect(await strayFiles(dirs.lakehouse)).toEqual([]);
  });
});

/** A writer that records what happens to it; `failAt` makes one step throw. */
function fakeWriter(name: string, log: string[], failAt?: 'write' | 'close'): TableDataWriter {
  const file = { path: `${name}.parquet`, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true } as AddFile;
  let wrote = false;
  const writer = {
    async writeToPartition() {
      if (failAt === 'write') throw new Error(`${name}: disk full`);
      wrote = true;
    },
    async finishPartition() {},
    async close() {
      if (failAt === 'close') throw new Error(`${name}: upload failed`);
      log.push(`${name} closed`);
      return wrote ? [file] : [];
    },
    async abort() {
      log.push(`${name} aborted`);
    },
    async discard(files: readonly AddFile[]) {
      log.push(`${name} discarded ${files.map((f) => f.path).join(',')}`);
    },
  };
  return writer as unknown as TableDataWriter;
}

describe('a lane that fails', () => {
  const schema = new Schema([new Field('k', new Utf8(), false), new Field('s', new Int64(), false), new Field('d', new Utf8(), false)]);

  /** Two partitions (two jobs, one for each lane). */
  async function stagedCall(): Promise<{ staging: CallStaging; index: KeyHashIndex }> {
    const staging = new CallStaging({ dir: join(dirs.root, 'staging'), schema, partitionBy: 'd' });
    const index = new KeyHashIndex();
    for (let b = 0; b < 6; b++) {
      const batch = batchFromColumns(schema, [Array.from({ length: 100 }, (_, i) => `k${b * 100 + i}`), Array.from({ length: 100 }, () => 1n), Array.from({ length: 100 }, () => (b < 3 ? 'a' : 'b'))]);
      await staging.add(batch);
      index.add(hashKeys([batch.getChild('k')!], batch.numRows));
    }
    return { staging, index };
  }

  for (const failAt of ['write', 'close'] as const) {
    it(`fails the merge at ${failAt}, after every lane stopped: all lanes aborted, files of lanes that closed deleted`, async () => {
      expect.hasAssertions();
      const { staging, index } = await stagedCall();
      const log: string[] = [];
      const main = fakeWriter('main', log);
      const lanes = [fakeWriter('lane0', log), fakeWriter('lane1', log, failAt)];
      const error = await mergeCdc({
        table: {} as DeltaTable, // no live file: the merge reads nothing from the table
        live: [],
        staging,
        index,
        keys: ['k'],
        sequenceBy: ['s'],
        partitionBy: 'd',
        schema,
        writer: main,
        lanes: () => lanes,
        lanesFromRows: 1,
      }).catch((e: unknown) => e);
      await staging.dispose();
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('lane1');
      expect(log).toContain('lane0 aborted');
      expect(log).toContain('lane1 aborted');
      // A lane that closed before the other failed handed its files over: they are deleted, not left as orphans.
      if (failAt === 'close') expect(log).toContain('main discarded lane0.parquet');
      else expect(log.filter((l) => l.includes('discarded'))).toEqual(['main discarded ']);
      expect(log).not.toContain('main closed');
    });
  }
});
