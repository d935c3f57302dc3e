import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import Mixpanel from 'mixpanel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { TEST_NOW, isoDate, postForm, rawRequest, secretAuth, serviceAccountAuth } from './test-helpers.js';

let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

describe('the official mixpanel npm client', () => {
  const previous = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
  beforeAll(() => {
    // The client refuses to send credentials over http; the emulator serves a self-signed loopback cert.
    process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
  });
  afterAll(() => {
    if (previous === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = previous;
  });

  it('imports, tracks and updates people; the events come back from export with identical properties', async () => {
    expect.hasAssertions();
    const tls = { key: readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url)), cert: readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url)) };
    const clock = { t: Date.now() };
    em = await startEmulator({ tls, now: () => clock.t, limits: NO_RATE_LIMITS });
    const config = { host: '127.0.0.1', port: em.port, protocol: 'https', secret: em.project.apiSecret, keepAlive: false };
    const client = Mixpanel.init(em.project.token, config);
    const call = (fn: (cb: (err: Error | undefined) => void) => void): Promise<Error | undefined> => new Promise((resolve) => fn(resolve));
    const batchCall = (fn: (cb: (errs: Error[] | undefined) => void) => void): Promise<Error[] | undefined> => new Promise((resolve) => fn(resolve));

    const t0 = clock.t - 3 * 86_400_000;
    const imported = Array.from({ length: 120 }, (_, i) => ({
      event: i % 2 === 0 ? 'Signed Up' : 'Purchase',
      properties: {
        distinct_id: `client-${i % 7}`,
        $insert_id: `client-import-${i}`,
        time: t0 + i * 1000,
        price: i + 0.5,
        tags: ['a', String(i)],
        nested: { deep: { ok: i % 3 === 0, none: null } },
        name: `ünïcödé ${i} 😀`,
      },
    }));
    const sent = imported.map((e) => ({ event: e.event, properties: { ...e.properties } }));
    expect(await batchCall((cb) => client.import_batch(imported, cb))).toBeFalsy();
    expect(await call((cb) => client.import('Single Import', new Date(t0), { distinct_id: 'client-x', $insert_id: 'client-single', n: 1 }, cb))).toBeUndefined();
    expect(await call((cb) => client.track('Tracked', { distinct_id: 'client-t', $insert_id: 'client-track-1', plan: 'pro' }, cb))).toBeUndefined();
    expect(await batchCall((cb) => client.track_batch([{ event: 'Batched', properties: { distinct_id: 'client-b', $insert_id: 'client-batch-1', time: clock.t - 1000 } }], cb))).toBeFalsy();

    expect(await call((cb) => client.people.set('client-1', { $email: 'c1@example.com', plan: 'free', tags: ['x'] }, cb))).toBeUndefined();
    expect(await call((cb) => client.people.set_once('client-1', 'first_seen', '2024-01-01', cb))).toBeUndefined();
    expect(await call((cb) => client.people.set_once('client-1', 'plan', 'ignored', cb))).toBeUndefined();
    expect(await call((cb) => client.people.increment('client-1', 'logins', 3, cb))).toBeUndefined();
    expect(await call((cb) => client.people.increment('client-1', 'logins', 2, cb))).toBeUndefined();
    expect(await call((cb) => client.people.append('client-1', 'tags', 'y', cb))).toBeUndefined();
    expect(await call((cb) => client.people.union('client-1', { tags: ['y', 'z'] }, cb))).toBeUndefined();
    expect(await call((cb) => client.people.remove('client-1', { tags: 'x' }, cb))).toBeUndefined();
    expect(await call((cb) => client.people.unset('client-1', 'first_seen', cb))).toBeUndefined();
    expect(await call((cb) => client.people.set('client-2', { plan: 'pro' }, cb))).toBeUndefined();
    expect(await call((cb) => client.people.delete_user('client-2', cb))).toBeUndefined();
    expect(await call((cb) => client.groups.set('company', 'acme', { $name: 'Acme', seats: 5 }, cb))).toBeUndefined();

    clock.t += 1000;
    const exported = em.data.exportEvents({ fromDate: isoDate(t0), toDate: isoDate(clock.t) });
    const byInsertId = new Map(exported.map((e) => [e.properties['$insert_id'], e]));
    for (const e of sent) {
      const back = byInsertId.get(e.properties.$insert_id);
      expect(back?.event).toBe(e.event);
      for (const [k, v] of Object.entries(e.properties)) expect(back?.properties[k]).toEqual(v);
      expect(back?.properties['token']).toBe(em.project.token);
    }
    expect(byInsertId.get('client-single')?.properties).toMatchObject({ distinct_id: 'client-x', n: 1, time: t0, mp_lib: 'node' });
    expect(byInsertId.get('client-track-1')?.properties['plan']).toBe('pro');
    expect(byInsertId.has('client-batch-1')).toBe(true);

    // Over HTTP too: the same lines come back from /api/2.0/export.
    const http = await fetch(`${em.url}/api/2.0/export?from_date=${isoDate(t0)}&to_date=${isoDate(clock.t)}&time_in_ms=true`, { headers: { authorization: secretAuth(em.project) } });
    const httpLines = (await http.text()).split('\n').filter((l) => l !== '');
    expect(httpLines).toEqual(em.data.exportLines({ fromDate: isoDate(t0), toDate: isoDate(clock.t) }));

    const profile = em.data.getProfile('client-1')?.properties;
    expect(profile).toMatchObject({ $email: 'c1@example.com', plan: 'free', logins: 5, tags: ['y', 'z'] });
    expect(profile).not.toHaveProperty('first_seen');
    expect(em.data.getProfile('client-2')).toBeUndefined();
    expect(em.data.listGroupProfiles(em.data.dataGroupIdForKey('company'))).toEqual([{ distinctId: 'acme', properties: { $name: 'Acme', seats: 5 } }]);
  });
});

