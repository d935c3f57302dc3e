import { afterEach, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { TEST_NOW, getText, manualClock, postForm, secretAuth, serviceAccountAuth } from './test-helpers.js';

let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

interface EngagePage {
  page: number;
  page_size: number;
  session_id: string;
  status: string;
  total?: number;
  results: { $distinct_id: string; $properties: Record<string, unknown> }[];
}

async function engage(e: Emulator, params: Record<string, string>, path = '/api/query/engage'): Promise<{ status: number; body: EngagePage & { error?: string; request?: string } }> {
  const r = await postForm(`${e.url}${path}`, params, { authorization: secretAuth(e.project) });
  return { status: r.status, body: JSON.parse(r.text) as EngagePage };
}

describe('engage: paging', () => {
  it('pages 2500 profiles by 1000 with total on page 0, random access within the session, and [] past the end', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 2500, limits: NO_RATE_LIMITS });
    const p0 = await engage(em, {});
    expect(p0.status).toBe(200);
    expect(p0.body.page_size).toBe(1000);
    expect(p0.body.total).toBe(2500);
    expect(p0.body.results).toHaveLength(1000);
    const sid = p0.body.session_id;
    const p2 = await engage(em, { page: '2', session_id: sid });
    const p1 = await engage(em, { page: '1', session_id: sid });
    const p3 = await engage(em, { page: '3', session_id: sid });
    expect(p1.body.results).toHaveLength(1000);
    expect(p2.body.results).toHaveLength(500);
    expect(p3.status).toBe(200);
    expect(p3.body.results).toEqual([]);
    expect(p1.body.total).toBeUndefined();
    const ids = [...p0.body.results, ...p1.body.results, ...p2.body.results].map((r) => r.$distinct_id);
    expect(new Set(ids).size).toBe(2500);
    expect(ids).toEqual(em.data.listProfiles().map((p) => p.distinctId));
    const again = await engage(em, { page: '1', session_id: sid });
    expect(again.body.results).toEqual(p1.body.results);
    const first = p0.body.results[0]?.$properties ?? {};
    for (const k of ['$email', '$first_name', '$last_name', '$name', '$created', '$last_seen', '$city', '$country_code', '$timezone']) expect(first).toHaveProperty(k);
    expect(first['$last_seen']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  });

  it('accepts GET and POST, form, JSON and query parameters, both prefixes, with and without trailing slash', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 30, limits: NO_RATE_LIMITS });
    const auth = { authorization: secretAuth(em.project) };
    const viaGet = await getText(`${em.url}/api/2.0/engage?page_size=10`, auth);
    const viaJson = await fetch(`${em.url}/api/query/engage/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ page_size: 10 }) });
    const viaForm = await engage(em, { page_size: '10' }, '/api/2.0/engage/');
    const viaSa = await postForm(`${em.url}/api/query/engage?project_id=${em.project.id}`, { page_size: '10' }, { authorization: serviceAccountAuth(em.project) });
    const bodies = [JSON.parse(viaGet.text), await viaJson.json(), viaForm.body, JSON.parse(viaSa.text)] as EngagePage[];
    for (const b of bodies) {
      expect(b.results.map((r) => r.$distinct_id)).toEqual(bodies[0]?.results.map((r) => r.$distinct_id));
      expect(b.results).toHaveLength(10);
      expect(b.total).toBe(30);
    }
  });

  it('requires a session for page > 0 and expires sessions after the TTL', async () => {
    const clock = manualClock(TEST_NOW);
    em = await startEmulator({ now: clock.now, profiles: 30, engageSessionTtlMs: 60_000, limits: NO_RATE_LIMITS });
    const noSession = await engage(em, { page: '1' });
    expect(noSession.status).toBe(400);
    expect(noSession.body.request).toContain('/api/query/engage');
    const p0 = await engage(em, { page_size: '10' });
    expect((await engage(em, { page: '1', page_size: '10', session_id: p0.body.session_id })).status).toBe(200);
    clock.advance(61_000);
    const expired = await engage(em, { page: '2', page_size: '10', session_id: p0.body.session_id });
    expect(expired.status).toBe(400);
    expect(expired.body.error).toBe('request for page in uncached query for params');
  });

  it('page_size may lower the page size but not raise it above 1000', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 1200, limits: NO_RATE_LIMITS });
    expect((await engage(em, { page_size: '5000' })).body.results).toHaveLength(1000);
    const small = await engage(em, { page_size: '7' });
    expect(small.body.page_size).toBe(7);
    expect(small.body.results).toHaveLength(7);
  });
});

describe('engage: exact numbers', () => {
  it('writes 19-digit integers unquoted and exact, on a page that also holds plain profiles', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 3, limits: NO_RATE_LIMITS });
    em.data.setProfile('big', { account: 3928097563762691601n, $name: 'Big' });
    const r = await postForm(`${em.url}/api/query/engage`, {}, { authorization: secretAuth(em.project) });
    expect(r.status).toBe(200);
    expect(r.text).toContain('"account":3928097563762691601');
    expect((JSON.parse(r.text) as EngagePage).results).toHaveLength(4);
  });
});

describe('engage: selectors', () => {
  it('where on $last_seen, output_properties, distinct_id(s)', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 200, limits: NO_RATE_LIMITS });
    const all = em.data.listProfiles();
    const cutoff = '2024-06-12T00:00:00';
    const expected = all.filter((p) => (p.properties['$last_seen'] as string) > cutoff).map((p) => p.distinctId);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(200);
    const recent = await engage(em, { where: `properties["$last_seen"] > "${cutoff}"` });
    expect(recent.body.results.map((r) => r.$distinct_id)).toEqual(expected);
    expect(recent.body.total).toBe(expected.length);
    const viaDatetime = await engage(em, { where: `properties["$last_seen"] > datetime("${cutoff}")` });
    expect(viaDatetime.body.results.map((r) => r.$distinct_id)).toEqual(expected);

    const slim = await engage(em, { output_properties: '["$email","plan"]', page_size: '3' });
    for (const r of slim.body.results) expect(Object.keys(r.$properties).sort()).toEqual(['$email', 'plan']);

    const one = await engage(em, { distinct_id: 'user-5' });
    expect(one.body.results.map((r) => r.$distinct_id)).toEqual(['user-5']);
    const some = await engage(em, { distinct_ids: '["user-7","user-3","nobody"]' });
    expect(some.body.results.map((r) => r.$distinct_id)).toEqual(['user-7', 'user-3']);
  });

  it('$last_seen moves forward deterministically as the clock advances', async () => {
    const clock = manualClock(TEST_NOW);
    em = await startEmulator({ now: clock.now, profiles: 50, limits: NO_RATE_LIMITS });
    const before = em.data.listProfiles().map((p) => p.properties['$last_seen'] as string);
    clock.advance(8 * 86_400_000);
    const after = em.data.listProfiles().map((p) => p.properties['$last_seen'] as string);
    let moved = 0;
    before.forEach((b, i) => {
      expect((after[i] as string) >= b).toBe(true);
      if (after[i] !== b) moved++;
    });
    expect(moved).toBe(50);
    const other = await startEmulator({ now: clock.now, profiles: 50, limits: NO_RATE_LIMITS });
    try {
      expect(other.data.listProfiles()).toEqual(em.data.listProfiles());
    } finally {
      await other.close();
    }
  });

  it('filter_by_cohort with include_all_users true (members without profile) and false', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 20, limits: NO_RATE_LIMITS });
    const cohort = em.data.addCohort({ name: 'VIP', members: ['user-1', 'user-2', 'ghost-1'] });
    const all = await engage(em, { filter_by_cohort: JSON.stringify({ id: cohort.id }) });
    expect(all.body.results.map((r) => r.$distinct_id)).toEqual(['user-1', 'user-2', 'ghost-1']);
    expect(all.body.results[2]?.$properties).toEqual({});
    const withProfile = await engage(em, { filter_by_cohort: JSON.stringify({ id: cohort.id }), include_all_users: 'false' });
    expect(withProfile.body.results.map((r) => r.$distinct_id)).toEqual(['user-1', 'user-2']);
    em.data.setCohortMembers(cohort.id, ['user-3']);
    const changed = await engage(em, { filter_by_cohort: JSON.stringify({ id: cohort.id }) });
    expect(changed.body.results.map((r) => r.$distinct_id)).toEqual(['user-3']);
  });

  it('data_group_id queries group profiles; a deleted data group answers 404 Missing Datagroup', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    em.data.setGroupProfiles(-1405123841946871899, [
      { distinctId: 'acme', properties: { $name: 'Acme', seats: 10 } },
      { distinctId: 'globex', properties: { $name: 'Globex', seats: 3 } },
    ]);
    const groups = await engage(em, { data_group_id: '-1405123841946871899' });
    expect(groups.body.results).toEqual([
      { $distinct_id: 'acme', $properties: { $name: 'Acme', seats: 10 } },
      { $distinct_id: 'globex', $properties: { $name: 'Globex', seats: 3 } },
    ]);
    const cohort = em.data.addCohort({ name: 'Big companies', dataGroupId: -1405123841946871899, members: ['acme'] });
    const members = await engage(em, { data_group_id: '-1405123841946871899', filter_by_cohort: JSON.stringify({ id: cohort.id }) });
    expect(members.body.results.map((r) => r.$distinct_id)).toEqual(['acme']);
    em.data.deleteCohortDataGroup(cohort.id);
    const gone = await engage(em, { data_group_id: '-1405123841946871899', filter_by_cohort: JSON.stringify({ id: cohort.id }) });
    expect(gone.status).toBe(404);
    expect(gone.body.error).toBe('Missing Datagroup');
  });
});

describe('cohorts list and the tap query endpoints', () => {
  it('lists cohorts as a bare array with counts matching engage membership', async () => {
    em = await startEmulator({ now: () => TEST_NOW, profiles: 300, cohorts: 4, limits: NO_RATE_LIMITS });
    const r = await getText(`${em.url}/api/2.0/cohorts/list`, { authorization: secretAuth(em.project) });
    const list = JSON.parse(r.text) as { id: number; count: number; is_visible: number; created: string; project_id: number; data_group_id: number | null }[];
    expect(list).toHaveLength(4);
    for (const c of list) {
      expect([0, 1]).toContain(c.is_visible);
      expect(c.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(c.project_id).toBe(1000);
      const members = await engage(em as Emulator, { filter_by_cohort: JSON.stringify({ id: c.id }) });
      expect(members.body.total).toBe(c.count);
    }
    const post = await postForm(`${em.url}/api/query/cohorts/list`, {}, { authorization: secretAuth(em.project) });
    expect(JSON.parse(post.text)).toEqual(list);
  });

  it('serves funnels/list, funnels, annotations and engage/revenue on both prefixes', async () => {
    em = await startEmulator({ now: () => TEST_NOW, limits: NO_RATE_LIMITS });
    const auth = { authorization: secretAuth(em.project) };
    const list = JSON.parse((await getText(`${em.url}/api/query/funnels/list`, auth)).text) as { funnel_id: number; name: string }[];
    expect(list.length).toBeGreaterThan(0);
    const id = String(list[0]?.funnel_id);
    const funnel = JSON.parse((await getText(`${em.url}/api/2.0/funnels?funnel_id=${id}&from_date=2024-06-10&to_date=2024-06-12`, auth)).text) as { meta: { dates: string[] }; data: Record<string, unknown> };
    expect(funnel.meta.dates).toEqual(['2024-06-10', '2024-06-11', '2024-06-12']);
    expect(Object.keys(funnel.data)).toEqual(funnel.meta.dates);
    const ann = await getText(`${em.url}/api/2.0/annotations?from_date=2024-01-01&to_date=2024-06-01`, auth);
    expect(ann.status).toBe(200);
    expect(Array.isArray((JSON.parse(ann.text) as { annotations: unknown[] }).annotations)).toBe(true);
    const rev = JSON.parse((await getText(`${em.url}/api/query/engage/revenue?from_date=2024-06-01&to_date=2024-06-03`, auth)).text) as { results: Record<string, unknown> };
    expect(Object.keys(rev.results).sort()).toEqual(['$overall', '2024-06-01', '2024-06-02', '2024-06-03']);
    const future = await getText(`${em.url}/api/2.0/funnels?funnel_id=${id}&from_date=2024-06-10&to_date=2024-07-12`, auth);
    expect(future.status).toBe(400);
  });
});
