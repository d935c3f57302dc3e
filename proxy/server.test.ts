/**
 * The proxy against the real emulator behind a recording tap: byte-for-byte forwarding, the upstream's reply
 * unchanged, the spool written before the reply, CORS, X-Forwarded-For, pass-through paths, fail-open spool.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { rawRequest } from '../emulator/test-helpers.js';
import { upstreamBase } from './http-rules.js';
import { startProxy, type RunningProxy } from './server.js';
import { spoolLines, startTap, type Tap } from './testing.js';

const PAGE_ORIGIN = 'http://localhost:5173';
let emulator: Emulator;
let tap: Tap;
let dir: string;
let proxy: RunningProxy;
let trusted: RunningProxy;

const event = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  event: `Event ${i}`,
  properties: { token: 'emulator-token', time: Math.floor(Date.now() / 1000) - 60, distinct_id: `u-${i}`, $insert_id: `srv-${i}`, ...extra },
});
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64');

beforeAll(async () => {
  emulator = await startEmulator();
  tap = await startTap(emulator.url);
  dir = await mkdtemp(path.join(tmpdir(), 'proxy-server-'));
  proxy = await startProxy({ spoolDir: path.join(dir, 'spool'), port: 0, host: '127.0.0.1', upstream: tap.url, corsOrigins: [PAGE_ORIGIN] });
  trusted = await startProxy({ spoolDir: path.join(dir, 'spool-trusted'), port: 0, host: '127.0.0.1', upstream: tap.url, trustProxy: true });
});

afterAll(async () => {
  await proxy?.close();
  await trusted?.close();
  await tap?.close();
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('forwarding', () => {
  it('forwards method, path, query, body bytes and headers unchanged; returns the upstream reply; spools before replying', async () => {
    const body = Buffer.from(`data=${encodeURIComponent(b64([event(1), event(2)]))}`);
    const gz = gzipSync(body);
    const before = tap.entries.length;
    const res = await rawRequest(`${proxy.url}/track/?verbose=1&ip=1&_=1763900000000`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip', authorization: 'Basic c2VjcmV0Og==', origin: PAGE_ORIGIN },
      body: gz,
    });
    // The spool holds both records the moment the reply arrives (fsync before reply).
    const lines = await spoolLines(path.join(dir, 'spool'));
    expect(lines.filter((l) => l['endpoint'] === 'track').map((l) => (l['record'] as { event: string }).event)).toEqual(['Event 1', 'Event 2']);
    expect(lines[0]).toMatchObject({ v: 1, endpoint: 'track', method: 'POST', client_ip: '127.0.0.1', upstream_status: 200, index: 0 });
    expect(lines[0]!['request_id']).toBe(res.headers['x-request-id']);

    expect(tap.entries.length).toBe(before + 1);
    const seen = tap.entries[before]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/track/?verbose=1&ip=1&_=1763900000000');
    expect(seen.body.equals(gz)).toBe(true);
    expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.headers['content-encoding']).toBe('gzip');
    expect(seen.headers['authorization']).toBe('Basic c2VjcmV0Og==');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');

    expect(res.status).toBe(seen.responseStatus);
    expect(res.body.equals(seen.responseBody)).toBe(true);
    expect(JSON.parse(res.body.toString())).toEqual({ status: 1, error: null });
    expect(res.headers['content-type']).toBe(seen.responseHeaders['content-type']);
    expect(res.headers['access-control-allow-origin']).toBe(PAGE_ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(emulator.data.exportEvents({ fromDate: '2020-01-01', toDate: new Date().toISOString().slice(0, 10) }).map((e) => e.properties['$insert_id']).sort()).toEqual(['srv-1', 'srv-2']);
  });

  it('returns an upstream 503 with its Retry-After and body unchanged, and spools the attempt with status 503', async () => {
    emulator.faults.status('track', 503, { retryAfterSeconds: 2 });
    const before = tap.entries.length;
    const res = await rawRequest(`${proxy.url}/track?verbose=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([event(3)]) });
    const seen = tap.entries[before]!;
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body.equals(seen.responseBody)).toBe(true);
    const lines = await spoolLines(path.join(dir, 'spool'));
    expect(lines.at(-1)).toMatchObject({ upstream_status: 503, record: { event: 'Event 3' } });
  });

  it('spools a garbage body as undecodable and still returns the upstream reply', async () => {
    const res = await rawRequest(`${proxy.url}/engage/?verbose=1`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'data=%%%garbage!!' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 0 });
    const last = (await spoolLines(path.join(dir, 'spool'))).at(-1)!;
    expect(last).toMatchObject({ endpoint: 'engage', index: null, upstream_status: 200, undecodable: { content_type: 'application/x-www-form-urlencoded', body_bytes: 17, truncated: false } });
    expect(Buffer.from((last['undecodable'] as { body_base64: string }).body_base64, 'base64').toString()).toBe('data=%%%garbage!!');
  });

  it('spools an empty body as undecodable', async () => {
    const res = await rawRequest(`${proxy.url}/groups/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(res.body.toString()).toBe('0');
    const last = (await spoolLines(path.join(dir, 'spool'))).at(-1)!;
    expect(last).toMatchObject({ endpoint: 'groups', undecodable: { body_bytes: 0, reason: 'empty body and no data query parameter' } });
  });

  it('passes /flags and /record through with Authorization and Content-Encoding intact, without capturing them', async () => {
    const spooled = (await spoolLines(path.join(dir, 'spool'))).length;
    const replay = gzipSync(Buffer.from([1, 2, 3, 250, 251]));
    const before = tap.entries.length;
    const rec = await rawRequest(`${proxy.url}/record/?format=gzip&distinct_id=u-1`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', authorization: 'Basic dG9rZW46' }, body: replay });
    const flags = await rawRequest(`${proxy.url}/flags/?context=%7B%7D`, { method: 'GET', headers: { authorization: 'Basic dG9rZW46' } });
    const [r, f] = tap.entries.slice(before);
    expect(r).toMatchObject({ method: 'POST', url: '/record/?format=gzip&distinct_id=u-1' });
    expect(r!.body.equals(replay)).toBe(true);
    expect(r!.headers).toMatchObject({ 'content-encoding': 'gzip', authorization: 'Basic dG9rZW46', 'content-type': 'application/octet-stream' });
    expect(f).toMatchObject({ method: 'GET', url: '/flags/?context=%7B%7D' });
    expect(f!.headers['authorization']).toBe('Basic dG9rZW46');
    expect(rec.status).toBe(r!.responseStatus);
    expect(flags.status).toBe(f!.responseStatus);
    expect((await spoolLines(path.join(dir, 'spool'))).length).toBe(spooled);
  });

  it('answers 502 with a spool line when the upstream is unreachable (the SDK retries a 5xx)', async () => {
    const spool = path.join(dir, 'spool-down');
    const down = await startProxy({ spoolDir: spool, port: 0, host: '127.0.0.1', upstream: 'http://127.0.0.1:1' });
    try {
      const res = await rawRequest(`${down.url}/track?data=${encodeURIComponent(b64(event(4)))}`);
      expect(res.status).toBe(502);
      expect((await spoolLines(spool))[0]).toMatchObject({ upstream_status: null, upstream_accepted: false, upstream_error: 'Mixpanel unreachable: ECONNREFUSED', record: { event: 'Event 4' } });
    } finally {
      await down.close();
    }
  });

  it('keeps forwarding when the spool cannot be written (fail-open), and counts the failure', async () => {
    const spool = path.join(dir, 'spool-broken');
    const broken = await startProxy({ spoolDir: spool, port: 0, host: '127.0.0.1', upstream: tap.url, segmentBytes: 1 });
    try {
      await rm(spool, { recursive: true, force: true }); // the next rotation cannot create its segment
      const first = await rawRequest(`${broken.url}/track?data=${encodeURIComponent(b64(event(5)))}`);
      const second = await rawRequest(`${broken.url}/track?data=${encodeURIComponent(b64(event(6)))}`);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.body.toString()).toBe('1');
      expect(broken.stats.spoolFailures).toBeGreaterThanOrEqual(1);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});

describe('headers, CORS and assets', () => {
  it('answers a preflight from an allowed origin with that exact origin and credentials, and nothing for others', async () => {
    const ok = await rawRequest(`${proxy.url}/track/`, { method: 'OPTIONS', headers: { origin: PAGE_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(PAGE_ORIGIN);
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect(ok.headers['access-control-allow-headers']).toContain('Content-Type, Authorization');
    const other = await rawRequest(`${proxy.url}/track/`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const post = await rawRequest(`${proxy.url}/track?data=${encodeURIComponent(b64(event(7)))}`, { headers: { origin: 'https://evil.example' } });
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('trusted mode: client_ip is the left-most X-Forwarded-For address and the peer is appended', async () => {
    const before = tap.entries.length;
    await rawRequest(`${trusted.url}/track?data=${encodeURIComponent(b64(event(8)))}`, { headers: { 'x-forwarded-for': '1.2.3.4, 10.0.0.1' } });
    expect(tap.entries[before]!.headers['x-forwarded-for']).toBe('1.2.3.4, 10.0.0.1, 127.0.0.1');
    expect((await spoolLines(path.join(dir, 'spool-trusted'))).at(-1)).toMatchObject({ client_ip: '1.2.3.4' });
  });

  it('untrusted mode: a client-sent X-Forwarded-For is replaced by the peer address', async () => {
    const before = tap.entries.length;
    await rawRequest(`${proxy.url}/track?data=${encodeURIComponent(b64(event(9)))}`, { headers: { 'x-forwarded-for': '1.2.3.4' } });
    expect(tap.entries[before]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect((await spoolLines(path.join(dir, 'spool'))).at(-1)).toMatchObject({ client_ip: '127.0.0.1', record: { event: 'Event 9' } });
  });

  it('serves /lib.min.js from the installed mixpanel-browser, and /healthz', async () => {
    const require = createRequire(import.meta.url);
    const lib = await rawRequest(`${proxy.url}/lib.min.js`);
    expect(lib.status).toBe(200);
    expect(lib.headers['content-type']).toContain('javascript');
    expect(lib.body.equals(readFileSync(require.resolve('mixpanel-browser/dist/mixpanel.min.js')))).toBe(true);
    const health = await rawRequest(`${proxy.url}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: 'ok', stats: { undecodable: 2 } });
  });

  it('routes to the regional ingestion host', () => {
    expect(upstreamBase('/track/', 'US', undefined)).toBe('https://api.mixpanel.com');
    expect(upstreamBase('/track/', 'EU', undefined)).toBe('https://api-eu.mixpanel.com');
    expect(upstreamBase('/engage', 'IN', undefined)).toBe('https://api-in.mixpanel.com');
    expect(upstreamBase('/record/', 'US', undefined)).toBe('https://api-js.mixpanel.com');
    expect(upstreamBase('/record/', 'EU', undefined)).toBe('https://api-eu.mixpanel.com');
    expect(upstreamBase('/track', 'EU', 'http://127.0.0.1:9/')).toBe('http://127.0.0.1:9');
  });
});
