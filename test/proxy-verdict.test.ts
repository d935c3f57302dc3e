/**
 * Issue 19 finding 12: Mixpanel answers HTTP 200 with `0` or `{"status":0,"error":…}` for records it refuses (a
 * batch over 2,000 events, a profile update with two operations, a missing distinct_id). Through the proxy to the
 * emulator, driven by the official `mixpanel` node client and by raw SDK-shaped requests, the lake's
 * `upstream_accepted` / `upstream_error` hold Mixpanel's verdict per record, while `upstream_status` says 200
 * (DuckDB reads the Parquet back).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Mixpanel from 'mixpanel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { rawRequest } from '../emulator/test-helpers.js';
import { startProxy, type RunningProxy } from '../proxy/index.js';
import { runProxyTables } from '../proxy/testing.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

let emulator: Emulator;
let proxy: RunningProxy;
let dir: string;
let duck: Duck;

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'proxy-verdict-'));
  proxy = await startProxy({ spoolDir: path.join(dir, 'spool'), port: 0, host: '127.0.0.1', upstream: emulator.url });
  duck = await openDuck();
});

afterAll(async () => {
  duck?.close();
  await proxy?.close();
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const form = (records: unknown): string => `data=${encodeURIComponent(Buffer.from(JSON.stringify(records)).toString('base64'))}`;
const post = (pathAndQuery: string, records: unknown) =>
  rawRequest(`${proxy.url}${pathAndQuery}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(records) });

describe("the proxy records Mixpanel's verdict per record", () => {
  it('official client and raw SDK requests: refusals with HTTP 200 land as upstream_accepted = false with the reason', async () => {
    expect.hasAssertions();
    const token = emulator.project.token;
    const now = Math.floor(Date.now() / 1000);
    const config = { host: '127.0.0.1', port: proxy.port, protocol: 'http', keepAlive: false };
    const plain = Mixpanel.init(token, config);
    const verbose = Mixpanel.init(token, { ...config, verbose: true });
    const call = (fn: (cb: (err: Error | undefined) => void) => void): Promise<Error | undefined> => new Promise((resolve) => fn(resolve));

    // Accepted: the official client's track and groups.set.
    expect(await call((cb) => plain.track('Signed up', { distinct_id: 'v-1', $insert_id: 'ok-1' }, cb))).toBeUndefined();
    expect(await call((cb) => plain.groups.set('company', 'acme', { seats: 5 }, cb))).toBeUndefined();
    // Refused with HTTP 200: a profile update without a distinct_id. The client sees `0` (plain) or the reason (verbose).
    expect((await call((cb) => plain.people.set('', { plan: 'pro' }, cb)))?.message).toBe('Mixpanel Server Error: 0');
    expect((await call((cb) => verbose.people.set('', { plan: 'team' }, cb)))?.message).toBe('Mixpanel Server Error: Engage API error: $distinct_id, missing or empty');

    // A batch over 2,000 events: Mixpanel takes none of it and still answers 200.
    const big = Array.from({ length: 2001 }, (_, i) => ({ event: 'Bulk', properties: { token, time: now, distinct_id: `b-${i}`, $insert_id: `bulk-${i}` } }));
    const bulk = await post('/track/?ip=1', big);
    expect({ status: bulk.status, body: bulk.body.toString() }).toEqual({ status: 200, body: '0' });
    // A profile update with two operations (mixpanel-browser verbose=1 form).
    const twoOps = await post('/engage/?verbose=1&ip=1', [{ $token: token, $distinct_id: 'v-2', $set: { a: 1 }, $unset: ['b'] }]);
    expect(twoOps.status).toBe(200);
    expect(JSON.parse(twoOps.body.toString())).toMatchObject({ status: 0, error: expect.stringMatching(/exactly one operation/) as unknown });
    // The same batch shape that Mixpanel does take.
    const fine = await post('/engage/?verbose=1&ip=1', [{ $token: token, $distinct_id: 'v-3', $set: { a: 1 } }]);
    expect(JSON.parse(fine.body.toString())).toEqual({ status: 1, error: null });
    expect(proxy.stats.recordsRejected).toBe(2001 + 1 + 1 + 1);

    const lake = path.join(dir, 'lakehouse');
    await runProxyTables(path.join(dir, 'spool'), lake, path.join(dir, 'state'));
    const events = await duck.all(
      `SELECT event, upstream_status AS status, upstream_accepted AS accepted, upstream_error AS error, count(*)::INT AS n FROM ${await tableScan(lake, 'proxy_events')} GROUP BY ALL ORDER BY event`,
    );
    expect(events).toEqual([
      { event: 'Bulk', status: 200, accepted: false, error: 'Mixpanel answered 0 (nothing in the request was valid; ask with verbose=1 for the reason)', n: 2001 },
      { event: 'Signed up', status: 200, accepted: true, error: null, n: 1 },
    ]);
    const profiles = await duck.all(
      `SELECT distinct_id, operation, upstream_status AS status, upstream_accepted AS accepted, upstream_error AS error FROM ${await tableScan(lake, 'proxy_profile_updates')} ORDER BY distinct_id, operation, error`,
    );
    expect(profiles).toEqual([
      { distinct_id: '', operation: '$set', status: 200, accepted: false, error: 'Engage API error: $distinct_id, missing or empty' },
      { distinct_id: '', operation: '$set', status: 200, accepted: false, error: 'Mixpanel answered 0 (nothing in the request was valid; ask with verbose=1 for the reason)' },
      { distinct_id: 'v-2', operation: '$set', status: 200, accepted: false, error: expect.stringMatching(/exactly one operation/) as unknown },
      { distinct_id: 'v-2', operation: '$unset', status: 200, accepted: false, error: expect.stringMatching(/exactly one operation/) as unknown },
      { distinct_id: 'v-3', operation: '$set', status: 200, accepted: true, error: null },
    ]);
    const groups = await duck.all(`SELECT group_id, upstream_accepted AS accepted FROM ${await tableScan(lake, 'proxy_group_updates')}`);
    expect(groups).toEqual([{ group_id: 'acme', accepted: true }]);
    // The advice README gives: filter on upstream_accepted, not on upstream_status = 200.
    expect(await duck.scalar(`SELECT count(*)::INT FROM ${await tableScan(lake, 'proxy_events')} WHERE upstream_status = 200`)).toBe(2002);
    expect(await duck.scalar(`SELECT count(*)::INT FROM ${await tableScan(lake, 'proxy_events')} WHERE upstream_accepted`)).toBe(1);
  });
});
