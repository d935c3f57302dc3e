import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { TEST_NOW, getText, isoDate, manualClock, rawRequest, secretAuth, serviceAccountAuth } from './test-helpers.js';

const DAY = 86_400_000;
let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

function exportUrl(e: Emulator, params: Record<string, string>): string {
  return `${e.url}/api/2.0/export?${new URLSearchParams(params).toString()}`;
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function props(line: Record<string, unknown>): Record<string, unknown> {
  return line['properties'] as Record<string, unknown>;
}

describe('export: auth', () => {
  it('accepts the secret with and without colon and the service account with project_id', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, eventsPerDay: 200, days: 2 });
    const q = { from_date: isoDate(TEST_NOW - DAY), to_date: isoDate(TEST_NOW) };
    const withColon = await getText(exportUrl(em, q), { authorization: secretAuth(em.project, true) });
    const noColon = await getText(exportUrl(em, q), { authorization: secretAuth(em.project, false) });
    const sa = await getText(exportUrl(em, { ...q, project_id: String(em.project.id) }), { authorization: serviceAccountAuth(em.project) });
    const plainSa = await getText(exportUrl(em, { ...q, project_id: String(em.project.id) }), {
      authorization: `Basic ${em.project.serviceAccount.username}:${em.project.serviceAccount.secret}`,
    });
    expect([withColon.status, noColon.status, sa.status, plainSa.status]).toEqual([200, 200, 200, 200]);
    expect(lines(withColon.text).length).toBeGreaterThan(100);
    expect(noColon.text).toBe(withColon.text);
    expect(sa.text).toBe(withColon.text);
  });

  it('rejects bad credentials, a service account without project_id, and no auth with 401 query bodies', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW });
    const q = { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW) };
    const bad = await getText(exportUrl(em, q), { authorization: `Basic ${Buffer.from('nope:').toString('base64')}` });
    const noPid = await getText(exportUrl(em, q), { authorization: serviceAccountAuth(em.project) });
    const none = await getText(exportUrl(em, q));
    for (const r of [bad, noPid, none]) {
      expect(r.status).toBe(401);
      const body = JSON.parse(r.text) as { request: string; error: string };
      expect(body.request).toContain('/api/2.0/export?from_date=');
      expect(typeof body.error).toBe('string');
    }
    expect(noPid.text).toContain('project_id');
  });
});

describe('export: parameters', () => {
  it('validates dates (to_date later than today in the interpreting zone), limit and event', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW });
    const auth = { authorization: secretAuth(em.project) };
    const tomorrow = await getText(exportUrl(em, { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW + DAY) }), auth);
    expect(tomorrow.status).toBe(400);
    expect(JSON.parse(tomorrow.text).error).toContain('to_date cannot be later than today');
    const badFormat = await getText(exportUrl(em, { from_date: '2024/06/01', to_date: isoDate(TEST_NOW) }), auth);
    expect(badFormat.status).toBe(400);
    const missing = await getText(exportUrl(em, { to_date: isoDate(TEST_NOW) }), auth);
    expect(missing.status).toBe(400);
    const reversed = await getText(exportUrl(em, { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW - DAY) }), auth);
    expect(reversed.status).toBe(400);
    const bigLimit = await getText(exportUrl(em, { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW), limit: '100001' }), auth);
    expect(bigLimit.status).toBe(400);
    expect(JSON.parse(bigLimit.text).error).toContain('100000');
    const okLimit = await getText(exportUrl(em, { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW), limit: '100000' }), auth);
    expect(okLimit.status).toBe(200);
    const badEvent = await getText(exportUrl(em, { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW), event: 'Purchase' }), auth);
    expect(badEvent.status).toBe(400);
  });

  it('filters by event list, limit, and where on $time / time / mp_processing_time_ms', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, eventsPerDay: 2000, days: 3 });
    const auth = { authorization: secretAuth(em.project) };
    const base = { from_date: isoDate(TEST_NOW - DAY), to_date: isoDate(TEST_NOW), time_in_ms: 'true' };
    const all = lines((await getText(exportUrl(em, base), auth)).text);
    const purchases = lines((await getText(exportUrl(em, { ...base, event: '["Purchase","Search"]' }), auth)).text);
    expect(purchases.length).toBe(all.filter((l) => l['event'] === 'Purchase' || l['event'] === 'Search').length);
    expect(purchases.length).toBeGreaterThan(0);
    const limited = lines((await getText(exportUrl(em, { ...base, limit: '7' }), auth)).text);
    expect(limited).toEqual(all.slice(0, 7));

    const lo = TEST_NOW - 6 * 3_600_000;
    const hi = TEST_NOW - 3 * 3_600_000;
    const expected = all.filter((l) => (props(l)['time'] as number) >= lo && (props(l)['time'] as number) < hi);
    const byTime = lines(
      (await getText(exportUrl(em, { ...base, where: `properties["$time"] >= datetime(${lo / 1000}) and properties["$time"] < datetime(${hi / 1000})` }), auth)).text,
    );
    expect(byTime).toEqual(expected);
    expect(byTime.length).toBeGreaterThan(100);
    const byTimeString = lines(
      (await getText(exportUrl(em, { ...base, where: `(properties["time"] >= datetime("${new Date(lo).toISOString().slice(0, 19)}")) and (properties["time"] < datetime("${new Date(hi).toISOString().slice(0, 19)}"))` }), auth)).text,
    );
    expect(byTimeString).toEqual(expected);
    const byProc = lines((await getText(exportUrl(em, { ...base, where: `properties["mp_processing_time_ms"] > ${hi} or properties["mp_processing_time_ms"] <= ${lo}` }), auth)).text);
    expect(byProc).toEqual(all.filter((l) => (props(l)['mp_processing_time_ms'] as number) > hi || (props(l)['mp_processing_time_ms'] as number) <= lo));
    const byCustom = lines((await getText(exportUrl(em, { ...base, where: 'properties["plan"] == "free" and defined(properties["$browser"])' }), auth)).text);
    expect(byCustom).toEqual(all.filter((l) => props(l)['plan'] === 'free'));
  });

  it('exports seconds by default and milliseconds with time_in_ms=true', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW });
    em.data.importEvents([{ event: 'E', properties: { time: TEST_NOW - 1234, distinct_id: 'd', $insert_id: 'i1' } }], { processingTimeMs: TEST_NOW - 1000 });
    const q = { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW) };
    const s = lines((await getText(exportUrl(em, q), { authorization: secretAuth(em.project) })).text);
    const ms = lines((await getText(exportUrl(em, { ...q, time_in_ms: 'true' }), { authorization: secretAuth(em.project) })).text);
    expect(props(s[0] as Record<string, unknown>)['time']).toBe(Math.floor((TEST_NOW - 1234) / 1000));
    expect(props(ms[0] as Record<string, unknown>)['time']).toBe(TEST_NOW - 1234);
  });
});

