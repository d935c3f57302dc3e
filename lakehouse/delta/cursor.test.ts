/**
 * The cursor lives in the table and survives checkpoints and log cleanup: `appCommit` finds an application's
 * newest commit (its commitInfo.mixpanelLakeflow) from a fresh process, cleanup never deletes that file, and
 * when another engine deleted it anyway, the next older cursor comes back marked `stale`.
 */
import { readdir, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lakehouseOnStore, type DeltaTable } from '../index.js';
import { CountingStore } from '../testing/counting-store.js';
import { EVENTS_METADATA, fakeAdd, request, tempStore, type TempStore } from '../testing/tables.js';

const DAY = 24 * 60 * 60 * 1000;
let temp: TempStore;

beforeEach(async () => {
  temp = await tempStore('lakehouse-cursor-');
});
afterEach(async () => {
  await temp.remove();
});

const name = (v: number): string => `${String(v).padStart(20, '0')}.json`;
const logDir = (): string => path.join(temp.dir, 'events', '_delta_log');
const jsonVersions = async (): Promise<number[]> =>
  (await readdir(logDir()))
    .filter((n) => /^\d{20}\.json$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);

async function makeOld(versions: readonly number[]): Promise<void> {
  const old = (Date.now() - 35 * DAY) / 1000;
  for (const v of versions) await utimes(path.join(logDir(), name(v)), old, old);
}

/** A reader in a new process: nothing cached. */
const reader = (): DeltaTable => lakehouseOnStore(temp.store).table('events');

describe('the cursor in the table', () => {
  it('survives 25 versions, two checkpoints and two cleanups; a deleted cursor commit gives the older one, stale', async () => {
    const writer = lakehouseOnStore(temp.store).table('events');
    const commit = async (v: number, appId: string, txnVersion: number): Promise<void> => {
      const result = await writer.commit(request(v - 1, { add: [fakeAdd(`f${v}`)], txn: { appId, version: txnVersion }, info: { cursor: { n: txnVersion, app: appId }, runId: `run-${v}` }, ...(v === 0 ? { metadata: EVENTS_METADATA } : {}) }));
      expect(result.version).toBe(v);
    };
    // Application A (this connection's events) commits versions 0–12, B (another connection) 13–24.
    for (let v = 0; v <= 12; v++) await commit(v, 'A', v);
    for (let v = 13; v < 20; v++) await commit(v, 'B', v);
    await makeOld([...Array(16).keys()]);
    for (let v = 20; v <= 24; v++) await commit(v, 'B', v);
    // Cleanup at 20: cutoff commit 15 → cutoff checkpoint 10 → versions 0–9 deleted.
    expect(await jsonVersions()).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);

    const snapshot = await reader().snapshot();
    expect(snapshot?.version).toBe(24);
    expect(snapshot?.txns.get('A')?.version).toBe(12);
    expect(await snapshot?.appCommit('A')).toEqual({ version: 12, txnVersion: 12, timestamp: expect.any(Number), info: { cursor: { n: 12, app: 'A' }, runId: 'run-12' }, stale: false });
    expect((await snapshot?.appCommit('B'))?.info).toEqual({ cursor: { n: 24, app: 'B' }, runId: 'run-24' });
    expect(await snapshot?.appCommit('nobody')).toBeUndefined();

    // Another engine's cleanup removes A's newest commit: the snapshot still says txn 12 (from the checkpoint
    // at 20), and the newest commit of A left is 11: returned, marked stale.
    await rm(path.join(logDir(), name(12)));
    const after = await reader().snapshot();
    expect(after?.txns.get('A')?.version).toBe(12);
    expect(await after?.appCommit('A')).toMatchObject({ version: 11, txnVersion: 11, info: { cursor: { n: 11, app: 'A' } }, stale: true });

    // Our cleanup at 30 (cutoff checkpoint 20) deletes 10–19 but keeps 11, A's newest commit still present.
    await makeOld([10, 11, ...Array.from({ length: 12 }, (_, i) => 13 + i)]);
    for (let v = 25; v <= 30; v++) await commit(v, 'B', v);
    expect(await jsonVersions()).toEqual([11, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    const last = await reader().snapshot();
    expect(await last?.appCommit('A')).toMatchObject({ version: 11, info: { cursor: { n: 11, app: 'A' } }, stale: true });
    expect((await last?.appCommit('B'))?.info).toEqual({ cursor: { n: 30, app: 'B' }, runId: 'run-30' });
    expect(last?.files).toHaveLength(31);
  });

  it('finds the cursor in a commit replayed from JSON without scanning (the txn names its version)', async () => {
    const writer = lakehouseOnStore(temp.store).table('events');
    await writer.commit(request(-1, { add: [fakeAdd('f0')], metadata: EVENTS_METADATA, txn: { appId: 'A', version: 3 }, info: { cursor: 'c3' } }));
    for (let v = 1; v <= 5; v++) await writer.commit(request(v - 1, { add: [fakeAdd(`f${v}`)], txn: { appId: 'B', version: v } }));
    const counting = new CountingStore(temp.store);
    const snapshot = await lakehouseOnStore(counting).table('events').snapshot();
    counting.reset();
    expect(await snapshot?.appCommit('A')).toMatchObject({ version: 0, txnVersion: 3, info: { cursor: 'c3' }, stale: false });
    expect(counting.reads).toEqual([`events/_delta_log/${name(0)}`]);
  });
});
