/**
 * The official `mixpanel` node SDK through the proxy to the emulator (A3): `track` (GET ?data=), `track_batch`
 * (POST form), `people.set`, `groups.set` all call back without error, Mixpanel (the emulator) receives them, and
 * one runner pass lands exactly those rows in the three tables (DuckDB reads the Parquet back).
 * Also an SDK-style retry after a 503 + Retry-After: two raw rows, one dedupe_key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Mixpanel from 'mixpanel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { rawRequest } from '../emulator/test-helpers.js';
import { startProxy, type RunningProxy } from '../proxy/index.js';
import { runProxyTables, startTap, type Tap } from '../proxy/testing.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

let emulator: Emulator;
let tap: Tap;
let proxy: RunningProxy;
let dir: string;
let duck: Duck;

beforeAll(async () => {
  emulator = await startEmulator();
  tap = await startTap(emulator.url);
  dir = await mkdtemp(path.join(tmpdir(), 'proxy-node-sdk-'));
  proxy = await startProxy({ spoolDir: path.join(dir, 'spool'), port: 0, host: '127.0.0.1', upstream: tap.url });
  duck = await openDuck();
});

afterAll(async () => {
  duck?.close();
  await proxy?.close();
  await tap?.close();
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const lake = (): string => path.join(dir, 'lakehouse');

describe('official mixpanel node SDK through the proxy', () => {
  it('track (GET), track_batch, people.set and groups.set: no callback error, rows land once', async () => {
    expect.hasAssertions();
    const config = { host: '127.0.0.1', port: proxy.port, protocol: 'http', keepAlive: false };
    const client = Mixpanel.init(emulator.project.token, config);
    const call = (fn: (cb: (err: Error | undefined) => void) => void): Promise<Error | undefined> => new Promise((resolve) => fn(resolve));
    const batch = (fn: (cb: (errs: Error[] | undefined) => void) => void): Promise<Error[] | undefined> => new Promise((resolve) => fn(resolve));
    const now = Math.floor(Date.now() / 1000);

    expect(await call((cb) => client.track('Signed up', { distinct_id: 'n-1', $insert_id: 'node-1', plan: 'pro', event: 'Spoofed', big: 3928097563762691601n.toString() }, cb))).toBeUndefined();
    expect(await batch((cb) => client.track_batch([
      { event: 'Batched', properties: { distinct_id: 'n-2', $insert_id: 'node-2', time: now - 10 } },
      { event: 'Batched', properties: { distinct_id: 'n-3', $insert_id: 'node-3', time: now - 5 } },
    ], cb))).toBeFalsy();
    expect(await call((cb) => client.people.set('n-1', { $email: 'n1@example.com', plan: 'pro' }, cb))).toBeUndefined();
    expect(await call((cb) => client.groups.set('company', 'acme', { $name: 'Acme', seats: 5 }, cb))).toBeUndefined();

    const methods = tap.entries.map((e) => `${e.method} ${e.url.split('?')[0]}`);
    expect(methods).toEqual(['GET /track', 'POST /track', 'GET /engage', 'GET /groups']);
    expect(emulator.data.exportEvents({ fromDate: '2020-01-01', toDate: new Date().toISOString().slice(0, 10) }).map((e) => e.properties['$insert_id']).sort()).toEqual(['node-1', 'node-2', 'node-3']);

    await runProxyTables(path.join(dir, 'spool'), lake(), path.join(dir, 'state'));
    const events = await duck.all(`SELECT event, distinct_id, insert_id, token, upstream_status, upstream_accepted, upstream_error, client_ip, json_extract_string(properties, '$.plan') AS plan, json_extract_string(properties, '$.event') AS prop_event FROM ${await tableScan(lake(), 'proxy_events')} ORDER BY insert_id`);
    expect(events).toEqual([
      { event: 'Signed up', distinct_id: 'n-1', insert_id: 'node-1', token: emulator.project.token, upstream_status: 200, upstream_accepted: true, upstream_error: null, client_ip: '127.0.0.1', plan: 'pro', prop_event: 'Spoofed' },
      { event: 'Batched', distinct_id: 'n-2', insert_id: 'node-2', token: emulator.project.token, upstream_status: 200, upstream_accepted: true, upstream_error: null, client_ip: '127.0.0.1', plan: null, prop_event: null },
      { event: 'Batched', distinct_id: 'n-3', insert_id: 'node-3', token: emulator.project.token, upstream_status: 200, upstream_accepted: true, upstream_error: null, client_ip: '127.0.0.1', plan: null, prop_event: null },
    ]);
    const profiles = await duck.all(`SELECT distinct_id, operation, payload, upstream_accepted FROM ${await tableScan(lake(), 'proxy_profile_updates')}`);
    expect(profiles).toEqual([{ distinct_id: 'n-1', operation: '$set', payload: '{"$email":"n1@example.com","plan":"pro"}', upstream_accepted: true }]);
    const groups = await duck.all(`SELECT group_key, group_id, operation, payload, upstream_accepted FROM ${await tableScan(lake(), 'proxy_group_updates')}`);
    expect(groups).toEqual([{ group_key: 'company', group_id: 'acme', operation: '$set', payload: '{"$name":"Acme","seats":5}', upstream_accepted: true }]);

    // A second pass adds nothing (the cursor sits at the spool offset).
    await runProxyTables(path.join(dir, 'spool'), lake(), path.join(dir, 'state'));
    expect(await duck.scalar(`SELECT count(*) FROM ${await tableScan(lake(), 'proxy_events')}`)).toBe(3n);
  });

  it('an SDK retry after 503 + Retry-After: the client sees both, the lake has both attempts and one dedupe_key', async () => {
    expect.hasAssertions();
    emulator.faults.status('track', 503, { retryAfterSeconds: 2 });
    // mixpanel-browser's default request: form data=base64, verbose=1; a retry re-sends the same bytes.
    const payload = Buffer.from(JSON.stringify([{ event: 'Retried', properties: { token: emulator.project.token, time: Date.now() / 1000, distinct_id: 'r-1', $insert_id: 'retry-1' } }])).toString('base64');
    const send = (): ReturnType<typeof rawRequest> =>
      rawRequest(`${proxy.url}/track/?verbose=1&ip=1&_=${Date.now()}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `data=${encodeURIComponent(payload)}` });
    const first = await send();
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('2');
    const second = await send();
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body.toString())).toEqual({ status: 1, error: null });

    await runProxyTables(path.join(dir, 'spool'), lake(), path.join(dir, 'state'));
    const rows = await duck.all(`SELECT upstream_status, upstream_accepted, upstream_error, dedupe_key FROM ${await tableScan(lake(), 'proxy_events')} WHERE insert_id = 'retry-1' ORDER BY received_at, upstream_status DESC`);
    expect(rows.map((r) => r['upstream_status'])).toEqual([503, 200]);
    expect(rows.map((r) => [r['upstream_accepted'], r['upstream_error']])).toEqual([[false, 'HTTP 503: Service Unavailable'], [true, null]]);
    expect(new Set(rows.map((r) => r['dedupe_key'])).size).toBe(1);
  });
});
