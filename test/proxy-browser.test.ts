/**
 * The real mixpanel-browser SDK in real headless Chromium (A1, A2, A5): a page on another origin loads the SDK
 * from the proxy's /lib.min.js with `api_host` = the proxy. track, people.set and get_group().set reach the
 * emulator byte-identical to what the browser sent, the SDK sees the emulator's reply (through CORS with
 * credentials), and one runner pass puts exactly those rows in the three tables. Also with
 * `batch_requests: false`, and an upstream 503 + Retry-After: 2 that the SDK sees and retries.
 *
 * Needs /usr/bin/chromium (Debian `chromium`). Without it, and only when CI is not set, the suite is skipped with
 * that reason; under CI it runs and fails if Chromium is missing. test/proxy-node-sdk.test.ts always runs.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { startProxy, type RunningProxy } from '../proxy/index.js';
import { runProxyTables, startTap, type Tap, type TapEntry } from '../proxy/testing.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** What page scripts see (the tsconfig has no DOM lib; these run inside Chromium). */
interface XhrLike {
  status: number;
  withCredentials: boolean;
  onload: (() => void) | null;
  onerror: (() => void) | null;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getResponseHeader(name: string): string | null;
  send(body: string): void;
}
interface MixpanelLike {
  identify(id: string): void;
  track(...args: unknown[]): void;
  people: { set(...args: unknown[]): void };
  get_group(key: string, id: string): { set(...args: unknown[]): void };
  get_distinct_id(): string;
}
interface PageWindow {
  __loaded?: boolean;
  __replies: unknown[];
  mixpanel: MixpanelLike;
  XMLHttpRequest: new () => XhrLike;
  btoa(text: string): string;
}
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const hasChromium = existsSync(CHROMIUM);
const skip = !hasChromium && !process.env['CI'];
const title = skip ? `mixpanel-browser in Chromium (SKIPPED: ${CHROMIUM} is absent and CI is not set; apt-get install -y chromium to run it)` : 'mixpanel-browser in headless Chromium through the proxy';

let emulator: Emulator;
let tap: Tap;
let duck: Duck;
let root: string;
let page: http.Server;
let pageOrigin = '';
let snippet = '';

interface Scenario {
  readonly proxy: RunningProxy;
  readonly spool: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** What the browser sent to the proxy and what it got back, per request URL. */
  readonly sent: Map<string, { body: Buffer; status: number; headers: Record<string, string>; response: Buffer }>;
}

