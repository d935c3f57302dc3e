/**
 * CallStaging: batches within the memory budget stay in memory (the same objects come back); past it every further
 * batch is spilled to the call's local file as an Arrow IPC stream and read back equal, under the staging schema;
 * the partition values seen are kept; dispose() removes the folder.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Field, Int32, RecordBatch, Schema, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { ipcStreamOf, rememberIpcStream, takeRows } from '../connector-spec/index.js';
import { CallStaging, dataBytes } from './call-staging.js';

const schema = new Schema([new Field('id', new Int32(), true), new Field('day', new Utf8(), true)]);
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A batch of the staging schema: ids, and `day` cycling over `days`. */
function batch(ids: readonly number[], days: readonly string[]): RecordBatch {
  const table = new Table({ id: vectorFromArray(ids, new Int32()), day: vectorFromArray(ids.map((_, i) => days[i % days.length]!), new Utf8()) });
  return new RecordBatch(schema, table.batches[0]!.data);
}

function rows(b: RecordBatch): unknown[] {
  return new Table([b]).toArray().map((r) => r.toJSON());
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'call-staging-'));
  dirs.push(dir);
  return dir;
}

describe('CallStaging', () => {
  it('keeps batches within the budget in memory and spills the rest; every batch reads back equal, in order', async () => {
    const dir = await tempDir();
    const batches = [batch([1, 2, 3], ['2024-06-01']), batch([4, 5], ['2024-06-02']), batch([6, 7, 8, 9], ['2024-06-01', '2024-06-03'])];
    const budget = dataBytes(batches[0]!.data);
    const staging = new CallStaging({ dir: path.join(dir, 'call'), schema, memoryBytes: budget, partitionBy: 'day' });
    for (const b of batches) await staging.add(b);
    expect(staging.batchCount).toBe(3);
    expect([0, 1, 2].map((i) => staging.rowsOf(i))).toEqual([3, 2, 4]);
    expect(staging.spilledBytes).toBeGreaterThan(0);
    expect(await staging.get(0)).toBe(batches[0]);
    const back: RecordBatch[] = [];
    for await (const { batch: b } of staging.batches()) back.push(b);
    expect(back.map((b) => b.schema)).toEqual([schema, schema, schema]);
    expect(back.map(rows)).toEqual(batches.map(rows));
    expect([...staging.partitions].sort()).toEqual(['2024-06-01', '2024-06-02', '2024-06-03']);
    expect([0, 1, 2].map((i) => staging.partitionsOf(i))).toEqual([['2024-06-01'], ['2024-06-02'], ['2024-06-01', '2024-06-03']]);
    expect(await readdir(dir)).toEqual(['call']);
    await staging.dispose();
    expect(await readdir(dir)).toEqual([]);
    await expect(staging.add(batches[0]!)).rejects.toThrow(/disposed/);
  });

  it('spills a batch decoded from a one-batch IPC stream as those very bytes (no second encoding), and reads it back equal', async () => {
    const dir = await tempDir();
    // The source's stream: the same columns under a schema with metadata of its own, so its bytes differ from what
    // staging would encode (the spilled size tells which bytes were written).
    const sourceSchema = new Schema(schema.fields, new Map([['written.by', 'a parse worker '.repeat(8)]]));
    const stream = tableToIPC(new Table([new RecordBatch(sourceSchema, batch([1, 2, 3], ['2024-06-01']).data)]), 'stream');
    const decoded = tableFromIPC(stream).batches[0]!;
    rememberIpcStream(decoded, stream);
    const typed = new RecordBatch(schema, decoded.data); // the runner re-wraps it with the table's schema
    expect(ipcStreamOf(typed)).toBe(stream);
    // Rows of it are other data: a slice or a take has no stream of its own.
    expect(ipcStreamOf(typed.slice(1))).toBeUndefined();
    expect(ipcStreamOf(takeRows(typed, Int32Array.of(0, 2)))).toBeUndefined();
    const plain = batch([4, 5, 6], ['2024-06-01']);
    expect(ipcStreamOf(plain)).toBeUndefined();
    const staging = new CallStaging({ dir: path.join(dir, 'call'), schema, memoryBytes: 0 });
    await staging.add(typed);
    expect(staging.spilledBytes).toBe(stream.byteLength);
    await staging.add(plain);
    expect(staging.spilledBytes).toBe(stream.byteLength + tableToIPC(new Table([plain]), 'stream').byteLength);
    const back: RecordBatch[] = [];
    for await (const { batch: b } of staging.batches()) back.push(b);
    expect(back.map((b) => b.schema)).toEqual([schema, schema]);
    expect(back.map(rows)).toEqual([rows(typed), rows(plain)]);
    await staging.dispose();
  });

  it('read(indices) hands out the batches at those indices in that order (memory and file mixed, repeats allowed), one read ahead', async () => {
    const dir = await tempDir();
    const batches = [batch([1, 2], ['2024-06-01']), batch([3], ['2024-06-01']), batch([4, 5, 6], ['2024-06-02']), batch([7], ['2024-06-03'])];
    const staging = new CallStaging({ dir: path.join(dir, 'call'), schema, memoryBytes: dataBytes(batches[0]!.data) });
    for (const b of batches) await staging.add(b);
    const order = [3, 0, 2, 2, 1];
    const back: { index: number; rows: unknown[] }[] = [];
    for await (const { index, batch: b } of staging.read(order)) back.push({ index, rows: rows(b) });
    expect(back).toEqual(order.map((i) => ({ index: i, rows: rows(batches[i]!) })));
    // The batch read ahead fails only if the caller gets to it: a caller that stopped before leaves no unhandled
    // rejection behind (there is no batch 99).
    for await (const { index } of staging.read([2, 99])) if (index === 2) break;
    await expect((async () => {
      for await (const item of staging.read([2, 99])) void item;
    })()).rejects.toThrow(RangeError);
    await staging.dispose();
  });

  it.skipIf(!existsSync('/dev/full'))('a spill write that fails (disk full) fails add: no batch is staged half-written', async () => {
    const dir = await tempDir();
    const callDir = path.join(dir, 'call');
    await mkdir(callDir);
    await symlink('/dev/full', path.join(callDir, 'call.arrows')); // every write to the spill file: ENOSPC
    const staging = new CallStaging({ dir: callDir, schema, memoryBytes: 0 });
    await expect(staging.add(batch([1, 2, 3], ['2024-06-01']))).rejects.toThrow(/ENOSPC|no space/i);
    expect(staging.batchCount).toBe(0);
    await staging.dispose();
  });

  it('spills nothing while the budget holds', async () => {
    const dir = await tempDir();
    const staging = new CallStaging({ dir: path.join(dir, 'call'), schema });
    const b = batch([1, 2], ['2024-06-01']);
    await staging.add(b);
    expect(staging.spilledBytes).toBe(0);
    expect(await staging.get(0)).toBe(b);
    expect(await readdir(dir)).toEqual([]);
    await staging.dispose();
  });
});