describe('/track, /engage, /groups encodings', () => {
  it('accepts form base64 (with + turned into spaces), form JSON, JSON body, text/plain beacon, gzip and GET ?data=', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    const token = em.project.token;
    const ev = (n: number): unknown => ({ event: `E${n}`, properties: { token, distinct_id: 'enc', $insert_id: `enc-${n}`, time: TEST_NOW - n * 1000, text: 'a>b?c~~~ÿ' } });
    const base64WithPlus = b64([ev(1)]);
    expect(base64WithPlus).toMatch(/[+/]/);
    const results = [
      // form field base64, but the + signs arrive as spaces (unencoded form bodies)
      await rawRequest(`${em.url}/track`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `data=${base64WithPlus.replace(/\//g, '%2F')}` }),
      await postForm(`${em.url}/track/`, { data: JSON.stringify(ev(2)) }),
      await fetch(`${em.url}/track?verbose=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([ev(3), ev(4)]) }),
      await fetch(`${em.url}/track`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: `data=${encodeURIComponent(b64(ev(5)))}` }),
      await rawRequest(`${em.url}/track`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify([ev(6)])) }),
      await fetch(`${em.url}/track?data=${encodeURIComponent(b64(ev(7)))}&ip=1&_=${TEST_NOW}`),
    ];
    const texts = await Promise.all(results.map(async (r) => ('text' in r && typeof r.text === 'function' ? await r.text() : (r as { body: Buffer; text?: string }).text ?? (r as { body: Buffer }).body.toString())));
    expect(texts).toEqual(['1', '1', '{"status":1,"error":null}', '1', '1', '1']);
    const events = em.data.exportEvents({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) });
    expect(events.map((e) => e.event).sort()).toEqual(['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7']);
    for (const e of events) expect(e.properties['text']).toBe('a>b?c~~~ÿ');
  });

  it('answers 0 / verbose errors for invalid payloads; unknown tokens are dropped but answered 1', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    const bad = await postForm(`${em.url}/track`, { data: 'not base64 json' });
    expect(bad.text).toBe('0');
    const verbose = await postForm(`${em.url}/track?verbose=1`, { data: JSON.stringify({ properties: {} }) });
    expect(JSON.parse(verbose.text)).toMatchObject({ status: 0 });
    const wide = await postForm(`${em.url}/track?verbose=1`, { data: JSON.stringify({ event: 'wide', properties: { token: em.project.token, ...Object.fromEntries(Array.from({ length: 300 }, (_, k) => [`k${k}`, k])) } }) });
    expect(JSON.parse(wide.text)).toMatchObject({ status: 0, error: expect.stringContaining('at most 255') as unknown });
    const tooOld = await postForm(`${em.url}/track?verbose=1`, { data: JSON.stringify({ event: 'old', properties: { token: em.project.token, time: TEST_NOW - 6 * 86_400_000 } }) });
    expect(JSON.parse(tooOld.text).error).toContain('5 days');
    const unknownToken = await postForm(`${em.url}/track`, { data: JSON.stringify({ event: 'x', properties: { token: 'nope', time: TEST_NOW } }) });
    expect(unknownToken.text).toBe('1');
    expect(em.data.exportEvents({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) })).toEqual([]);
    const jsonp = await postForm(`${em.url}/track?callback=cb`, { data: JSON.stringify({ event: 'x', properties: { token: em.project.token, time: TEST_NOW } }) });
    expect(jsonp.text).toBe('cb(1);');
    const noDistinct = await postForm(`${em.url}/engage?verbose=1`, { data: JSON.stringify({ $token: em.project.token, $set: { a: 1 } }) });
    expect(JSON.parse(noDistinct.text)).toEqual({ status: 0, error: 'Engage API error: $distinct_id, missing or empty' });
    expect(noDistinct.status).toBe(200);
    const verbose2 = await postForm(`${em.url}/engage?verbose=2`, { data: JSON.stringify({ $token: em.project.token, $set: { a: 1 } }) });
    expect(verbose2.status).toBe(400);
    expect(JSON.parse(verbose2.text)).toEqual({ status: 0, error: 'Engage API error: $distinct_id, missing or empty' });
  });

  it('applies every profile operation and $ignore_time through /engage, and group operations through /groups', async () => {
    const clock = { t: TEST_NOW };
    em = await startEmulator({ now: () => clock.t, limits: NO_RATE_LIMITS });
    const token = em.project.token;
    const send = (u: unknown): Promise<{ text: string }> => postForm(`${em?.url}/engage`, { data: b64(u) });
    await send([{ $token: token, $distinct_id: 'p', $set: { a: 1, list: [1] } }]);
    const seen1 = em.data.getProfile('p')?.properties['$last_seen'];
    expect(seen1).toBe('2024-06-15T12:00:00');
    clock.t += 60_000;
    await send({ $token: token, $distinct_id: 'p', $set: { quiet: true }, $ignore_time: true });
    expect(em.data.getProfile('p')?.properties['$last_seen']).toBe(seen1);
    await send([
      { $token: token, $distinct_id: 'p', $set_once: { a: 2, b: 2 } },
      { $token: token, $distinct_id: 'p', $add: { n: 2.5 } },
      { $token: token, $distinct_id: 'p', $append: { list: 2 } },
      { $token: token, $distinct_id: 'p', $union: { list: [2, 3] } },
      { $token: token, $distinct_id: 'p', $remove: { list: 1 } },
      { $token: token, $distinct_id: 'p', $unset: ['quiet'] },
    ]);
    expect(em.data.getProfile('p')?.properties).toEqual({ a: 1, b: 2, n: 2.5, list: [2, 3], $last_seen: '2024-06-15T12:01:00' });
    await send({ $token: token, $distinct_id: 'p', $delete: null });
    expect(em.data.getProfile('p')).toBeUndefined();
    const g = await postForm(`${em.url}/groups?verbose=1`, { data: JSON.stringify([{ $token: token, $group_key: 'company', $group_id: 'acme', $set: { seats: 1 } }, { $token: token, $group_key: 'company', $group_id: 'acme', $union: { tools: ['x'] } }]) });
    expect(JSON.parse(g.text)).toEqual({ status: 1, error: null });
    expect(em.data.listGroupProfiles(em.data.dataGroupIdForKey('company'))).toEqual([{ distinctId: 'acme', properties: { seats: 1, tools: ['x'] } }]);
  });
});

describe('/import', () => {
  it('strict=1 validates each record, still ingests the valid ones, and answers Mixpanel bodies', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    const url = `${em.url}/import?strict=1&project_id=${em.project.id}`;
    const headers = { authorization: serviceAccountAuth(em.project), 'content-type': 'application/json' };
    const good = { event: 'ok', properties: { time: TEST_NOW - 5000, distinct_id: 'u', $insert_id: 'good-1' } };
    const records = [
      good,
      { event: 'bad-time', properties: { time: 5, distinct_id: 'u', $insert_id: 'bad-time-1' } },
      { event: 'future', properties: { time: TEST_NOW + 7_200_000, distinct_id: 'u', $insert_id: 'future-1' } },
      { event: 'banned', properties: { time: TEST_NOW, distinct_id: 'undefined', $insert_id: 'banned-1' } },
      { event: 'long-id', properties: { time: TEST_NOW, distinct_id: 'u', $insert_id: 'x'.repeat(37) } },
      { event: 'no-id', properties: { time: TEST_NOW, distinct_id: 'u' } },
      { event: 'soon', properties: { time: TEST_NOW + 60_000, distinct_id: '', $insert_id: 'soon-1' } },
      { event: 'wide', properties: { time: TEST_NOW, distinct_id: 'u', $insert_id: 'wide-1', ...Object.fromEntries(Array.from({ length: 260 }, (_, k) => [`k${k}`, k])) } },
      { event: 'heavy', properties: { time: TEST_NOW, distinct_id: 'u', $insert_id: 'heavy-1', blob: 'x'.repeat(1024 * 1024) } },
    ];
    const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(records) });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { code: number; error: string; failed_records: { index: number; field: string; $insert_id: string }[]; num_records_imported: number; status: string };
    expect(body).toMatchObject({ code: 400, error: 'some data points in the request failed validation', num_records_imported: 2, status: 'Bad Request' });
    expect(body.failed_records.map((f) => [f.index, f.field])).toEqual([
      [1, 'properties.time'],
      [2, 'properties.time'],
      [3, 'properties.distinct_id'],
      [4, 'properties.$insert_id'],
      [5, 'properties.$insert_id'],
      [7, 'properties'],
      [8, 'properties'],
    ]);
    expect(body.failed_records[0]?.$insert_id).toBe('bad-time-1');
    const events = em.data.exportEvents({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) });
    expect(events.map((e) => e.event).sort()).toEqual(['ok', 'soon']);
    expect(events.find((e) => e.event === 'soon')?.properties['time']).toBe(TEST_NOW); // future within 1 h: clamped to now
    expect(events.find((e) => e.event === 'ok')?.properties['mp_processing_time_ms']).toBe(TEST_NOW);

    const ok = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, body: gzipSync([good, good].map((x) => JSON.stringify(x)).join('\n')) });
    expect(await ok.json()).toEqual({ code: 200, num_records_imported: 2, status: 'OK' });
  });

  it('accepts the secret and the token as Basic username; rejects bad credentials, >2000 records and >10 MB', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    const rec = { event: 'ok', properties: { time: TEST_NOW, distinct_id: 'u', $insert_id: 'a' } };
    const post = (auth: string, body: string): Promise<Response> => fetch(`${em?.url}/import?strict=1`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
    expect((await post(secretAuth(em.project), JSON.stringify([rec]))).status).toBe(200);
    expect((await post(`Basic ${Buffer.from(`${em.project.token}:`).toString('base64')}`, JSON.stringify([rec]))).status).toBe(200);
    const bad = await post(`Basic ${Buffer.from('wrong:').toString('base64')}`, JSON.stringify([rec]));
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ code: 401, error: 'Invalid credentials', status: 'Unauthorized' });
    const tooMany = await post(secretAuth(em.project), JSON.stringify(Array.from({ length: 2001 }, () => rec)));
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: string }).error).toContain('2000');
    const huge = await post(secretAuth(em.project), JSON.stringify([{ ...rec, properties: { ...rec.properties, blob: 'x'.repeat(10 * 1024 * 1024) } }]));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 413, status: 'Request Entity Too Large' });
  });
});
