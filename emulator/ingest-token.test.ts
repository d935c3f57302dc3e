/**
 * Tokens on `/track`, `/engage`, `/groups` (issue 19 finding 12), as Mixpanel does: a missing token is a refusal
 * (`0`, verbose `{"status":0,"error":"token, missing or empty"}`); a token of no project here is answered `1` and
 * dropped (Mixpanel matches tokens after the request cycle; its spec: "1 … does not signify a valid project
 * token"), and the emulator counts that drop on the request's log entry so it is never silent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { isoDate, rawRequest } from './test-helpers.js';

let em: Emulator | undefined;
afterEach(async () => {
  await em?.close();
  em = undefined;
});

async function post(e: Emulator, path: string, records: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${e.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) });
  return { status: r.status, text: await r.text() };
}

const today = (): string => isoDate(Date.now());
const insertIds = (e: Emulator): unknown[] => e.data.exportEvents({ fromDate: today(), toDate: today() }).map((ev) => ev.properties['$insert_id']).sort();

describe('ingestion tokens', () => {
  it('/track: the right token is stored; a missing one is refused; an unknown one is answered 1, dropped and counted', async () => {
    expect.hasAssertions();
    em = await startEmulator({ limits: NO_RATE_LIMITS });
    const time = Math.floor(Date.now() / 1000);
    const ev = (id: string, token?: string) => ({ event: 'E', properties: { distinct_id: 'u', $insert_id: id, time, ...(token === undefined ? {} : { token }) } });

    expect(await post(em, '/track?verbose=1', [ev('good', em.project.token)])).toEqual({ status: 200, text: '{"status":1,"error":null}' });
    expect(await post(em, '/track?verbose=1', [ev('none')])).toEqual({ status: 200, text: '{"status":0,"error":"token, missing or empty"}' });
    expect(await post(em, '/track', [ev('empty', '')])).toEqual({ status: 200, text: '0' });
    expect(await post(em, '/track?verbose=1', [ev('wrong', 'not-the-token')])).toEqual({ status: 200, text: '{"status":1,"error":null}' });
    expect(await post(em, '/track', [ev('mixed-good', em.project.token), ev('mixed-wrong', 'other'), ev('mixed-none')])).toEqual({ status: 200, text: '1' });

    expect(insertIds(em)).toEqual(['good', 'mixed-good']);
    expect(em.log.forRoute('track').map((e) => e.droppedForToken ?? 0)).toEqual([0, 0, 0, 1, 1]);
  });

  it('/engage and /groups: a missing $token is refused with the reason; an unknown one is dropped and counted', async () => {
    expect.hasAssertions();
    em = await startEmulator({ limits: NO_RATE_LIMITS });
    const token = em.project.token;

    expect(await post(em, '/engage?verbose=1', [{ $distinct_id: 'p-1', $set: { a: 1 } }])).toEqual({ status: 200, text: '{"status":0,"error":"Engage API error: $token, missing or empty"}' });
    expect(await post(em, '/engage?verbose=1', [{ $token: 'other', $distinct_id: 'p-2', $set: { a: 1 } }])).toEqual({ status: 200, text: '{"status":1,"error":null}' });
    expect(await post(em, '/engage?verbose=1', [{ $token: token, $distinct_id: 'p-3', $set: { a: 1 } }])).toEqual({ status: 200, text: '{"status":1,"error":null}' });
    expect(em.data.getProfile('p-1')).toBeUndefined();
    expect(em.data.getProfile('p-2')).toBeUndefined();
    expect(em.data.getProfile('p-3')?.properties).toMatchObject({ a: 1 });
    expect(em.log.forRoute('engage-ingest').map((e) => e.droppedForToken ?? 0)).toEqual([0, 1, 0]);

    expect(await post(em, '/groups?verbose=1', [{ $group_key: 'company', $group_id: 'g-1', $set: { a: 1 } }])).toEqual({ status: 200, text: '{"status":0,"error":"Groups API error: $token, missing or empty"}' });
    expect(await post(em, '/groups', [{ $token: 'other', $group_key: 'company', $group_id: 'g-2', $set: { a: 1 } }, { $token: token, $group_key: 'company', $group_id: 'g-3', $set: { a: 1 } }])).toEqual({ status: 200, text: '1' });
    expect(em.data.listGroupProfiles(em.data.dataGroupIdForKey('company')).map((g) => g.distinctId)).toEqual(['g-3']);
    expect(em.log.forRoute('groups').map((e) => e.droppedForToken ?? 0)).toEqual([0, 1]);
  });

  it('a token of a project in another region is dropped on this region’s host and counted', async () => {
    expect.hasAssertions();
    em = await startEmulator({ limits: NO_RATE_LIMITS, projects: [{}, { region: 'EU' }] });
    const eu = em.projects[1]!;
    // Host routing as Mixpanel's: api.mixpanel.com is the US ingestion host (fetch cannot set Host; node:http can).
    const r = await rawRequest(`${em.url}/track?verbose=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: 'api.mixpanel.com' },
      body: JSON.stringify([{ event: 'E', properties: { token: eu.token, distinct_id: 'u', $insert_id: 'eu-on-us', time: Math.floor(Date.now() / 1000) } }]),
    });
    expect(r.body.toString()).toBe('{"status":1,"error":null}');
    expect(em.log.forRoute('track').at(-1)?.droppedForToken).toBe(1);
  });
});
