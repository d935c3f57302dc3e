/** runProxyCommand: option validation names the fix; it serves until stopped and releases the spool. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../connector-spec/index.js';
import { silentLogger } from '../runner/index.js';
import { benchProxyLatency } from './bench-latency.js';
import { runProxyCommand, type RunningProxy } from './index.js';
import { LOCK_NAME } from './spool.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'proxy-command-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runProxyCommand', () => {
  it.each([
    [{ region: 'APAC' }, /--region APAC: expected US, EU or IN/],
    [{ port: '99999' }, /--port 99999/],
    [{ corsOrigin: ['https://app.example.com/path'] }, /--cors-origin .*e\.g\. https:\/\/app\.example\.com/],
    [{ upstream: 'ftp://x' }, /--upstream ftp:\/\/x: expected an http/],
  ])('rejects %j with a ConfigError naming the fix', async (bad, message) => {
    const run = runProxyCommand({ spool: path.join(dir, 'bad'), logger: silentLogger, host: '127.0.0.1', port: 0, ...bad });
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    await expect(run).rejects.toThrow(message);
  });

  it('serves /healthz until stopped, then releases the spool lock', async () => {
    const spool = path.join(dir, 'ok');
    const stop = new AbortController();
    let proxy: RunningProxy | undefined;
    const done = runProxyCommand({ spool, port: 0, host: '127.0.0.1', region: 'eu', corsOrigin: 'https://a.example, https://b.example', logger: silentLogger, signal: stop.signal, onListening: (p) => (proxy = p) });
    while (proxy === undefined) await new Promise((r) => setTimeout(r, 10));
    const res = await fetch(`${proxy.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await readdir(spool)).toContain(LOCK_NAME);
    stop.abort();
    await done;
    expect(await readdir(spool)).not.toContain(LOCK_NAME);
  });
});

describe('benchProxyLatency', () => {
  it('measures direct and proxied percentiles (a small run; the target lives in npm run bench)', async () => {
    const r = await benchProxyLatency({ requests: 20 });
    for (const v of [r.directP50Ms, r.directP99Ms, r.proxyP50Ms, r.proxyP99Ms]) expect(v).toBeGreaterThan(0);
    expect(r.addedP50Ms).toBeCloseTo(r.proxyP50Ms - r.directP50Ms, 2);
    expect(r.addedP99Ms).toBeCloseTo(r.proxyP99Ms - r.directP99Ms, 2);
  });
});
