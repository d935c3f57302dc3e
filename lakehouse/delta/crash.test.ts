/**
 * SIGKILL at random points of a writer process that commits, checkpoints (every 5 versions) and cleans the
 * log (its clock runs 40 days ahead) in a loop. After every kill: each commit file is complete JSON, the log
 * reads (ours and DuckDB's replay agree), `_last_checkpoint` names a readable checkpoint or is ignored, and a
 * new writer resumes from the table's txn. At the end each of the N commits is in the table exactly once.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouseOnStore } from '../index.js';
import { startChild } from '../testing/child.js';
import { duckDeltaTable, duckQuery } from '../testing/duckdb-delta.js';
import { tempStore, type TempStore } from '../testing/tables.js';

const TOTAL = 24;
const APP = 'conn/events';
/** Seeds of the kill points: commit number to wait for, and milliseconds to wait after it started. */
const SEEDS = [11, 23, 5, 97];

function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

let temp: TempStore;
beforeAll(async () => {
  temp = await tempStore('lakehouse-crash-');
});
afterAll(async () => {
  await temp.remove();
});

const tableDir = (): string => path.join(temp.dir, 'events');
const logDir = (): string => path.join(tableDir(), '_delta_log');

async function assertConsistent(label: string): Promise<number> {
  const names = await readdir(logDir());
  for (const name of names.filter((n) => /^\d{20}\.json$/.test(n))) {
    const text = await readFile(path.join(logDir(), name), 'utf8');
    expect(text.endsWith('\n'), `${label}: ${name} complete`).toBe(true);
    for (const line of text.trim().split('\n')) expect(() => JSON.parse(line), `${label}: ${name}`).not.toThrow();
  }
  const last = names.includes('_last_checkpoint') ? (JSON.parse(await readFile(path.join(logDir(), '_last_checkpoint'), 'utf8')) as { version: number }) : undefined;
  if (last) {
    const checkpoint = path.join(logDir(), `${String(last.version).padStart(20, '0')}.checkpoint.parquet`);
    const [row] = await duckQuery(`SELECT count(*) AS n FROM read_parquet('${checkpoint}') WHERE protocol IS NOT NULL OR metaData IS NOT NULL`);
    expect(Number(row?.['n']), `${label}: _last_checkpoint ${last.version} readable`).toBe(2);
  }
  const snapshot = await lakehouseOnStore(temp.store).table('events').snapshot();
  if (!snapshot) return -1;
  const duck = await duckDeltaTable(tableDir());
  expect(snapshot.files.map((f) => f.path), label).toEqual(duck.files.map((f) => f.path));
  const txn = snapshot.txns.get(APP)?.version ?? -1;
  // One live file per committed txn version, never two.
  const numbers = snapshot.files.map((f) => Number(/f-(\d+)-/.exec(f.path)?.[1]));
  expect(numbers.sort((a, b) => a - b), label).toEqual(Array.from({ length: txn + 1 }, (_, i) => i));
  return txn;
}

describe('SIGKILL during commits, checkpoints and cleanups', () => {
  it(`the log stays consistent after ${SEEDS.length} kills and the writer resumes at the next version`, async () => {
    let txn = -1;
    let kills = 0;
    for (const seed of SEEDS) {
      const random = rng(seed);
      const child = startChild(['loop', temp.dir, APP, String(TOTAL)]);
      const target = Math.min(TOTAL - 1, txn + 1 + Math.floor(random() * 6));
      const started = await child.next((l) => l['committing'] === target).catch(() => undefined);
      if (started) {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 25)));
        child.process.kill('SIGKILL');
        kills += started ? 1 : 0;
      }
      const exit = await child.exited;
      if (started) expect(exit.signal).toBe('SIGKILL');
      const resumedFrom = child.lines.find((l) => 'committing' in l)?.['committing'];
      if (resumedFrom !== undefined) expect(resumedFrom, `seed ${seed}: resumed after txn ${txn}`).toBe(txn + 1);
      const now = await assertConsistent(`after kill (seed ${seed})`);
      expect(now).toBeGreaterThanOrEqual(txn);
      txn = now;
    }
    expect(kills).toBe(SEEDS.length);
    const last = startChild(['loop', temp.dir, APP, String(TOTAL)]);
    const exit = await last.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(await assertConsistent('final')).toBe(TOTAL - 1);
    const snapshot = await lakehouseOnStore(temp.store).table('events').snapshot();
    expect((await snapshot?.appCommit(APP))?.info).toEqual({ cursor: { n: TOTAL - 1 } });
    expect(snapshot?.files).toHaveLength(TOTAL);
    // Checkpoints and cleanup ran: the log was cut behind a checkpoint.
    const names = await readdir(logDir());
    expect(names.some((n) => n.endsWith('.checkpoint.parquet'))).toBe(true);
    expect(names).not.toContain('00000000000000000001.json');
  }, 180_000);
});
