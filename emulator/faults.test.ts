import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator, EmulatorRoute } from './types.js';
import { TEST_NOW, getText, isoDate, postForm, rawRequest, secretAuth } from './test-helpers.js';

let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

async function emulator(): Promise<Emulator> {
  em = await startEmulator({ now: () => TEST_NOW, eventsPerDay: 3000, days: 1, profiles: 30, limits: NO_RATE_LIMITS });
  return em;
}

function exportUrl(e: Emulator): string {
  return `${e.url}/api/2.0/export?from_date=${isoDate(TEST_NOW)}&to_date=${isoDate(TEST_NOW)}`;
}

describe('status faults', () => {
  it('429 with and without Retry-After, on the nth request, a given number of times', async () => {
    const e = await emulator();
    const auth = { authorization: secretAuth(e.project) };
    const h = e.faults.status('export', 429, { retryAfterSeconds: 7, nth: 2, times: 2 });
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await getText(exportUrl(e), auth);
      statuses.push(r.status);
      retryAfter.push(r.headers.get('retry-after'));
      if (r.status === 429) expect(JSON.parse(r.text)).toMatchObject({ request: expect.stringContaining('/api/2.0/export') as unknown, error: expect.any(String) as unknown });
    }
    expect(statuses).toEqual([200, 429, 429, 200]);
    expect(retryAfter).toEqual([null, '7', '7', null]);
    expect(h.fired).toBe(2);
    expect(h.seen).toBe(4);
    e.faults.status('engage', 429);
    const noHeader = await postForm(`${e.url}/api/query/engage`, {}, auth);
    expect(noHeader.status).toBe(429);
    expect(noHeader.headers.get('retry-after')).toBeNull();
    expect(e.log.forRoute('export').map((x) => x.fault)).toEqual([undefined, 'status', 'status', undefined]);
  });

  it('5xx with a custom body, 402 (no plan) per endpoint with each family body', async () => {
    const e = await emulator();
    const auth = { authorization: secretAuth(e.project) };
    e.faults.status('cohorts', 503, { body: 'upstream unavailable' });
    const r503 = await getText(`${e.url}/api/query/cohorts/list`, auth);
    expect([r503.status, r503.text]).toEqual([503, 'upstream unavailable']);
    const routes: [EmulatorRoute, () => Promise<{ status: number; text: string }>][] = [
      ['export', () => getText(exportUrl(e), auth)],
      ['engage', () => postForm(`${e.url}/api/query/engage`, {}, auth)],
      ['cohorts', () => getText(`${e.url}/api/query/cohorts/list`, auth)],
      ['import', () => postForm(`${e.url}/import?strict=1`, { data: '[]' }, auth)],
    ];
    for (const [route, call] of routes) {
      e.faults.add({ route, action: { kind: 'no-plan' } });
      const r = await call();
      expect(r.status).toBe(402);
      const body = JSON.parse(r.text) as Record<string, unknown>;
      if (route === 'import') expect(body).toMatchObject({ code: 402, status: 'Payment Required' });
      else expect(Object.keys(body).sort()).toEqual(['error', 'request']);
      expect(String(body['error'])).toMatch(/plan/);
    }
    expect((await getText(`${e.url}/api/query/cohorts/list`, auth)).status).toBe(200);
  });

  it('slow headers delay the response, then it is served normally', async () => {
    const e = await emulator();
    e.faults.add({ route: 'export', action: { kind: 'slow-headers', delayMs: 300 } });
    const slow = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project) } });
    const fast = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project) } });
    expect(slow.status).toBe(200);
    expect(slow.headerMs).toBeGreaterThanOrEqual(290);
    expect(slow.body.equals(fast.body)).toBe(true);
  });
});

describe('stream faults (export)', () => {
  it('terminated early: N lines then a bare `terminated early` line, cleanly ended', async () => {
    const e = await emulator();
    e.faults.add({ route: 'export', action: { kind: 'terminated-early', afterLines: 25 } });
    const r = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project) } });
    expect(r.error).toBeUndefined();
    const lines = r.body.toString('utf8').split('\n');
    expect(lines).toHaveLength(27);
    expect(lines[25]).toBe('terminated early');
    expect(lines[26]).toBe('');
    for (const l of lines.slice(0, 25)) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('connection reset after byte N (plain and gzip)', async () => {
    const e = await emulator();
    e.faults.add({ route: 'export', action: { kind: 'reset', afterBytes: 50_000 }, times: 2 });
    const plain = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project) } }).catch((err: Error) => ({ error: err, body: Buffer.alloc(0), status: 0 }));
    expect(plain.error).toBeDefined();
    expect(plain.body.length).toBeLessThanOrEqual(50_000);
    const gz = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project), 'accept-encoding': 'gzip' } }).catch((err: Error) => ({ error: err, body: Buffer.alloc(0), status: 0 }));
    expect(gz.error).toBeDefined();
    const ok = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project) } });
    expect(ok.error).toBeUndefined();
    expect(ok.body.length).toBeGreaterThan(50_000);
  });

  it('gzip stream cut short: the HTTP body ends cleanly but the gzip data is incomplete', async () => {
    const e = await emulator();
    e.faults.add({ route: 'export', action: { kind: 'gzip-cut', afterBytes: 4000 } });
    const r = await rawRequest(exportUrl(e), { headers: { authorization: secretAuth(e.project), 'accept-encoding': 'gzip' } });
    expect(r.error).toBeUndefined();
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.body.length).toBe(4000);
    expect(() => gunzipSync(r.body)).toThrow(/unexpected end of file/);
  });
});

describe('engage faults', () => {
  it('session expired on page K', async () => {
    const e = await emulator();
    const auth = { authorization: secretAuth(e.project) };
    e.faults.add({ route: 'engage', action: { kind: 'engage-session-expired', page: 2 } });
    const p0 = JSON.parse((await postForm(`${e.url}/api/query/engage`, { page_size: '10' }, auth)).text) as { session_id: string };
    const p1 = await postForm(`${e.url}/api/query/engage`, { page_size: '10', page: '1', session_id: p0.session_id }, auth);
    const p2 = await postForm(`${e.url}/api/query/engage`, { page_size: '10', page: '2', session_id: p0.session_id }, auth);
    expect(p1.status).toBe(200);
    expect(p2.status).toBe(400);
    expect(JSON.parse(p2.text)).toMatchObject({ error: 'request for page in uncached query for params' });
    const retry = await postForm(`${e.url}/api/query/engage`, { page_size: '10', page: '2', session_id: p0.session_id }, auth);
    expect(retry.status).toBe(400); // the session is gone for good
  });

  it('404 Missing Datagroup for a cohort', async () => {
    const e = await emulator();
    const auth = { authorization: secretAuth(e.project) };
    const c = e.data.addCohort({ name: 'x', members: ['user-1'] });
    const other = e.data.addCohort({ name: 'y', members: ['user-2'] });
    e.faults.add({ route: 'engage', action: { kind: 'missing-datagroup', cohortId: c.id }, times: Number.POSITIVE_INFINITY });
    const r = await postForm(`${e.url}/api/query/engage`, { filter_by_cohort: JSON.stringify({ id: c.id }) }, auth);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'Missing Datagroup' });
    const ok = await postForm(`${e.url}/api/query/engage`, { filter_by_cohort: JSON.stringify({ id: other.id }) }, auth);
    expect(ok.status).toBe(200);
  });
});
