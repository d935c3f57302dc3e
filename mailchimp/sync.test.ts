import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mailchimp from '@mailchimp/mailchimp_marketing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMailchimpEmulator, type MailchimpEmulator } from './emulator/index.js';
import { hashOf } from './emulator/store.js';
import { duck, engageLake, expectedMembers, acceptanceProfiles, logActions, scan, sync, tableProperties, writesSince, type Lake } from './testing.js';

let lake: Lake;
let mc: MailchimpEmulator | undefined;

beforeAll(async () => {
  lake = await engageLake(acceptanceProfiles());
  const report = await lake.ingest();
  expect(report.tables.map((t) => [t.table, t.status])).toEqual([['engage', 'ok']]);
});
afterAll(async () => {
  await lake.close();
});
afterEach(async () => {
  await mc?.close();
  mc = undefined;
});

/** The audience as the official client sees it (independent of our client): email → [status, FNAME, LNAME]. */
async function audienceViaOfficialClient(emulator: MailchimpEmulator, status?: string): Promise<Map<string, [string, string, string]>> {
  mailchimp.setConfig({ apiKey: emulator.apiKey, server: 'us1' });
  mailchimp.basePath = `${emulator.url}/3.0`;
  const out = new Map<string, [string, string, string]>();
  for (let offset = 0; ; offset += 1000) {
    const page = (await mailchimp.lists.getListMembersInfo('list1', { count: 1000, offset, ...(status ? { status } : {}) })) as {
      members: { email_address: string; status: string; merge_fields: { FNAME: string; LNAME: string } }[];
    };
    for (const m of page.members) out.set(m.email_address, [m.status, m.merge_fields.FNAME, m.merge_fields.LNAME]);
    if (page.members.length < 1000) return out;
  }
}

function cleanAudience(status = 'pending'): Map<string, [string, string, string]> {
  return new Map([...expectedMembers()].map(([email, [f, l]]) => [email, [status, f, l]]));
}