function pageHtml(proxyUrl: string, config: Record<string, unknown>): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>proxy test</title></head><body>
<script>var MIXPANEL_CUSTOM_LIB_URL = ${JSON.stringify(`${proxyUrl}/lib.min.js`)};</script>
<script>${snippet}</script>
<script>
window.__replies = [];
mixpanel.init(${JSON.stringify(emulator.project.token)}, Object.assign(${JSON.stringify(config)}, {
  api_host: ${JSON.stringify(proxyUrl)},
  loaded: function () { window.__loaded = true; }
}));
</script></body></html>`;
}

async function scenario(name: string, config: Record<string, unknown>): Promise<Scenario> {
  const spool = path.join(root, name, 'spool');
  const proxy = await startProxy({ spoolDir: spool, port: 0, host: '127.0.0.1', upstream: tap.url, corsOrigins: [pageOrigin] });
  pages.set(`/${name}`, pageHtml(proxy.url, config));
  const context = await chromium.launchPersistentContext(await mkdtemp(path.join(root, `${name}-profile-`)), { executablePath: CHROMIUM, headless: true, args: FLAGS });
  const p = context.pages()[0] ?? (await context.newPage());
  const sent: Scenario['sent'] = new Map();
  p.on('response', (response) => {
    const request = response.request();
    if (!request.url().startsWith(proxy.url) || request.method() === 'OPTIONS' || request.url().endsWith('/lib.min.js')) return;
    void response.body().then(
      (body) => sent.set(request.url(), { body: request.postDataBuffer() ?? Buffer.alloc(0), status: response.status(), headers: response.headers(), response: body }),
      () => undefined,
    );
  });
  await p.goto(`${pageOrigin}/${name}`);
  await p.waitForFunction(() => (globalThis as unknown as PageWindow).__loaded === true);
  return { proxy, spool, context, page: p, sent };
}

const pages = new Map<string, string>();

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ingest(entries: readonly TapEntry[], since: number): TapEntry[] {
  return entries.slice(since).filter((e) => /^\/(track|engage|groups)\//.test(e.url));
}

/** Every ingestion request the emulator got is byte-identical to what the browser sent, and so is the reply. */
function expectByteIdentical(s: Scenario, entries: readonly TapEntry[]): void {
  for (const e of entries) {
    const browser = [...s.sent.entries()].find(([url]) => url === `${s.proxy.url}${e.url}`)?.[1];
    expect(browser, `browser side of ${e.url}`).toBeDefined();
    expect(e.body.equals(browser!.body)).toBe(true);
    expect(e.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(browser!.status).toBe(e.responseStatus);
    expect(browser!.response.equals(e.responseBody)).toBe(true);
    expect(browser!.headers['access-control-allow-origin']).toBe(pageOrigin);
  }
}

/** The records in the browser's request bodies (form data=base64 JSON), per endpoint. */
function sentRecords(s: Scenario): Record<'track' | 'engage' | 'groups', Record<string, unknown>[]> {
  const out: Record<'track' | 'engage' | 'groups', Record<string, unknown>[]> = { track: [], engage: [], groups: [] };
  for (const [url, { body, status }] of s.sent) {
    const endpoint = /\/(track|engage|groups)\//.exec(new URL(url).pathname)?.[1] as 'track' | 'engage' | 'groups' | undefined;
    if (endpoint === undefined || status !== 200) continue;
    const data = new URLSearchParams(body.toString()).get('data') ?? '';
    const value = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as Record<string, unknown> | Record<string, unknown>[];
    out[endpoint].push(...(Array.isArray(value) ? value : [value]));
  }
  return out;
}

const OPS = ['$set', '$set_once', '$add', '$append', '$union', '$remove', '$unset', '$delete'];
function operations(records: readonly Record<string, unknown>[]): string[] {
  return records.flatMap((r) => OPS.filter((op) => op in r).map((op) => `${op} ${JSON.stringify(r[op])}`));
}

async function lakeRows(name: string, spool: string): Promise<{ events: Record<string, unknown>[]; profiles: Record<string, unknown>[]; groups: Record<string, unknown>[] }> {
  const lake = path.join(root, name, 'lakehouse');
  await runProxyTables(spool, lake, path.join(root, name, 'state'));
  // A table with no rows has no Parquet file yet.
  const rows = async (table: string, sql: (scan: string) => string): Promise<Record<string, unknown>[]> =>
    existsSync(path.join(lake, table)) && (await readdir(path.join(lake, table), { recursive: true })).some((f) => f.endsWith('.parquet')) ? duck.all(sql(await tableScan(lake, table))) : [];
  return {
    events: await rows('proxy_events', (scan) => `SELECT event, distinct_id, insert_id, upstream_status, upstream_accepted, dedupe_key, lib, json_extract_string(properties, '$.plan') AS plan FROM ${scan} ORDER BY received_at, insert_id`),
    profiles: await rows('proxy_profile_updates', (scan) => `SELECT distinct_id, operation, payload, upstream_accepted FROM ${scan}`),
    groups: await rows('proxy_group_updates', (scan) => `SELECT group_key, group_id, operation, payload, upstream_accepted FROM ${scan}`),
  };
}

describe.skipIf(skip)(title, () => {
  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI is set but ${CHROMIUM} is missing: .ci/run must apt-get install -y chromium`);
    snippet = await readFile(path.join(import.meta.dirname, '..', 'node_modules', 'mixpanel-browser', 'dist', 'mixpanel-jslib-snippet.min.js'), 'utf8');
    emulator = await startEmulator();
    tap = await startTap(emulator.url);
    duck = await openDuck();
    root = await mkdtemp(path.join(tmpdir(), 'proxy-browser-'));
    page = http.createServer((req, res) => {
      const html = pages.get(req.url ?? '');
      res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html ?? 'not found');
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    // Another origin than the proxy's (http://127.0.0.1:P): the SDK's XHRs are cross-origin with credentials.
    pageOrigin = `http://localhost:${(page.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    duck?.close();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
    await tap?.close();
    await emulator?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const base = { batch_flush_interval_ms: 200, track_pageview: false, autocapture: false, persistence: 'localStorage' };

  it.each([
    ['batched', { ...base, batch_requests: true }],
    ['unbatched', { ...base, batch_requests: false }],
  ])('%s: track, people.set and get_group().set reach the emulator byte-identical; the lake holds exactly those rows', async (name, config) => {
    expect.hasAssertions();
    const since = tap.entries.length;
    const s = await scenario(name, config);
    try {
      const distinctId = await s.page.evaluate(() => {
        const mp = (globalThis as unknown as PageWindow).mixpanel;
        const replies = (globalThis as unknown as PageWindow).__replies;
        // Profile updates of an anonymous user wait for identify (mixpanel-browser), which also tracks $identify.
        mp.identify('browser-user');
        mp.track('Signed up', { plan: 'pro', event: 'Spoofed' }, (r: unknown) => replies.push(['track', r]));
        mp.people.set({ $email: 'a@x.io' }, (r: unknown) => replies.push(['engage', r]));
        mp.get_group('company', 'acme').set({ tier: 1 }, (r: unknown) => replies.push(['groups', r]));
        return mp.get_distinct_id();
      });
      const entries = await waitFor('track, engage and groups at the emulator', () => {
        const got = ingest(tap.entries, since);
        return ['track', 'engage', 'groups'].every((k) => got.some((e) => e.url.startsWith(`/${k}/`))) ? got : undefined;
      });
      await waitFor('the browser side of every request', () => (entries.every((e) => s.sent.has(`${s.proxy.url}${e.url}`)) ? true : undefined));
      expect(new Set(entries.map((e) => e.url.split('?')[0]))).toEqual(new Set(['/engage/', '/groups/', '/track/']));
      for (const e of entries) expect(e.url).toMatch(name === 'batched' ? /\?verbose=1&ip=1&_=\d+$/ : /\?(verbose=1&)?ip=1&_=\d+$/);
      expectByteIdentical(s, entries);
      for (const e of entries) expect([1, { status: 1, error: null }]).toContainEqual(JSON.parse(e.responseBody.toString()));
      if (name === 'unbatched') {
        // The SDK's own callbacks got the emulator's verbose reply.
        const replies = await waitFor('SDK callbacks', async () => {
          const r = await s.page.evaluate(() => (globalThis as unknown as PageWindow).__replies);
          return r.length >= 3 ? (r as [string, unknown][]) : undefined;
        });
        for (const [endpoint, reply] of replies) {
          const entry = entries.filter((e) => e.url.startsWith(`/${endpoint}/`)).at(-1)!;
          expect(reply).toEqual(JSON.parse(entry.responseBody.toString()));
        }
      }

      const lake = await lakeRows(name, s.spool);
      expect(distinctId).toBe('browser-user');
      expect(lake.events.map((r) => r['event']).sort()).toEqual(['$identify', 'Signed up']);
      expect(lake.events.find((r) => r['event'] === 'Signed up')).toMatchObject({ event: 'Signed up', distinct_id: distinctId, upstream_status: 200, upstream_accepted: true, lib: 'web', plan: 'pro' });
      for (const row of lake.events) expect(typeof row['insert_id']).toBe('string');
      // Exactly the records the browser sent (decoded here from the bytes Chromium put on the wire).
      const sent = sentRecords(s);
      expect(lake.events.map((r) => r['insert_id']).sort()).toEqual(sent.track.map((r) => (r['properties'] as Record<string, unknown>)['$insert_id']).sort());
      expect(lake.profiles.map((r) => `${String(r['operation'])} ${String(r['payload'])}`).sort()).toEqual(operations(sent.engage).sort());
      expect(lake.groups.map((r) => `${String(r['operation'])} ${String(r['payload'])}`).sort()).toEqual(operations(sent.groups).sort());
      expect(lake.profiles.filter((r) => r['operation'] === '$set').map((r) => JSON.parse(String(r['payload'])) as Record<string, unknown>)).toMatchObject([{ $email: 'a@x.io' }]);
      for (const r of lake.profiles) expect(r).toMatchObject({ distinct_id: distinctId, upstream_accepted: true });
      for (const r of lake.events) expect(r['upstream_accepted']).toBe(true);
      expect(lake.groups).toEqual([{ group_key: 'company', group_id: 'acme', operation: '$set', payload: '{"tier":1}', upstream_accepted: true }]);
    } finally {
      await s.context.close();
      await s.proxy.close();
    }
  });

  it('upstream 503 + Retry-After: 2: the SDK sees both, retries, and the lake has both attempts with one dedupe_key', async () => {
    expect.hasAssertions();
    const s = await scenario('retry', { ...base, batch_requests: true });
    try {
      // Page script can read the 503 and its Retry-After cross-origin (credentials + Access-Control-Expose-Headers).
      emulator.faults.status('track', 503, { retryAfterSeconds: 2 });
      const probe = await s.page.evaluate(async (url) => {
        return await new Promise<{ status: number; retryAfter: string | null }>((resolve) => {
          const w = globalThis as unknown as PageWindow;
          const xhr = new w.XMLHttpRequest();
          xhr.open('POST', url);
          xhr.withCredentials = true;
          xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
          xhr.onload = () => resolve({ status: xhr.status, retryAfter: xhr.getResponseHeader('Retry-After') });
          xhr.onerror = () => resolve({ status: -1, retryAfter: null });
          xhr.send('data=' + encodeURIComponent(w.btoa('[]')));
        });
      }, `${s.proxy.url}/track/?verbose=1&ip=1`);
      expect(probe).toEqual({ status: 503, retryAfter: '2' });
      const since2 = tap.entries.length;
      // mixpanel-browser 2.83.0 reads Retry-After from req.responseHeaders, which XHR lacks, so it retries after
      // twice its flush interval instead; the retry contract (5xx → retry the same batch) is what matters here.
      emulator.faults.status('track', 503, { retryAfterSeconds: 2 });
      await s.page.evaluate(() => {
        (globalThis as unknown as PageWindow).mixpanel.track('Retried', { attempt: 'same payload' });
      });
      const attempts = await waitFor('two /track attempts', () => {
        const t = ingest(tap.entries, since2).filter((e) => e.url.startsWith('/track/'));
        return t.length >= 2 ? t : undefined;
      });
      await waitFor('the browser side of both attempts', () => (attempts.every((e) => s.sent.has(`${s.proxy.url}${e.url}`)) ? true : undefined));
      expect(attempts.map((e) => e.responseStatus)).toEqual([503, 200]);
      const seen = attempts.map((e) => s.sent.get(`${s.proxy.url}${e.url}`)!);
      expect(seen.map((x) => x.status)).toEqual([503, 200]);
      expect(seen[0]!.headers['retry-after']).toBe('2');
      expectByteIdentical(s, attempts);

      const lake = await lakeRows('retry', s.spool);
      expect(lake.events.map((r) => r['upstream_status'])).toEqual([503, 200]);
      expect(lake.events.map((r) => r['upstream_accepted'])).toEqual([false, true]);
      expect(lake.profiles).toEqual([]);
      expect(new Set(lake.events.map((r) => r['dedupe_key'])).size).toBe(1);
      expect(new Set(lake.events.map((r) => r['insert_id'])).size).toBe(1);
    } finally {
      await s.context.close();
      await s.proxy.close();
    }
  });
});
