/**
 * The checkpoint kinds a reader meets besides our classic one: a multi-part V1 checkpoint is read when every
 * part is there and ignored when one is missing; a UUID-named (V2) checkpoint is refused with the feature named.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { lakehouseOnStore } from '../index.js';
import { EVENTS_METADATA, fakeAdd, request, tempStore, type TempStore } from '../testing/tables.js';
import { encodeCheckpoint } from './checkpoint-write.js';
import { loadSnapshot } from './snapshot.js';

let temp: TempStore;
beforeEach(async () => {
  temp = await tempStore('lakehouse-checkpoints-');
});
afterEach(async () => {
  await temp.remove();
});

const logDir = (): string => path.join(temp.dir, 'events', '_delta_log');
const name = (v: number): string => String(v).padStart(20, '0');

/** A table at version 11 whose only way to version 10's state is the checkpoint we put there. */
async function tableWithoutCheckpoint(): Promise<string[]> {
  const table = lakehouseOnStore(temp.store, { checkpointInterval: 1000 }).table('events');
  await table.commit(request(-1, { add: [fakeAdd('f0')], metadata: EVENTS_METADATA, txn: { appId: 'a', version: 0 } }));
  for (let v = 1; v <= 11; v++) await table.commit(request(v - 1, { add: [fakeAdd(`f${v}`)], txn: { appId: 'a', version: v } }));
  const snapshot = await loadSnapshot({ store: temp.store, root: 'events', display: 'events' });
  if (!snapshot) throw new Error('no table');
  // Split version 10's state into two part files, as a multi-part writer would.
  const at10 = snapshot.state.clone();
  at10.files.delete('event_date=2026-11-20/f11');
  at10.txns.set('a', { version: 10 });
  const files = [...at10.files.values()];
  const parts = [files.slice(0, 5), files.slice(5)];
  for (const [i, part] of parts.entries()) {
    const encoded = await encodeCheckpoint({ protocol: snapshot.protocol, metadata: snapshot.metadataAction, txns: at10.txns, files: part, tombstones: [] });
    await writeFile(path.join(logDir(), `${name(10)}.checkpoint.${String(i + 1).padStart(10, '0')}.0000000002.parquet`), encoded.bytes);
  }
  for (let v = 0; v < 10; v++) await rm(path.join(logDir(), `${name(v)}.json`));
  return snapshot.files.map((f) => f.path);
}

describe('checkpoint kinds', () => {
  it('reads a complete multi-part checkpoint', async () => {
    const expected = await tableWithoutCheckpoint();
    const snapshot = await lakehouseOnStore(temp.store).table('events').snapshot();
    expect(snapshot?.version).toBe(11);
    expect(snapshot?.files.map((f) => f.path)).toEqual(expected);
    expect(snapshot?.txns.get('a')?.version).toBe(11);
  });

  it('ignores a multi-part checkpoint with a missing part (and says the log cannot be replayed without it)', async () => {
    await tableWithoutCheckpoint();
    await rm(path.join(logDir(), `${name(10)}.checkpoint.0000000002.0000000002.parquet`));
    const error = await lakehouseOnStore(temp.store).table('events').snapshot().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no readable checkpoint, and commits 0, 1, 2, 3, 4, … are missing/);
  });

  it('refuses a table with a UUID-named (V2) checkpoint, naming v2Checkpoint', async () => {
    await tableWithoutCheckpoint();
    const names = await readdir(logDir());
    expect(names.filter((n) => n.includes('.checkpoint.'))).toHaveLength(2);
    await writeFile(path.join(logDir(), `${name(11)}.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json`), '{"checkpointMetadata":{"version":11}}\n');
    const error = await lakehouseOnStore(temp.store).table('events').snapshot().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/`v2Checkpoint \(UUID-named checkpoints\)`/);
  });
});
