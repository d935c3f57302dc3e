/**
 * Encoding matrix end to end (A4): the same two events sent through the proxy in every SDK encoding land as
 * identical rows (only the request's own columns differ); garbage and an empty body get the emulator's reply
 * and an `undecodable` spool line, never a hang.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { rawRequest } from '../emulator/test-helpers.js';
import { startProxy, type RunningProxy } from '../proxy/index.js';
import { runProxyTables, spoolLines } from '../proxy/testing.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

let emulator: Emulator;
let proxy: RunningProxy;
let dir: string;
let duck: Duck;

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'proxy-encodings-'));
  proxy = await startProxy({ spoolDir: path.join(dir, 'spool'), port: 0, host: '127.0.0.1', upstream: emulator.url });
  duck = await openDuck();
});

afterAll(async () => {
  duck?.close();
  await proxy?.close();
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('encoding matrix through the proxy', () => {
  it('every valid encoding yields identical rows; garbage and empty bodies are spooled as undecodable', async () => {
    expect.hasAssertions();
    const t = Math.floor(Date.now() / 1000) - 30;
    const json = `[{"event":"Matrix","properties":{"token":"${emulator.project.token}","time":${t}.125,"distinct_id":"m-1","$insert_id":"mx-1","big":3928097563762691601,"s":"a+b/c= é"}},{"event":"Matrix 2","properties":{"token":"${emulator.project.token}","time":${t},"distinct_id":"m-2","$insert_id":"mx-2"}}]`;
    const b64 = Buffer.from(json).toString('base64');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const cases: [string, string, { method?: string; headers?: Record<string, string>; body?: string | Buffer }][] = [
      ['form base64', '/track/?verbose=1&ip=1', { method: 'POST', headers: form, body: `data=${encodeURIComponent(b64)}` }],
      ['form base64, + unescaped', '/track/?verbose=1', { method: 'POST', headers: form, body: `data=${b64}` }],
      ['form raw JSON', '/track', { method: 'POST', headers: form, body: `data=${encodeURIComponent(json)}&verbose=1` }],
      ['JSON body', '/track?verbose=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json }],
      ['sendBeacon text/plain', '/track/', { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: `data=${encodeURIComponent(b64)}` }],
      ['gzip JSON', '/track', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(json) }],
      ['gzip form', '/track', { method: 'POST', headers: { ...form, 'content-encoding': 'gzip' }, body: gzipSync(`data=${encodeURIComponent(b64)}`) }],
      ['GET ?data=', `/track?ip=0&verbose=0&data=${encodeURIComponent(b64)}`, { method: 'GET' }],
    ];
    for (const [name, url, options] of cases) {
      const res = await rawRequest(`${proxy.url}${url}`, options);
      expect(res.status, name).toBe(200);
      expect(['1', '{"status":1,"error":null}'], name).toContain(res.body.toString());
    }
    for (const [url, body] of [['/track/?verbose=1', 'data=%%%garbage'], ['/track/?verbose=1', '']] as const) {
      const viaProxy = await rawRequest(`${proxy.url}${url}`, { method: 'POST', headers: form, body });
      const direct = await rawRequest(`${emulator.url}${url}`, { method: 'POST', headers: form, body });
      expect(viaProxy.status).toBe(direct.status);
      expect(viaProxy.body.toString()).toBe(direct.body.toString());
    }
    const undecodable = (await spoolLines(path.join(dir, 'spool'))).filter((l) => 'undecodable' in l);
    expect(undecodable.map((l) => (l['undecodable'] as { body_bytes: number }).body_bytes)).toEqual([15, 0]);

    await runProxyTables(path.join(dir, 'spool'), path.join(dir, 'lakehouse'), path.join(dir, 'state'));
    const rows = await duck.all(
      `SELECT request_id, event, distinct_id, insert_id, dedupe_key, epoch_ms(time_utc) AS t, time_raw, properties FROM ${await tableScan(path.join(dir, 'lakehouse'), 'proxy_events')} ORDER BY request_id, insert_id`,
    );
    const byRequest = new Map<unknown, Record<string, unknown>[]>();
    for (const r of rows) byRequest.set(r['request_id'], [...(byRequest.get(r['request_id']) ?? []), r]);
    expect(byRequest.size).toBe(cases.length);
    const strip = (list: Record<string, unknown>[]): Record<string, unknown>[] => list.map(({ request_id: _ignored, ...rest }) => rest);
    const [first, ...others] = [...byRequest.values()].map(strip);
    for (const other of others) expect(other).toEqual(first);
    expect(first![0]).toMatchObject({ event: 'Matrix', insert_id: 'mx-1', t: BigInt(t * 1000 + 125), time_raw: t + 0.125 });
    expect(first![0]!['properties']).toContain('"big":3928097563762691601');
  });
});
