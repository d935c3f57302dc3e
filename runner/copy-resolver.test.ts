/**
 * The copy resolver (step 2 of the cdc merge): which versions of a key lose, against an oracle of the rule (newest
 * sequence wins; an incoming row wins a tie with an existing one; within the call the later row wins a tie), and the
 * stream property the merge relies on: once `through(b)` returned, batch b's losers never change, while reading only
 * as far as b's copies require. Staged batches are spilled to a real call file; existing rows are a real Parquet data
 * file read back through the table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchFromColumns } from '../connector-spec/index.js';
import { LocalStore, lakehouseOnStore, type AddFile, type DeltaTable } from '../lakehouse/index.js';
import { CallStaging } from './call-staging.js';
import { CopyResolver } from './copy-resolver.js';
import { KeyHashIndex, hashKeys } from './key-index.js';

const schema = new Schema([new Field('k', new Utf8(), false), new Field('s', new Int64(), false)]);
type Row = readonly [key: string, seq: number];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'copy-resolver-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 8 batches of 40 unique keys each, plus the planted versions `extra[b]` appended to batch b. */
function batchesWith(extra: Record<number, readonly Row[]>): Row[][] {
  return Array.from({ length: 8 }, (_, b) => [...Array.from({ length: 40 }, (_, i): Row => [`u${b}-${i}`, 1]), ...(extra[b] ?? [])]);
}

const batchOf = (rows: readonly Row[]) => batchFromColumns(schema, [rows.map((r) => r[0]), rows.map((r) => BigInt(r[1]))]);

/** The rule, over every version: staged losers by batch, and existing losers (origin −1). */
function oracle(staged: readonly Row[][], existing: readonly Row[]): Map<number, Set<number>> {
  const stagedByKey = new Map<string, { b: number; r: number; s: number }[]>();
  staged.forEach((rows, b) => rows.forEach(([k, s], r) => stagedByKey.set(k, [...(stagedByKey.get(k) ?? []), { b, r, s }])));
  const losers = new Map<number, Set<number>>();
  const lose = (origin: number, row: number) => losers.set(origin, (losers.get(origin) ?? new Set()).add(row));
  for (const [key, versions] of stagedByKey) {
    const ex = existing.flatMap(([k, s], r) => (k === key ? [{ r, s }] : []));
    const maxStaged = Math.max(...versions.map((v) => v.s));
    const bestExisting = ex.reduce<{ r: number; s: number } | undefined>((best, v) => (!best || v.s > best.s ? v : best), undefined);
    const stagedWinner = versions.filter((v) => v.s === maxStaged).at(-1)!;
    const existingWins = bestExisting !== undefined && bestExisting.s > maxStaged;
    for (const v of versions) if (existingWins || v !== stagedWinner) lose(v.b, v.r);
    for (const v of ex) if (!existingWins || v !== bestExisting) lose(-1, v.r);
  }
  return losers;
}

async function setUp(staged: readonly Row[][], existing: readonly Row[] = [], extraSuspects: readonly string[] = []) {
  const staging = new CallStaging({ dir: path.join(dir, 'staging'), schema, memoryBytes: 0 }); // every batch spilled
  const index = new KeyHashIndex();
  for (const rows of staged) {
    const batch = batchOf(rows);
    index.add(hashKeys([batch.getChild('k')!], batch.numRows));
    await staging.add(batch);
  }
  index.seal();
  const suspects = new Set(index.duplicates());
  const table: DeltaTable = lakehouseOnStore(new LocalStore(path.join(dir, 'lake'))).table('t');
  const hitFiles: AddFile[] = [];
  if (existing.length > 0) {
    const writer = await table.createDataFile({ partitionValues: {}, schema, encodeOn: 'calling-thread' });
    const batch = batchOf(existing);
    await writer.write(batch);
    hitFiles.push(await writer.close());
    for (const h of hashKeys([batch.getChild('k')!], batch.numRows)) if (index.has(h)) suspects.add(h);
  }
  // A hash no staged row holds (as a collision would bring in): its existing row must never lose.
  for (const key of extraSuspects) suspects.add(hashKeys([batchOf([[key, 0]]).getChild('k')!], 1)[0]!);
  const resolver = new CopyResolver({ staging, table, schema, keys: ['k'], sequenceBy: ['s'], suspects, occurrences: (h) => index.occurrences(h), hitFiles });
  const reads = vi.spyOn(staging, 'get');
  return { staging, resolver, reads };
}

