import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MIXPANEL_LIMITS, NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { TEST_NOW, isoDate, manualClock, secretAuth } from './test-helpers.js';

let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

/** A request with an explicit Host header (fetch does not allow setting it). */
function hostRequest(e: Emulator, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${e.url}${path}`, { method, headers: { host, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('rate limits', () => {
  it("defaults to Mixpanel's numbers", async () => {
    em = await startEmulator();
    expect(em.limits).toMatchObject({ exportPerHour: 60, exportPerSecond: 3, exportConcurrent: 100, queryPerHour: 60, queryConcurrent: 5 });
    expect(MIXPANEL_LIMITS.hourWindowMs).toBe(3_600_000);
  });

  it('query: hourly budget exceeded → 429 with Mixpanel wording and Retry-After; the window frees up', async () => {
    const rl = manualClock(1_000_000);
    em = await startEmulator({ now: () => TEST_NOW, limits: { ...NO_RATE_LIMITS, queryPerHour: 3, queryConcurrent: 5, hourWindowMs: 60_000 }, rateLimitClock: rl.now });
    const call = (): Promise<Response> => fetch(`${em?.url}/api/query/cohorts/list`, { headers: { authorization: secretAuth((em as Emulator).project) } });
    for (let i = 0; i < 3; i++) expect((await call()).status).toBe(200);
    rl.advance(20_000);
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('40');
    const body = (await limited.json()) as { request: string; error: string };
    expect(body.request).toBe('/api/query/cohorts/list');
    expect(body.error).toBe(
      'Query rate limit exceeded for project_id: 1000. 0/5 queries running concurrently and 4/3 queries running in the last hour. For more information, please consult our documentation at https://help.mixpanel.com/hc/en-us/articles/115004602563-Rate-Limits-for-Export-API-Endpoints',
    );
    rl.advance(40_001);
    expect((await call()).status).toBe(200);
  });

  it('query: concurrency cap (slow requests held open) → 429 "2/1 queries running concurrently"', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: { ...NO_RATE_LIMITS, queryConcurrent: 1 } });
    em.faults.add({ route: 'engage', action: { kind: 'slow-headers', delayMs: 500 } });
    const auth = { authorization: secretAuth(em.project) };
    const slow = fetch(`${em.url}/api/query/engage`, { method: 'POST', headers: auth });
    // The fault is named in the log once the slow request holds its slot.
    while (!em.log.entries.some((e) => e.route === 'engage' && e.fault === 'slow-headers')) await new Promise((r) => setTimeout(r, 5));
    const second = await fetch(`${em.url}/api/query/engage`, { method: 'POST', headers: auth });
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: string }).error).toContain('2/1 queries running concurrently and 1/unlimited queries running in the last hour');
    expect((await slow).status).toBe(200);
    // Deterministic version: a streaming export keeps a slot while the client does not read.
    await em.close();
    em = await startEmulator({ now: () => TEST_NOW, eventsPerDay: 200_000, days: 1, limits: { ...NO_RATE_LIMITS, exportConcurrent: 1 } });
    const url = `${em.url}/api/2.0/export?from_date=${isoDate(TEST_NOW)}&to_date=${isoDate(TEST_NOW)}`;
    const held = await fetch(url, { headers: { authorization: secretAuth(em.project) } });
    expect(held.status).toBe(200);
    const blocked = await fetch(url, { headers: { authorization: secretAuth(em.project) } });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).not.toBeNull();
    expect(((await blocked.json()) as { error: string }).error).toContain('too many export requests in progress for this project');
    await held.body?.cancel();
    let after = 429;
    for (let i = 0; i < 50 && after === 429; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const r = await fetch(`${url}&limit=1`, { headers: { authorization: secretAuth(em.project) } });
      after = r.status;
      await r.text();
    }
    expect(after).toBe(200);
  });

  it('export: 3 per second and 60 per hour by default numbers, configurable', async () => {
    const rl = manualClock(5_000_000);
    em = await startEmulator({ now: () => TEST_NOW, rateLimitClock: rl.now, limits: { exportPerSecond: 3, exportPerHour: 5 } });
    const url = `${em.url}/api/2.0/export?from_date=${isoDate(TEST_NOW)}&to_date=${isoDate(TEST_NOW)}`;
    const call = async (): Promise<{ status: number; error?: string; retry: string | null }> => {
      const r = await fetch(url, { headers: { authorization: secretAuth((em as Emulator).project) } });
      const text = await r.text();
      return { status: r.status, retry: r.headers.get('retry-after'), ...(r.status === 429 ? { error: (JSON.parse(text) as { error: string }).error } : {}) };
    };
    const burst = [await call(), await call(), await call(), await call()];
    expect(burst.map((b) => b.status)).toEqual([200, 200, 200, 429]);
    expect(burst[3]?.error).toContain('4/3 queries in the last second');
    expect(burst[3]?.retry).toBe('1');
    rl.advance(1001);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const hourly = await call();
    expect(hourly.status).toBe(429);
    expect(hourly.error).toContain('6/5 queries in the last hour');
    expect(Number(hourly.retry)).toBeGreaterThan(3000);
  });

  it('counts per project', async () => {
    const rl = manualClock(0);
    em = await startEmulator({ now: () => TEST_NOW, rateLimitClock: rl.now, projects: [{}, {}], limits: { ...NO_RATE_LIMITS, queryPerHour: 1 } });
    const [a, b] = em.projects;
    const call = (p: typeof a): Promise<number> => fetch(`${em?.url}/api/query/cohorts/list`, { headers: { authorization: secretAuth(p as NonNullable<typeof a>) } }).then((r) => r.status);
    expect([await call(a), await call(b), await call(a), await call(b)]).toEqual([200, 200, 429, 429]);
  });
});

describe('hosts and regions', () => {
  it('routes by Host: each family only on its hosts; the wrong region answers 401', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS, projects: [{ region: 'EU' }] });
    const auth = { authorization: secretAuth(em.project) };
    const exportPath = `/api/2.0/export?from_date=${isoDate(TEST_NOW)}&to_date=${isoDate(TEST_NOW)}`;
    expect((await hostRequest(em, 'data-eu.mixpanel.com', exportPath, auth)).status).toBe(200);
    const us = await hostRequest(em, 'data.mixpanel.com', exportPath, auth);
    expect(us.status).toBe(401);
    expect(Object.keys(JSON.parse(us.text) as object).sort()).toEqual(['error', 'request']);
    expect((await hostRequest(em, 'data-in.mixpanel.com', exportPath, auth)).status).toBe(401);
    expect((await hostRequest(em, 'eu.mixpanel.com', '/api/query/cohorts/list', auth)).status).toBe(200);
    expect((await hostRequest(em, 'mixpanel.com', '/api/query/cohorts/list', auth)).status).toBe(401);
    expect((await hostRequest(em, 'in.mixpanel.com', '/api/2.0/cohorts/list', auth)).status).toBe(401);
    // a family on another family's host is not served
    expect((await hostRequest(em, 'eu.mixpanel.com', exportPath, auth)).status).toBe(404);
    expect((await hostRequest(em, 'data-eu.mixpanel.com', '/api/query/cohorts/list', auth)).status).toBe(404);
    // ingestion: /import authenticates (401 on the wrong region); /track answers 1 but drops the event
    const body = JSON.stringify([{ event: 'x', properties: { time: TEST_NOW, distinct_id: 'a', $insert_id: 'r1' } }]);
    const importOn = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`${(em as Emulator).url}/import?strict=1`, { method: 'POST', headers: { host, ...auth, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await importOn('api.mixpanel.com')).toBe(401);
    expect(await importOn('api-eu.mixpanel.com')).toBe(200);
    const trackPath = (name: string): string => `/track?data=${encodeURIComponent(Buffer.from(JSON.stringify({ event: name, properties: { token: (em as Emulator).project.token, time: TEST_NOW } })).toString('base64'))}`;
    const dropped = await hostRequest(em, 'api.mixpanel.com', trackPath('dropped'));
    expect(dropped.text).toBe('1');
    const kept = await hostRequest(em, 'api-eu.mixpanel.com', trackPath('kept'));
    expect(kept.text).toBe('1');
    const events = em.data.exportEvents({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) }).map((e) => e.event);
    expect(events.sort()).toEqual(['kept', 'x']);
    expect(em.log.entries.map((e) => e.host)).toContain('data-eu.mixpanel.com');
  });

  it('a service account reaches only the projects it belongs to', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS, projects: [{}, {}] });
    const [a, b] = em.projects as [Emulator['project'], Emulator['project']];
    const sa = `Basic ${Buffer.from(`${a.serviceAccount.username}:${a.serviceAccount.secret}`).toString('base64')}`;
    expect((await fetch(`${em.url}/api/query/cohorts/list?project_id=${a.id}`, { headers: { authorization: sa } })).status).toBe(200);
    const other = await fetch(`${em.url}/api/query/cohorts/list?project_id=${b.id}`, { headers: { authorization: sa } });
    expect(other.status).toBe(403);
    const wrongSecret = await fetch(`${em.url}/api/query/cohorts/list?project_id=${a.id}`, { headers: { authorization: `Basic ${Buffer.from(`${a.serviceAccount.username}:x`).toString('base64')}` } });
    expect(wrongSecret.status).toBe(401);
  });

  it('logs every request with method, host, path, merged params and status, without credentials', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    await fetch(`${em.url}/api/query/engage?project_id=${em.project.id}`, {
      method: 'POST',
      headers: { authorization: secretAuth(em.project), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'where=true&page=0',
    });
    const entry = em.log.entries.at(-1);
    expect(entry).toMatchObject({ method: 'POST', path: '/api/query/engage', route: 'engage', status: 200, projectId: 1000, params: { project_id: '1000', where: 'true', page: '0' } });
    expect(JSON.stringify(em.log.entries)).not.toContain(em.project.apiSecret);
    em.log.clear();
    expect(em.log.entries).toHaveLength(0);
  });
});

describe('ingestion volume', () => {
  it('/import over the per-minute byte budget → 429 with the ingestion body and Retry-After', async () => {
    const rl = manualClock(0);
    em = await startEmulator({ now: () => TEST_NOW, rateLimitClock: rl.now, limits: { ...NO_RATE_LIMITS, ingestBytesPerMinute: 2000 } });
    const body = JSON.stringify([{ event: 'x', properties: { time: TEST_NOW, distinct_id: 'a', $insert_id: 'v1', pad: 'p'.repeat(800) } }]);
    const post = (): Promise<Response> => fetch(`${em?.url}/import?strict=1`, { method: 'POST', headers: { authorization: secretAuth((em as Emulator).project), 'content-type': 'application/json' }, body });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    rl.advance(15_000);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('45');
    expect(await limited.json()).toEqual({ code: 429, error: 'Project exceeded rate limits. Please retry the request with exponential backoff.', status: 'Too Many Requests' });
    rl.advance(45_001);
    expect((await post()).status).toBe(200);
  });
});