describe('export: visibility, gzip and streaming', () => {
  it('shows an event only once the clock passes its mp_processing_time_ms; generated data keeps arriving', async () => {
    const clock = manualClock(TEST_NOW);
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: clock.now, eventsPerDay: 5000, days: 2 });
    em.data.importEvents([{ event: 'Late', properties: { time: TEST_NOW - 3 * DAY + 5, distinct_id: 'x', $insert_id: 'late-1' } }], { processingTimeMs: TEST_NOW + 60_000 });
    const q = { fromDate: isoDate(TEST_NOW - 3 * DAY), toDate: isoDate(TEST_NOW) };
    const before = em.data.exportEvents(q);
    expect(before.some((e) => e.event === 'Late')).toBe(false);
    for (const e of before) expect(e.properties['mp_processing_time_ms'] as number).toBeLessThanOrEqual(TEST_NOW);
    clock.advance(120_000);
    const after = em.data.exportEvents(q);
    expect(after.some((e) => e.event === 'Late')).toBe(true);
    expect(after.length).toBeGreaterThan(before.length + 1);
    const ids = new Set(after.map((e) => e.properties['$insert_id']));
    for (const e of before) expect(ids.has(e.properties['$insert_id'])).toBe(true);
  });

  it('gzips only when asked and the body exceeds 1400 bytes', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, eventsPerDay: 1000, days: 1 });
    const auth = secretAuth(em.project);
    const q = { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW) };
    const big = await rawRequest(exportUrl(em, q), { headers: { authorization: auth, 'accept-encoding': 'gzip' } });
    expect(big.headers['content-encoding']).toBe('gzip');
    const plain = await rawRequest(exportUrl(em, q), { headers: { authorization: auth } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(big.body).toString('utf8')).toBe(plain.body.toString('utf8'));
    const small = await rawRequest(exportUrl(em, { ...q, limit: '1' }), { headers: { authorization: auth, 'accept-encoding': 'gzip' } });
    expect(small.body.length).toBeLessThanOrEqual(1400);
    expect(small.headers['content-encoding']).toBeUndefined();
    const empty = await rawRequest(exportUrl(em, { ...q, event: '["Nothing"]' }), { headers: { authorization: auth, 'accept-encoding': 'gzip' } });
    expect(empty.status).toBe(200);
    expect(empty.body.length).toBe(0);
  });

  it('serves ingested lines larger than a chunk after small ones, plain and gzip', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW });
    em.data.importEvents(
      [
        { event: 'Small', properties: { time: TEST_NOW - 2000, distinct_id: 'a', $insert_id: 'small-1' } },
        { event: 'Huge', properties: { time: TEST_NOW - 1000, distinct_id: 'a', $insert_id: 'huge-1', blob: 'ü'.repeat(300_000) } },
        { event: 'After', properties: { time: TEST_NOW - 500, distinct_id: 'a', $insert_id: 'after-1' } },
      ],
      { processingTimeMs: TEST_NOW - 100 },
    );
    const q = { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW) };
    const plain = await rawRequest(exportUrl(em, q), { headers: { authorization: secretAuth(em.project) } });
    const gz = await rawRequest(exportUrl(em, q), { headers: { authorization: secretAuth(em.project), 'accept-encoding': 'gzip' } });
    expect(plain.error).toBeUndefined();
    expect(gz.headers['content-encoding']).toBe('gzip');
    const text = plain.body.toString('utf8');
    expect(gunzipSync(gz.body).toString('utf8')).toBe(text);
    expect(lines(text).map((l) => l['event'])).toEqual(['Small', 'Huge', 'After']);
    expect((props(lines(text)[1] as Record<string, unknown>)['blob'] as string).length).toBe(300_000);
  });

  it('streams a large export to a slow reader without buffering it (backpressure)', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, eventsPerDay: 40_000, days: 1 });
    const r = await fetch(exportUrl(em, { from_date: isoDate(TEST_NOW), to_date: isoDate(TEST_NOW) }), { headers: { authorization: secretAuth(em.project) } });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let bytes = 0;
    let newlines = 0;
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      for (const b of value) if (b === 10) newlines++;
      if (++reads % 20 === 0) await new Promise((res) => setTimeout(res, 1));
    }
    expect(bytes).toBeGreaterThan(10_000_000);
    expect(newlines).toBe(em.data.exportLines({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) }).length);
  });
});

