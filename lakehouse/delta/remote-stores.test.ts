/**
 * The Delta log core on every backend through openLakehouse: a local folder, S3 (s3rver behind a proxy that
 * enforces If-None-Match as AWS does) and Azure Blob (Azurite). The same commits (create, appends, a rewrite,
 * a checkpoint at 10, log cleanup with the clock 40 days ahead) give the same table everywhere; a lost race is
 * retried or refused by the same rules; the cursor is found from a fresh process.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommitConflictError, openLakehouse, type Lakehouse } from '../index.js';
import { startAzurite, startS3rver, type AzuriteHandle, type S3rverHandle } from '../testing/servers.js';
import { EVENTS_METADATA, fakeAdd, request, tempStore, type TempStore } from '../testing/tables.js';

const DAY = 24 * 60 * 60 * 1000;
let s3: S3rverHandle;
let azurite: AzuriteHandle;
let local: TempStore;

beforeAll(async () => {
  [s3, azurite, local] = await Promise.all([startS3rver({ enforceIfNoneMatch: true }), startAzurite(), tempStore('lakehouse-remote-')]);
}, 120_000);
afterAll(async () => {
  await Promise.all([s3?.close(), azurite?.close(), local?.remove()]);
});

interface Backend {
  readonly name: string;
  location(): string;
  env(): Readonly<Record<string, string>>;
}

const backends: Backend[] = [
  { name: 'local folder', location: () => path.join(local.dir, randomUUID()), env: () => ({}) },
  { name: 's3 (s3rver, If-None-Match enforced)', location: () => `s3://${s3.bucket}/lake-${randomUUID()}`, env: () => s3.env },
  { name: 'azure (Azurite)', location: () => `az://${azurite.container}/lake-${randomUUID()}`, env: () => azurite.env },
];

const results = new Map<string, unknown>();

describe.each(backends)('Delta log on $name', (backend) => {
  it('commits, checkpoints, cleans the log, finds the cursor, and races by the rules', async () => {
    const location = backend.location();
    let clock = Date.now();
    const open = (): Promise<Lakehouse> => openLakehouse(location, { env: backend.env(), now: () => clock });
    const lakehouse = await open();
    await lakehouse.store.checkWritable('--lakehouse');
    const table = lakehouse.table('events');
    await table.commit(request(-1, { add: [fakeAdd('f0')], metadata: EVENTS_METADATA, txn: { appId: 'c/events', version: 0 }, info: { cursor: 0 } }));
    for (let v = 1; v <= 11; v++) {
      if (v === 10) clock += 40 * DAY;
      const result = await table.commit(request(v - 1, { add: [fakeAdd(`f${v}`)], remove: v === 5 ? [fakeAdd('f0')] : [], txn: { appId: 'c/events', version: v }, info: { cursor: v } }));
      expect(result.checkpointWritten).toBe(v === 10);
    }
    const logNames: string[] = [];
    for await (const object of lakehouse.store.list('events/_delta_log/')) logNames.push(object.path.slice('events/_delta_log/'.length));
    expect(logNames).toEqual(['00000000000000000010.checkpoint.parquet', '00000000000000000010.json', '00000000000000000011.json', '_last_checkpoint']);

    const reader = await open();
    const snapshot = await reader.table('events').snapshot();
    expect(snapshot?.version).toBe(11);
    // f0 was removed at version 5, 40 days before the checkpoint: its tombstone expired and left the checkpoint.
    expect(snapshot?.files.map((f) => f.path)).not.toContain('event_date=2026-11-20/f0');
    expect(snapshot?.files).toHaveLength(11);
    expect(snapshot?.tombstones).toEqual([]);
    expect((await snapshot?.appCommit('c/events'))?.info).toEqual({ cursor: 11 });
    expect(await reader.listTables()).toEqual(['events']);

    // Two writers planned on version 11: a blind append is retried, the same application's txn is refused.
    const a = (await open()).table('events');
    const b = (await open()).table('events');
    await Promise.all([a.snapshot(), b.snapshot()]);
    await a.commit(request(11, { add: [fakeAdd('a')], txn: { appId: 'app-a', version: 0 } }));
    expect(await b.commit(request(11, { add: [fakeAdd('b')], txn: { appId: 'app-b', version: 0 } }))).toMatchObject({ version: 13, racesLost: 1 });
    const c = (await open()).table('events');
    await c.snapshot();
    await a.commit(request(13, { add: [fakeAdd('a2')], txn: { appId: 'app-a', version: 1 } }));
    const refused = await c.commit(request(13, { add: [fakeAdd('c')], txn: { appId: 'app-a', version: 1 } })).catch((e: unknown) => e);
    expect((refused as CommitConflictError).reason).toBe('txn');

    const final = await (await open()).table('events').snapshot();
    results.set(backend.name, { version: final?.version, files: final?.files.map((f) => f.path), txns: Object.fromEntries([...(final?.txns ?? new Map())].map(([k, v]) => [k, v.version])) });
    expect(final?.files.map((f) => f.path)).toContain('event_date=2026-11-20/b');
    expect(final?.files.map((f) => f.path)).not.toContain('event_date=2026-11-20/c');
    await lakehouse.close();
  });
});

describe('every backend', () => {
  it('ends with the same table', () => {
    expect(results.size).toBe(backends.length);
    const [first, ...rest] = [...results.values()];
    for (const other of rest) expect(other).toEqual(first);
  });
});
