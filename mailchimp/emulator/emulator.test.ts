/**
 * The Mailchimp emulator driven by the official `@mailchimp/mailchimp_marketing` client: the semantics the sync
 * relies on (and the consent trap it avoids) hold for an independent client, not just for ours.
 */
import mailchimp from '@mailchimp/mailchimp_marketing';
import { afterEach, describe, expect, it } from 'vitest';
import { startMailchimpEmulator, type MailchimpEmulator } from './index.js';
import { hashOf } from './store.js';

let mc: MailchimpEmulator | undefined;
afterEach(async () => {
  await mc?.close();
  mc = undefined;
});

async function start(options: Parameters<typeof startMailchimpEmulator>[0] = {}): Promise<MailchimpEmulator> {
  mc = await startMailchimpEmulator(options);
  mailchimp.setConfig({ apiKey: mc.apiKey, server: 'us1' });
  mailchimp.basePath = `${mc.url}/3.0`;
  return mc;
}

/** The HTTP status of a rejected official-client call (superagent error). */
async function statusOf(call: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    await call;
  } catch (error) {
    const e = error as { status?: number; response?: { body?: unknown } };
    return { status: e.status ?? -1, body: e.response?.body };
  }
  return { status: 200, body: undefined };
}

describe('Mailchimp emulator (official client)', () => {
  it('checks Basic auth: the right key passes, a wrong one is 401', async () => {
    expect.hasAssertions();
    const emu = await start();
    expect(await mailchimp.ping.get()).toEqual({ health_status: "Everything's Chimpy!" });
    mailchimp.setConfig({ apiKey: 'not-the-key', server: 'us1' });
    const denied = await statusOf(mailchimp.lists.getListMembersInfo('list1'));
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ title: 'API Key Invalid', status: 401 });
    expect(emu.log.map((c) => c.status)).toEqual([200, 401]);
  });

  it('batch: status is required per member, 500 is the limit, update_existing:false answers ERROR_CONTACT_EXISTS', async () => {
    expect.hasAssertions();
    const emu = await start();
    emu.list('list1').put('old@x.io', 'unsubscribed', { FNAME: 'Old' });
    const noStatus = await statusOf(mailchimp.lists.batchListMembers('list1', { members: [{ email_address: 'n@x.io' }] }));
    expect(noStatus.status).toBe(400);
    expect(noStatus.body).toMatchObject({ errors: [{ field: 'members.0.status' }] });
    const tooMany = Array.from({ length: 501 }, (_, i) => ({ email_address: `m${i}@x.io`, status: 'pending' }));
    expect((await statusOf(mailchimp.lists.batchListMembers('list1', { members: tooMany }))).status).toBe(400);
    const reply = (await mailchimp.lists.batchListMembers('list1', {
      update_existing: false,
      members: [
        { email_address: 'old@x.io', status: 'subscribed', merge_fields: { FNAME: 'New' } },
        { email_address: 'fresh@x.io', status: 'pending', merge_fields: { FNAME: 'Fresh' } },
        { email_address: 'broken@', status: 'pending' },
      ],
    })) as { total_created: number; error_count: number; errors: { email_address: string; error_code: string }[] };
    expect(reply.total_created).toBe(1);
    expect(reply.errors.map((e) => [e.email_address, e.error_code])).toEqual([
      ['old@x.io', 'ERROR_CONTACT_EXISTS'],
      ['broken@', 'ERROR_GENERIC'],
    ]);
    expect(emu.list('list1').members.get(hashOf('old@x.io'))).toMatchObject({ status: 'unsubscribed', mergeFields: { FNAME: 'Old' } });
    expect(emu.list('list1').members.get(hashOf('fresh@x.io'))).toMatchObject({ status: 'pending' });
    expect(emu.statusChanges).toEqual([]);
  });

  it('the consent trap is real: update_existing:true sets an unsubscribed member to the batch status', async () => {
    expect.hasAssertions();
    const emu = await start();
    emu.list('list1').put('gone@x.io', 'unsubscribed');
    const reply = (await mailchimp.lists.batchListMembers('list1', { update_existing: true, members: [{ email_address: 'gone@x.io', status: 'subscribed' }] })) as {
      total_updated: number;
    };
    expect(reply.total_updated).toBe(1);
    expect(emu.statusChanges).toEqual([{ listId: 'list1', email: 'gone@x.io', from: 'unsubscribed', to: 'subscribed', via: 'batch' }]);
  });

  it('PUT upserts: status_if_new only for new (or archived) contacts, status is applied when sent, forgotten contacts are refused', async () => {
    expect.hasAssertions();
    const emu = await start();
    const list = emu.list('list1');
    list.put('unsub@x.io', 'unsubscribed');
    list.put('arch@x.io', 'archived');
    list.put('forgot@x.io', 'subscribed');
    list.forget('forgot@x.io');
    const put = (email: string, body: Record<string, unknown>) => mailchimp.lists.setListMember('list1', hashOf(email), { email_address: email, ...body });
    expect(await put('new@x.io', { status_if_new: 'pending', merge_fields: { FNAME: 'N' } })).toMatchObject({ status: 'pending', merge_fields: { FNAME: 'N', LNAME: '' } });
    expect(await put('unsub@x.io', { status_if_new: 'subscribed', merge_fields: { LNAME: 'U' } })).toMatchObject({ status: 'unsubscribed', merge_fields: { LNAME: 'U' } });
    expect(emu.statusChanges).toEqual([]);
    // Archived contacts are re-added by a PUT (why the sync never sends one for them).
    expect(await put('arch@x.io', { status_if_new: 'pending' })).toMatchObject({ status: 'pending' });
    expect(await put('unsub@x.io', { status: 'subscribed' })).toMatchObject({ status: 'subscribed' });
    expect(emu.statusChanges.map((c) => [c.email, c.from, c.to])).toEqual([
      ['arch@x.io', 'archived', 'pending'],
      ['unsub@x.io', 'unsubscribed', 'subscribed'],
    ]);
    const forgotten = await statusOf(put('forgot@x.io', { status_if_new: 'pending' }));
    expect(forgotten).toMatchObject({ status: 400, body: { title: 'Forgotten Email Not Subscribed' } });
    const wrongHash = await statusOf(mailchimp.lists.setListMember('list1', hashOf('a@x.io'), { email_address: 'b@x.io', status_if_new: 'pending' }));
    expect(wrongHash.status).toBe(400);
    expect((await statusOf(mailchimp.lists.setListMember('list1', hashOf('c@x.io'), { email_address: 'c@x.io' }))).status).toBe(400);
  });

  it('GET members pages with count/offset (≤ 1000), leaves archived members out unless asked for', async () => {
    expect.hasAssertions();
    const emu = await start();
    for (let i = 0; i < 25; i++) emu.list('list1').put(`m${i}@x.io`, i % 5 === 0 ? 'archived' : 'subscribed');
    const seen: string[] = [];
    for (let offset = 0; ; offset += 7) {
      const page = (await mailchimp.lists.getListMembersInfo('list1', { count: 7, offset })) as { members: { email_address: string }[]; total_items: number };
      expect(page.total_items).toBe(20);
      seen.push(...page.members.map((m) => m.email_address));
      if (page.members.length < 7) break;
    }
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    const archived = (await mailchimp.lists.getListMembersInfo('list1', { status: 'archived', count: 1000 })) as { members: { email_address: string }[] };
    expect(archived.members.map((m) => m.email_address)).toEqual(['m0@x.io', 'm5@x.io', 'm10@x.io', 'm15@x.io', 'm20@x.io']);
    expect((await statusOf(mailchimp.lists.getListMembersInfo('list1', { count: 1001 }))).status).toBe(400);
    expect((await statusOf(mailchimp.lists.getListMembersInfo('missing'))).status).toBe(404);
  });

  it('faults on demand: 429 with Retry-After on the n-th call of a kind; a per-member rejection', async () => {
    expect.hasAssertions();
    const emu = await start();
    emu.fail({ kind: 'batch', nth: 2, status: 429, retryAfterSeconds: 3 });
    emu.reject('no@x.io', 'no@x.io has signed up to a lot of lists very recently');
    const body = { members: [{ email_address: 'a@x.io', status: 'pending' }] };
    await mailchimp.lists.batchListMembers('list1', body);
    const limited = await statusOf(mailchimp.lists.batchListMembers('list1', body));
    expect(limited).toMatchObject({ status: 429, body: { title: 'Too Many Requests' } });
    const res = await fetch(`${emu.url}/3.0/lists/list1`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`x:${emu.apiKey}`).toString('base64')}` }, body: JSON.stringify({ members: [{ email_address: 'no@x.io', status: 'pending' }] }) });
    expect(await res.json()).toMatchObject({ error_count: 1, errors: [{ email_address: 'no@x.io', error: 'no@x.io has signed up to a lot of lists very recently' }] });
    expect((await statusOf(mailchimp.lists.setListMember('list1', hashOf('no@x.io'), { email_address: 'no@x.io', status_if_new: 'pending' }))).status).toBe(400);
  });

  it('answers 429 beyond 10 requests in flight, as Mailchimp limits simultaneous connections', async () => {
    expect.hasAssertions();
    const emu = await start({ latencyMs: 300 });
    const statuses = await Promise.all(Array.from({ length: 14 }, () => statusOf(mailchimp.lists.getListMembersInfo('list1'))));
    expect(statuses.filter((s) => s.status === 429).length).toBeGreaterThan(0);
    expect(emu.maxInFlight()).toBeGreaterThan(10);
  });
});