describe('export: sparse scans', () => {
  it('a where that matches nothing over a large day does not block other requests', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, eventsPerDay: 300_000, days: 2 });
    const order: string[] = [];
    const sparse = getText(exportUrl(em, { from_date: isoDate(TEST_NOW - DAY), to_date: isoDate(TEST_NOW - DAY), where: 'properties["plan"] == "no such plan"' }), {
      authorization: secretAuth(em.project),
    }).then((r) => {
      order.push('export');
      return r;
    });
    while (!em.log.entries.some((e) => e.route === 'export')) await new Promise((r) => setTimeout(r, 5));
    const cohorts = await getText(`${em.url}/api/query/cohorts/list`, { authorization: secretAuth(em.project) });
    order.push('cohorts');
    const done = await sparse;
    expect(cohorts.status).toBe(200);
    expect(done.status).toBe(200);
    expect(done.text).toBe('');
    expect(order).toEqual(['cohorts', 'export']);
  });
});

describe('export: legacy projects', () => {
  it('stores time as project-local wall clock and reads dates in the project zone', async () => {
    // 2024-06-15 01:30 UTC is 2024-06-14 21:30 in New York (UTC-4).
    const instant = Date.UTC(2024, 5, 15, 1, 30, 0);
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, projects: [{ legacyLocalTime: true, timezone: 'America/New_York' }] });
    em.data.importEvents([{ event: 'Legacy', properties: { time: instant, distinct_id: 'l', $insert_id: 'legacy-1' } }], { processingTimeMs: TEST_NOW - 1000 });
    const june14 = em.data.exportEvents({ fromDate: '2024-06-14', toDate: '2024-06-14' });
    const june15 = em.data.exportEvents({ fromDate: '2024-06-15', toDate: '2024-06-15' });
    expect(june14.map((e) => e.event)).toEqual(['Legacy']);
    expect(june15).toEqual([]);
    expect(june14[0]?.properties['time']).toBe(instant - 4 * 3_600_000);
    expect(june14[0]?.properties['mp_processing_time_ms']).toBe(TEST_NOW - 1000);
  });

  it('answers to_date = today (project zone) but refuses tomorrow in that zone', async () => {
    // 02:00 UTC on 2024-06-15 is still 2024-06-14 in Los Angeles.
    const now = Date.UTC(2024, 5, 15, 2, 0, 0);
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => now, projects: [{ legacyLocalTime: true, timezone: 'America/Los_Angeles' }] });
    const auth = { authorization: secretAuth(em.project) };
    const r = await getText(exportUrl(em, { from_date: '2024-06-15', to_date: '2024-06-15' }), auth);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error).toContain('to_date cannot be later than today');
    expect((await getText(exportUrl(em, { from_date: '2024-06-14', to_date: '2024-06-14' }), auth)).status).toBe(200);
  });
});

describe('export: hourly slices', () => {
  it('24 hourly where-slices on $time add up to the whole day', async () => {
    em = await startEmulator({ limits: NO_RATE_LIMITS, now: () => TEST_NOW, eventsPerDay: 4800, days: 2 });
    const day = isoDate(TEST_NOW - DAY);
    const start = Date.parse(`${day}T00:00:00Z`) / 1000;
    const whole = em.data.exportLines({ fromDate: day, toDate: day });
    const slices: string[] = [];
    for (let h = 0; h < 24; h++) {
      const where = `properties["$time"] >= datetime(${start + h * 3600}) and properties["$time"] < datetime(${start + (h + 1) * 3600})`;
      slices.push(...em.data.exportLines({ fromDate: day, toDate: day, where }));
    }
    expect(whole.length).toBeGreaterThan(4000);
    expect(slices).toEqual(whole);
  });
});