describe('mailchimp-sync acceptance (Mixpanel emulator → runner → engage → sync → Mailchimp emulator)', () => {
  it('first run creates exactly the distinct valid lower-case emails in ⌈new/500⌉ batches; no-change run writes nothing; one changed $name is one PUT', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse, state } = await lake.copy();
    const first = await sync(mc, { lakehouse });
    expect(first.stderr).toContain('a@x.io'); // the collision is reported
    expect(first.code).toBe(0);
    const batches = mc.log.filter((c) => c.kind === 'batch');
    expect(batches.map((b) => [b.status, b.members, b.updateExisting])).toEqual([
      [200, 500, false],
      [200, 500, false],
      [200, 500, false],
      [200, 500, false],
      [200, 500, false],
    ]);
    expect(mc.log.filter((c) => c.kind === 'put')).toEqual([]);
    expect(await audienceViaOfficialClient(mc)).toEqual(cleanAudience());
    expect(first.result?.collisions).toEqual([{ email: 'a@x.io', kept: 'p-lower', dropped: ['p-upper'] }]);
    // The state table: one row per contact, subscriber_hash = md5(lower(email)) computed by DuckDB.
    const [st] = await duck(
      `SELECT count(*)::INT n, count(DISTINCT email)::INT k, sum(CASE WHEN subscriber_hash = md5(lower(email)) THEN 1 ELSE 0 END)::INT ok FROM ${await scan(lakehouse, 'mailchimp_sync_state')}`,
    );
    expect(st).toEqual({ n: 2500, k: 2500, ok: 2500 });
    // A Delta table the sync owns; every commit carries the audience's txn, one version higher each time.
    expect(await tableProperties(lakehouse, 'mailchimp_sync_state')).toEqual({ 'mixpanelLakeflow.writer': 'mailchimp-sync', 'mixpanelLakeflow.syncTable': 'state' });
    const txns = await logActions(lakehouse, 'mailchimp_sync_state', 'txn');
    expect(txns.map((t) => [t['appId'], t['version']])).toEqual([0, 1, 2, 3, 4, 5].map((v) => ['mailchimp-sync/list1/mailchimp_sync_state', v]));
    expect((await logActions(lakehouse, 'mailchimp_sync_state', 'commitInfo')).map((c) => c['operation'])).toEqual(['WRITE', 'WRITE', 'WRITE', 'WRITE', 'WRITE', 'REPLACE']);

    // Second run, nothing changed: no member write at all.
    let mark = mc.log.length;
    const second = await sync(mc, { lakehouse });
    expect(second.code).toBe(0);
    expect(writesSince(mc, mark)).toEqual({ batch: 0, put: 0 });

    // One $name changes in Mixpanel → the runner picks it up → dry run plans 1 update, the sync sends exactly 1 PUT.
    lake.clock += 60 * 60_000;
    lake.mixpanel.data.setProfile('u7', { $email: 'user7@example.com', $name: 'Renamed Seven' });
    try {
      expect((await lake.ingest({ lakehouse, state })).tables[0]!.status).toBe('ok');
    } finally {
      lake.mixpanel.data.setProfile('u7', { $email: 'user7@example.com', $name: 'First7 Last7' });
    }
    mark = mc.log.length;
    const dry = await sync(mc, { lakehouse, dryRun: true });
    expect(dry.code).toBe(0);
    expect(writesSince(mc, mark)).toEqual({ batch: 0, put: 0 });
    const plan = await duck(`SELECT action, count(*)::INT n FROM ${await scan(lakehouse, 'mailchimp_sync_plan')} GROUP BY action ORDER BY action`);
    expect(plan).toEqual([
      { action: 'skip', n: 2499 },
      { action: 'update', n: 1 },
    ]);
    const third = await sync(mc, { lakehouse });
    expect(third.code).toBe(0);
    const puts = mc.log.slice(mark).filter((c) => c.kind === 'put');
    expect(puts.map((p) => [p.path, p.sentStatus, p.status])).toEqual([[`/3.0/lists/list1/members/${hashOf('user7@example.com')}`, false, 200]]);
    expect(writesSince(mc, mark).batch).toBe(0);
    const audience = await audienceViaOfficialClient(mc);
    expect(audience.get('user7@example.com')).toEqual(['pending', 'Renamed', 'Seven']);
    expect(mc.statusChanges).toEqual([]);
  });

  it('never changes an existing member: unsubscribed stays unsubscribed, archived is not re-added, ≤ 10 PUTs in flight', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator({ latencyMs: 3 });
    const list = mc.list('list1');
    list.put('user10@example.com', 'unsubscribed', { FNAME: 'Old', LNAME: 'Name' });
    list.put('user11@example.com', 'archived', { FNAME: 'First11', LNAME: 'Old' });
    list.put('USER12@example.com', 'subscribed', { FNAME: 'First12', LNAME: 'Last12' });
    list.put('outsider@y.io', 'subscribed', { FNAME: 'Out', LNAME: 'Sider' });
    for (let i = 100; i < 140; i++) list.put(`user${i}@example.com`, 'cleaned', { FNAME: 'Stale', LNAME: '' });
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse, statusIfNew: 'subscribed' });
    expect(run.code).toBe(0);
    expect(mc.statusChanges).toEqual([]);
    const all = new Map([...(await audienceViaOfficialClient(mc)), ...(await audienceViaOfficialClient(mc, 'archived'))]);
    expect(all.get('user10@example.com')).toEqual(['unsubscribed', 'First10', 'Last10']);
    expect(all.get('user11@example.com')).toEqual(['archived', 'First11', 'Old']);
    expect(all.get('USER12@example.com')).toEqual(['subscribed', 'First12', 'Last12']);
    expect(all.get('outsider@y.io')).toEqual(['subscribed', 'Out', 'Sider']);
    expect(all.get('user100@example.com')).toEqual(['cleaned', 'First100', 'Last100']);
    expect(all.get('user0@example.com')).toEqual(['subscribed', 'First0', 'Last0']);
    // 2,500 contacts − 43 already there = 2,457 new → 5 batches; 41 PUTs (user10 + 40 cleaned); user12 unchanged.
    expect(mc.log.filter((c) => c.kind === 'batch').map((b) => b.members)).toEqual([500, 500, 500, 500, 457]);
    const puts = mc.log.filter((c) => c.kind === 'put');
    expect(puts).toHaveLength(41);
    expect(puts.every((p) => p.sentStatus === false && p.status === 200)).toBe(true);
    expect(mc.maxInFlight()).toBeLessThanOrEqual(10);
    expect(all.size).toBe(2500 + 1);
  });

  it('a contact archived in Mailchimp after it was synced is not re-added when its profile changes later', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse, state } = await lake.copy();
    expect((await sync(mc, { lakehouse })).code).toBe(0);
    mc.list('list1').put('user20@example.com', 'archived');
    mc.list('list1').put('user21@example.com', 'unsubscribed');
    mc.list('list1').put('late@x.io', 'unsubscribed', { FNAME: 'Was', LNAME: 'Here' });
    lake.clock += 60 * 60_000;
    lake.mixpanel.data.setProfile('u-late', { $email: 'Late@x.io', $name: 'Late Comer' });
    lake.mixpanel.data.setProfile('u20', { $email: 'user20@example.com', $name: 'Renamed Twenty' });
    lake.mixpanel.data.setProfile('u21', { $email: 'user21@example.com', $name: 'Renamed TwentyOne' });
    try {
      expect((await lake.ingest({ lakehouse, state })).tables[0]!.status).toBe('ok');
    } finally {
      lake.mixpanel.data.setProfile('u20', { $email: 'user20@example.com', $name: 'First20 Last20' });
      lake.mixpanel.data.setProfile('u21', { $email: 'user21@example.com', $name: 'First21 Last21' });
      lake.mixpanel.data.deleteProfile('u-late');
    }
    const changesBefore = mc.statusChanges.length;
    const mark = mc.log.length;
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(0);
    // late@x.io is new to the sync but already unsubscribed in Mailchimp: the batch says it exists, a PUT sends its names.
    expect(mc.log.slice(mark).filter((c) => c.kind === 'batch').map((c) => [c.members, c.updateExisting])).toEqual([[1, false]]);
    expect(mc.log.slice(mark).filter((c) => c.kind === 'put').map((c) => c.path).sort()).toEqual(
      [`/3.0/lists/list1/members/${hashOf('user21@example.com')}`, `/3.0/lists/list1/members/${hashOf('late@x.io')}`].sort(),
    );
    expect(mc.list('list1').members.get(hashOf('late@x.io'))).toMatchObject({ status: 'unsubscribed', mergeFields: { FNAME: 'Late', LNAME: 'Comer' } });
    expect(run.stdout).toContain('1 were already in Mailchimp');
    expect(mc.statusChanges.slice(changesBefore)).toEqual([]);
    expect(mc.list('list1').members.get(hashOf('user20@example.com'))).toMatchObject({ status: 'archived', mergeFields: { FNAME: 'First20' } });
    expect(mc.list('list1').members.get(hashOf('user21@example.com'))).toMatchObject({ status: 'unsubscribed', mergeFields: { FNAME: 'Renamed' } });
    const [st] = await duck(`SELECT mailchimp_status s FROM ${await scan(lakehouse, 'mailchimp_sync_state')} WHERE email = 'user20@example.com'`);
    expect(st).toEqual({ s: 'archived' });
  });

  it('a 429 on batch 2 is retried (Retry-After honoured) and the audience equals a clean run', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    mc.fail({ kind: 'batch', nth: 2, status: 429, retryAfterSeconds: 1 });
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/HTTP 429\); retry 1 in 1000 ms/);
    expect(mc.log.filter((c) => c.kind === 'batch').map((b) => b.status)).toEqual([200, 429, 200, 200, 200, 200]);
    expect(await audienceViaOfficialClient(mc)).toEqual(cleanAudience());
  });

  it('state is committed after each reply: a run that dies on batch 3 resumes with the 3 remaining batches', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    mc.fail({ kind: 'batch', nth: 3, status: 503 });
    mc.fail({ kind: 'batch', nth: 4, status: 503 });
    const { lakehouse } = await lake.copy();
    const failed = await sync(mc, { lakehouse, retry: { attempts: 2, baseMs: 1, capMs: 1 } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('MAILCHIMP_HTTP_UNAVAILABLE');
    const [st] = await duck(`SELECT count(*)::INT n FROM ${await scan(lakehouse, 'mailchimp_sync_state')}`);
    expect(st).toEqual({ n: 1000 });
    const mark = mc.log.length;
    const resumed = await sync(mc, { lakehouse });
    expect(resumed.code).toBe(0);
    expect(mc.log.slice(mark).filter((c) => c.kind === 'batch').map((b) => b.members)).toEqual([500, 500, 500]);
    expect(writesSince(mc, mark).put).toBe(0);
    expect(await audienceViaOfficialClient(mc)).toEqual(cleanAudience());
  });

  it('a per-member 400 lands in mailchimp_sync_errors and the run exits 0 with a warning count', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    mc.reject('user30@example.com', 'user30@example.com looks fake or invalid, please enter a real email address.');
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('rejected 1 member');
    const errors = await duck(`SELECT email, operation, error_code, error, distinct_id FROM ${await scan(lakehouse, 'mailchimp_sync_errors')}`);
    expect(errors).toEqual([
      { email: 'user30@example.com', operation: 'create', error_code: 'ERROR_GENERIC', error: 'user30@example.com looks fake or invalid, please enter a real email address.', distinct_id: 'u30' },
    ]);
    const audience = await audienceViaOfficialClient(mc);
    expect(audience.size).toBe(2499);
    expect(audience.has('user30@example.com')).toBe(false);
  });

  it('PUT: a 500 is retried, a per-member 400 is recorded as an update error', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    mc.list('list1').put('user40@example.com', 'subscribed', { FNAME: 'Old', LNAME: 'Forty' });
    mc.list('list1').put('user41@example.com', 'subscribed', { FNAME: 'Old', LNAME: 'FortyOne' });
    mc.fail({ kind: 'put', nth: 1, status: 500 });
    mc.reject('user41@example.com', 'user41@example.com is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.');
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(0);
    expect(mc.list('list1').members.get(hashOf('user40@example.com'))).toMatchObject({ status: 'subscribed', mergeFields: { FNAME: 'First40', LNAME: 'Last40' } });
    const errors = await duck(`SELECT email, operation, error_code FROM ${await scan(lakehouse, 'mailchimp_sync_errors')}`);
    expect(errors).toEqual([{ email: 'user41@example.com', operation: 'update', error_code: 'Invalid Resource' }]);
    const puts = mc.log.filter((c) => c.kind === 'put').map((c) => c.status).sort();
    expect(puts).toEqual([200, 400, 500]);
  });

  it('--dry-run on a first run reads Mailchimp but writes nothing to it, and writes the plan', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    mc.list('list1').put('user5@example.com', 'subscribed', { FNAME: 'First5', LNAME: 'Last5' });
    mc.list('list1').put('user6@example.com', 'archived', { FNAME: 'First6', LNAME: 'Last6' });
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse, dryRun: true });
    expect(run.code).toBe(0);
    expect(mc.log.filter((c) => c.method !== 'GET')).toEqual([]);
    const plan = await duck(`SELECT email, action, reason, fname, lname FROM ${await scan(lakehouse, 'mailchimp_sync_plan')} WHERE action <> 'create' OR email IN ('a@x.io', 'cher@x.io') ORDER BY email`);
    expect(plan).toEqual([
      { email: 'a@x.io', action: 'create', reason: 'new contact', fname: 'Alpha', lname: 'New Person' },
      { email: 'cher@x.io', action: 'create', reason: 'new contact', fname: 'Cher', lname: '' },
      { email: 'user5@example.com', action: 'skip', reason: 'unchanged', fname: 'First5', lname: 'Last5' },
      { email: 'user6@example.com', action: 'skip', reason: 'archived in Mailchimp: never re-added', fname: 'First6', lname: 'Last6' },
    ]);
    const [n] = await duck(`SELECT count(*)::INT n FROM ${await scan(lakehouse, 'mailchimp_sync_plan')}`);
    expect(n).toEqual({ n: 2500 });
    expect(existsSync(`${lakehouse}/mailchimp_sync_state`)).toBe(false);
    expect(await tableProperties(lakehouse, 'mailchimp_sync_plan')).toEqual({ 'mixpanelLakeflow.writer': 'mailchimp-sync', 'mixpanelLakeflow.syncTable': 'plan' });
  });

  it('reads the engage files the Delta log lists: a stray file and a file a later merge replaced (still on disk) are not read', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse, state } = await lake.copy();
    const engageDir = path.join(lakehouse, 'engage');
    const before = (await readdir(engageDir)).filter((f) => f.endsWith('.parquet'));
    // A changed profile makes the runner rewrite the file that holds it: the old file stays until vacuum.
    lake.clock += 60 * 60_000;
    lake.mixpanel.data.setProfile('u9', { $email: 'user9@example.com', $name: 'Nine Renamed' });
    try {
      expect((await lake.ingest({ lakehouse, state })).tables[0]!.status).toBe('ok');
    } finally {
      lake.mixpanel.data.setProfile('u9', { $email: 'user9@example.com', $name: 'First9 Last9' });
    }
    const after = (await readdir(engageDir)).filter((f) => f.endsWith('.parquet'));
    expect(after.filter((f) => !before.includes(f)).length).toBeGreaterThan(0);
    expect(after.filter((f) => before.includes(f)).length).toBeGreaterThan(0); // replaced files still on disk
    await writeFile(path.join(engageDir, 'part-99999-stray.parquet'), 'not parquet: a half-written file');
    const run = await sync(mc, { lakehouse, dryRun: true });
    expect(run.stderr).toBe('warning: 2 profiles share a@x.io: kept p-lower (latest last_seen, then smallest distinct_id), ignored p-upper\nwarning: invalid emails not synced: not-an-email\n');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2503 profiles');
    expect(run.result?.planned).toEqual({ create: 2500, update: 0, skip: 0 });
    const plan = await duck(`SELECT fname, lname FROM ${await scan(lakehouse, 'mailchimp_sync_plan')} WHERE email = 'user9@example.com'`);
    expect(plan).toEqual([{ fname: 'Nine', lname: 'Renamed' }]);
  });

  it('--where filters engage rows with the SQL subset', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse, where: "email LIKE '%@x.io%' AND name IS NOT NULL" });
    expect(run.code).toBe(0);
    expect([...(await audienceViaOfficialClient(mc)).keys()].sort()).toEqual(['a@x.io', 'cher@x.io', 'empty@x.io']);
  });

  it('configuration problems exit 2 with a message naming the fix; the key is never printed', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse } = await lake.copy();
    const noKey = await sync(mc, { lakehouse, env: { MAILCHIMP_BASE_URL: mc.url } });
    expect([noKey.code, noKey.stderr]).toEqual([2, expect.stringContaining('MAILCHIMP_API_KEY is not set')]);
    const badKey = await sync(mc, { lakehouse, env: { MAILCHIMP_API_KEY: 'wrong-secret-key-us1', MAILCHIMP_BASE_URL: mc.url } });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('check MAILCHIMP_API_KEY');
    expect(badKey.stderr + badKey.stdout).not.toContain('wrong-secret-key');
    const badList = await sync(mc, { lakehouse, list: 'nope' });
    expect([badList.code, badList.stderr]).toEqual([2, expect.stringContaining('check --list')]);
    const noLake = await sync(mc, { lakehouse: `${lakehouse}-missing` });
    expect([noLake.code, noLake.stderr]).toEqual([2, expect.stringContaining('error [MAILCHIMP_NO_ENGAGE]: --lakehouse')]);
    expect(noLake.stderr).toContain('there is no engage table');
    const badWhere = await sync(mc, { lakehouse, where: 'plan = ' });
    expect([badWhere.code, badWhere.stderr]).toEqual([2, expect.stringContaining('unknown column "plan"')]);
    expect(mc.log.filter((c) => c.method !== 'GET')).toEqual([]);
  });
});
