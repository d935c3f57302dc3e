/**
 * The indexed SCD1 merge (no read-back of the call): first loads with and without in-call duplicates, a call
 * that touches an empty partition next to one with live files, and keys re-sent into an old partition
 * (newer and older than the existing row). DuckDB reads the result; the commit log shows which files moved.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Field, RecordBatch, Schema, Utf8, vectorFromArray } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchFromColumns } from '../connector-spec/index.js';
import { keyString } from './arrow-rows.js';
import { parsePipelineSpec, runPipeline, type RunReport } from './index.js';
import { KeyHashIndex, hashKeys } from './key-index.js';
import { glob, query } from './testing/duckdb.js';
import { captureLogger, tempDirs, type Dirs } from './testing/harness.js';
import { BASE_MS, createMemorySource, type EventRow } from './testing/memory-source.js';

const DAY = 86_400_000;

function ev(id: string, day: number, processedAt: number, name: string, timeOffset = 0): EventRow {
  const time = BASE_MS + day * DAY + 3_600_000 + timeOffset;
  return { eventId: id, time, eventDate: new Date(time).toISOString().slice(0, 10), processedAt: BigInt(processedAt), name };
}

async function runEvents(dirs: Dirs, events: readonly EventRow[], pageSize: number): Promise<RunReport> {
  const spec = parsePipelineSpec(JSON.stringify({ connection_name: 'memory', objects: [{ table: { source_table: 'events', table_configuration: { page_size: pageSize, batch_size: 2 } } }] }), 'spec.json');
  const source = createMemorySource({ dataset: { items: [], events, logs: [], members: [] } });
  const report = await runPipeline({ spec, source, lakehouseDir: dirs.lakehouse, stateDir: dirs.state, logger: captureLogger(), retry: { attempts: 1, baseDelayMs: 1 } });
  expect(report.tables[0]!.error).toBeUndefined();
  return report;
}

/** Oracle: newest (time, processed_at) per id; a later row wins a tie. */
function expected(events: readonly EventRow[]): Map<string, string> {
  const best = new Map<string, EventRow>();
  for (const e of events) {
    const cur = best.get(e.eventId);
    if (!cur || e.time > cur.time || (e.time === cur.time && e.processedAt >= cur.processedAt)) best.set(e.eventId, e);
  }
  return new Map([...best].map(([id, e]) => [id, `${e.eventDate}|${e.name}`]));
}

async function actual(dirs: Dirs): Promise<Map<string, string>> {
  const rows = await query(`SELECT event_id, event_date::VARCHAR d, name FROM ${glob(dirs.lakehouse, 'events')} ORDER BY event_id`);
  const out = new Map<string, string>();
  for (const r of rows) {
    expect(out.has(String(r['event_id'])), `duplicate ${String(r['event_id'])}`).toBe(false);
    out.set(String(r['event_id']), `${String(r['d'])}|${String(r['name'])}`);
  }
  return out;
}