/** Walk the batches as a merge does (`through(b)`, then b's losers), then finish; every snapshot must be final. */
async function walk(resolver: CopyResolver, batches: number): Promise<Map<number, Set<number>>> {
  const snapshots: Set<number>[] = [];
  for (let b = 0; b < batches; b++) {
    await resolver.through(b);
    snapshots.push(new Set(resolver.losersOf(b) ?? []));
  }
  await resolver.finish();
  const final = new Map<number, Set<number>>();
  for (let b = 0; b < batches; b++) {
    expect(snapshots[b], `batch ${b} changed after through(${b})`).toEqual(new Set(resolver.losersOf(b) ?? []));
    if (snapshots[b]!.size > 0) final.set(b, snapshots[b]!);
  }
  const existing = resolver.losersOf(-1);
  if (existing && existing.size > 0) final.set(-1, new Set(existing));
  return final;
}

describe('CopyResolver', () => {
  it('decides every copy as the rule says, and a batch is final once through(b) returned, even when its copy comes last', async () => {
    const staged = batchesWith({
      0: [['same', 3], ['same', 3], ['far', 5]], // a tie within a batch: the later row wins
      1: [['next', 9]],
      2: [['next', 4], ['older-later', 5]], // an older copy that arrives later loses
      3: [['three', 2], ['older-later', 3]],
      4: [['three', 2]],
      5: [['three', 1]],
      7: [['far', 6]], // batch 0's "far" loses only when the last batch is read
    });
    const { staging, resolver, reads } = await setUp(staged);
    await resolver.through(0);
    expect(reads).toHaveBeenCalledTimes(8); // batch 0 waits on "far", whose second copy is in the last batch
    const got = await walk(resolver, staged.length);
    expect(got).toEqual(oracle(staged, []));
    expect(got.get(0)).toEqual(new Set([40, 42])); // the first "same" and the older "far"
    expect(reads).toHaveBeenCalledTimes(8); // every batch read once
    expect(resolver.rowsMerged).toBe(6); // staged versions after a key's first: same, far, next, older-later once, three twice
    await staging.dispose();
  });

  it('reads only as far as the copies of the batch asked for', async () => {
    const staged = batchesWith({ 0: [['a', 1]], 1: [['a', 2], ['b', 1]], 2: [['b', 1]], 5: [['c', 1]], 6: [['c', 0]] });
    const { staging, resolver, reads } = await setUp(staged);
    await resolver.through(0);
    expect(reads).toHaveBeenCalledTimes(2); // batch 0's copy of "a" is in batch 1
    await resolver.through(1);
    expect(reads).toHaveBeenCalledTimes(3);
    await resolver.through(3);
    expect(reads).toHaveBeenCalledTimes(4);
    expect(await walk(resolver, staged.length)).toEqual(oracle(staged, []));
    expect(reads).toHaveBeenCalledTimes(8);
    await staging.dispose();
  });

  it('existing rows: the incoming row wins a tie, a strictly newer existing row stands, keys the call lacks are left alone', async () => {
    const existing: Row[] = [
      ['tie', 7],
      ['newer', 9],
      ['two', 1],
      ['two', 3],
      ['alone', 4],
      ['u0-5', 0],
    ];
    const staged = batchesWith({ 1: [['tie', 7]], 3: [['newer', 4], ['two', 2]], 6: [['two', 2]] });
    const { staging, resolver } = await setUp(staged, existing, ['alone']);
    const got = await walk(resolver, staged.length);
    expect(got).toEqual(oracle(staged, existing));
    expect(got.get(-1)).toEqual(new Set([0, 2, 5])); // existing "tie", the older "two", and u0-5 (replaced)
    expect(resolver.rowsMerged).toBe(4 + 1); // tie, newer, two, u0-5 met existing rows; "two" came twice
    await staging.dispose();
  });

  it('no suspect: nothing is read', async () => {
    const staged = batchesWith({});
    const { staging, resolver, reads } = await setUp(staged);
    expect(await walk(resolver, staged.length)).toEqual(new Map());
    expect(reads).not.toHaveBeenCalled();
    await staging.dispose();
  });
});
