/**
 * `npm run bench` part: the proxy's added latency over talking to the upstream directly (A9). A stub upstream
 * answers like Mixpanel (`{"status":1,"error":null}`); the same mixpanel-browser-shaped request (form
 * data=base64 of a 10-event batch) is sent `requests` times directly and `requests` times through the proxy,
 * one at a time over keep-alive. The lake side is stalled (no runner reads the spool); every proxied request
 * still waits for its spool fsync. Target: added p99 < 20 ms.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy } from './server.js';

export interface ProxyLatency {
  readonly directP50Ms: number;
  readonly directP99Ms: number;
  readonly proxyP50Ms: number;
  readonly proxyP99Ms: number;
  readonly addedP50Ms: number;
  readonly addedP99Ms: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function body(i: number): string {
  const now = Date.now() / 1000;
  const batch = Array.from({ length: 10 }, (_, j) => ({
    event: 'Viewed page',
    properties: { token: 'bench-token', time: now, distinct_id: `bench-${i}`, $insert_id: `bench-${i}-${j}`, $current_url: 'https://example.com/a/b?c=d', mp_lib: 'web', $lib_version: '2.83.0', plan: 'pro', n: j },
  }));
  return `data=${encodeURIComponent(Buffer.from(JSON.stringify(batch)).toString('base64'))}`;
}

function post(agent: http.Agent, base: string, payload: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/track/?verbose=1&ip=1&_=${Date.now()}`, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function measure(base: string, requests: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < Math.min(50, requests); i++) await post(agent, base, body(i)); // warm up
    const times: number[] = [];
    for (let i = 0; i < requests; i++) times.push(await post(agent, base, body(i)));
    return times.sort((a, b) => a - b);
  } finally {
    agent.destroy();
  }
}

export async function benchProxyLatency(options: { requests?: number } = {}): Promise<ProxyLatency> {
  const requests = options.requests ?? 1_000;
  const stub = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '25' });
      res.end('{"status":1,"error":null}');
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  const upstream = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'proxy-bench-'));
  const proxy = await startProxy({ spoolDir: path.join(dir, 'spool'), port: 0, host: '127.0.0.1', upstream });
  try {
    const direct = await measure(upstream, requests);
    const proxied = await measure(proxy.url, requests);
    const d50 = percentile(direct, 50);
    const d99 = percentile(direct, 99);
    const p50 = percentile(proxied, 50);
    const p99 = percentile(proxied, 99);
    return { directP50Ms: round(d50), directP99Ms: round(d99), proxyP50Ms: round(p50), proxyP99Ms: round(p99), addedP50Ms: round(p50 - d50), addedP99Ms: round(p99 - d99) };
  } finally {
    await proxy.close();
    stub.closeAllConnections();
    await new Promise<void>((resolve) => stub.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
}