async function commits(dirs: Dirs): Promise<{ add: { path: string }[]; remove: { path: string }[] }[]> {
  const dir = path.join(dirs.lakehouse, 'events', '_lakeflow_log');
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as { add: { path: string }[]; remove: { path: string }[] }));
}

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('indexed SCD1 merge', () => {
  it('a first load with in-call duplicates keeps one row per key, newest wins, later row wins a tie', async () => {
    expect.hasAssertions();
    const events = [
      ev('a', 0, 10, 'a-old'),
      ev('b', 0, 10, 'b-only'),
      ev('a', 0, 20, 'a-new'),
      ev('c', 1, 30, 'c-new'),
      ev('c', 1, 5, 'c-old'), // older sequence arrives later: loses
      ev('d', 1, 7, 'd-first'),
      ev('d', 1, 7, 'd-tie-later'), // exact tie: the later row wins
      ev('e', 2, 1, 'e-only'), // a partition without duplicates keeps its staged file as is
    ];
    const report = await runEvents(dirs, events, 100);
    expect(await actual(dirs)).toEqual(expected(events));
    expect(report.tables[0]!.rowsMerged).toBe(3);
    expect(report.tables[0]!.rowsWritten).toBe(5);
  });

  it('a call touching an empty partition and one with live files rewrites only the file holding a re-sent key', async () => {
    expect.hasAssertions();
    const first = [ev('a', 0, 1, 'a1'), ev('b', 0, 1, 'b1'), ev('x', 3, 1, 'x1')];
    await runEvents(dirs, first, 100);
    const second = [...first, ev('a', 0, 2, 'a2'), ev('n', 0, 2, 'n-new'), ev('f', 1, 2, 'f-new')];
    const report = await runEvents(dirs, second, 100);
    expect(await actual(dirs)).toEqual(expected(second));
    expect(report.tables[0]!.rowsMerged).toBe(1);
    const [c0, c1] = await commits(dirs);
    const day0 = c0!.add.find((a) => a.path.startsWith('event_date=2026-11-15/'))!.path;
    // Day 0's file is replaced; day 3's live file is untouched; day 1 is a new partition.
    expect(c1!.remove.map((r) => r.path)).toEqual([day0]);
    expect(c1!.add.some((a) => a.path.startsWith('event_date=2026-11-16/'))).toBe(true);
  });

  it('a key re-sent into an old partition: an older version leaves the live file alone, a newer one replaces the row', async () => {
    expect.hasAssertions();
    const base = [ev('a', 0, 5, 'a5'), ev('b', 0, 5, 'b5'), ev('c', 5, 5, 'c5')];
    // Three calls: the base; an older 'a' (live wins, nothing rewritten); a newer 'b' into the same old partition.
    const all = [...base, ev('a', 0, 1, 'a1-older'), ev('z', 5, 1, 'z-new'), ev('b', 0, 9, 'b9-newer')];
    const report = await runEvents(dirs, all, 3);
    expect(report.tables[0]!.commits).toBe(2);
    expect(await actual(dirs)).toEqual(expected(all));
    const [c0, c1] = await commits(dirs);
    const day0 = c0!.add.find((a) => a.path.startsWith('event_date=2026-11-15/'))!.path;
    expect(c1!.remove.map((r) => r.path)).toEqual([day0]);
    // The older 'a' was dropped, and the newer 'b' replaced the live one: day 0 still holds a and b once.
    const [counts] = await query(`SELECT count(*)::INT n FROM ${glob(dirs.lakehouse, 'events')} WHERE event_date = '2026-11-15'`);
    expect(counts).toEqual({ n: 2 });
    // A later run that re-sends only an older version rewrites nothing.
    const older = [...all, ev('c', 5, 2, 'c2-older')];
    await runEvents(dirs, older, 3);
    const last = (await commits(dirs)).at(-1)!;
    expect(last.remove).toEqual([]);
    expect(last.add).toEqual([]);
    expect(await actual(dirs)).toEqual(expected(older));
  });
});

describe('key hashes', () => {
  it('agree across slices, nulls, string encodings and multi-column keys, and flag only repeated keys', () => {
    const ids = ['k1', 'k2', 'ключ', 'k1', '', 'k-long-' + 'x'.repeat(100)];
    const vector = vectorFromArray(ids, new Utf8());
    const whole = hashKeys([vector], ids.length);
    const sliced = hashKeys([vector.slice(2, 5)], 3);
    expect([...sliced]).toEqual([...whole.slice(2, 5)]);
    expect(whole[0]).toBe(whole[3]);
    expect(new Set(whole).size).toBe(5);
    // A nullable column through the cell path hashes like the buffer path.
    const schema = new Schema([new Field('id', new Utf8(), true)]);
    const withNull = batchFromColumns(schema, [['k1', null, 'ключ']]) as RecordBatch;
    const h = hashKeys([withNull.getChild('id')!], 3);
    expect(h[0]).toBe(whole[0]);
    expect(h[2]).toBe(whole[2]);
    expect(h[1]).not.toBe(whole[4]); // null is not ''
    // Multi-column keys hash their keyString; distinct tuples differ.
    const two = new Schema([new Field('a', new Utf8(), true), new Field('b', new Utf8(), true)]);
    const pairs = batchFromColumns(two, [['x', 'x', 'xy'], ['yz', 'yz', 'z']]) as RecordBatch;
    const hp = hashKeys([pairs.getChild('a')!, pairs.getChild('b')!], 3);
    expect(hp[0]).toBe(hp[1]);
    expect(hp[0]).not.toBe(hp[2]);
    expect(keyString(['x', 'yz'])).not.toBe(keyString(['xy', 'z']));
    const index = new KeyHashIndex();
    index.add(whole);
    index.add(hp);
    index.seal();
    expect(index.size).toBe(9);
    expect([...index.duplicates()].sort()).toEqual([whole[0], hp[0]].sort());
    expect(index.has(whole[2]!)).toBe(true);
    expect(index.has(h[1]!)).toBe(false);
  });
});
