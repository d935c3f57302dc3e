import { afterEach, describe, expect, it } from 'vitest';
import { emptyReadStats, NotEntitledError, cursorsEqual, type Cursor } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../emulator/index.js';
import type { MixpanelClient } from '../client-types.js';
import { driveToConvergence, readOnce, testContext } from '../profiles/testing-driver.js';
import { serviceAccountConfig, testClient } from '../profiles/testing-setup.js';
import { engage } from './engage.js';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const HOUR = 3_600_000;

let emulator: Emulator | undefined;
let client: MixpanelClient | undefined;
let clock = T0;

async function setup(options: EmulatorOptions = {}): Promise<{ emu: Emulator; ctx: (runStartMs: number) => ReturnType<typeof testContext> }> {
  clock = T0;
  emulator = await startEmulator({ now: () => clock, limits: { queryPerHour: Infinity, queryConcurrent: Infinity }, ...options });
  const config = serviceAccountConfig(emulator);
  const c = testClient(config);
  client = c;
  return { emu: emulator, ctx: (runStartMs: number) => testContext('engage', config, c, runStartMs) };
}

afterEach(async () => {
  await client?.close();
  await emulator?.close();
  client = undefined;
  emulator = undefined;
});

function engagePages(emu: Emulator): number[] {
  return emu.log.forRoute('engage').map((e) => Number(e.params.page ?? '0'));
}

/** Profiles created one minute apart, starting three days before T0. */
function seedProfiles(emu: Emulator, n: number): void {
  for (let i = 0; i < n; i++) {
    clock = T0 - 3 * 24 * HOUR + i * 60_000;
    emu.data.setProfile(`p${i}`, { $email: `p${i}@example.com`, plan: 'free', n: i });
  }
  clock = T0;
}

describe('engage table', () => {
  it('reads 10,001 profiles over 11 pages, to the short last page, without relying on total', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup({ profiles: 10_001 });
    const call = await readOnce(engage, ctx(T0), null);
    const ids = call.rows.map((r) => r.distinct_id as string);
    expect(ids.length).toBe(10_001);
    expect(new Set(ids).size).toBe(10_001);
    expect(engagePages(emu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The emulator sends `total` on page 0 only: pages 1..10 were requested without it.
    for (const entry of emu.log.forRoute('engage')) {
      expect(entry.params.project_id).toBe(String(emu.project.id));
      if (entry.params.page !== '0') expect(entry.params.session_id).toBeTruthy();
    }
  });

  it('restarts an expired session from page 0: no duplicates, no gaps', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup({ profiles: 5_500 });
    emu.faults.add({ route: 'engage', action: { kind: 'engage-session-expired', page: 4 } });
    const c = ctx(T0);
    const call = await readOnce(engage, c, null);
    const ids = call.rows.map((r) => r.distinct_id as string);
    expect(ids.length).toBe(5_500);
    expect(new Set(ids)).toEqual(new Set(emu.data.listProfiles().map((p) => p.distinctId)));
    expect(engagePages(emu)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5]);
    expect(c.stats.warnings.join('\n')).toMatch(/session expired on page 4/);
  });

  it('a page shortened by a deletion mid-scan does not end the scan early', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 2_500);
    emu.faults.add({
      route: 'engage',
      action: { kind: 'slow-headers', delayMs: 0 },
      when: (params) => {
        if (params.page === '1') emu.data.deleteProfile('p1500');
        return false;
      },
      times: Infinity,
    });
    const call = await readOnce(engage, ctx(T0), null);
    const ids = new Set(call.rows.map((r) => r.distinct_id as string));
    expect(ids.size).toBe(2_499);
    expect(ids.has('p2499')).toBe(true);
    expect(engagePages(emu)).toEqual([0, 1, 2]);
  });

  it('fails the call after too many session restarts (retryable)', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup({ profiles: 2_500 });
    emu.faults.add({ route: 'engage', action: { kind: 'engage-session-expired', page: 1 }, times: Infinity });
    await expect(readOnce(engage, ctx(T0), null, { session_restarts: '2' })).rejects.toMatchObject({ code: 'MP_ENGAGE_SESSION_EXPIRED', retryable: true });
    expect(engagePages(emu)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('incremental: run 2 reads only the 37 updated profiles; run 3 converges at once', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 300);
    const run1 = await driveToConvergence(engage, ctx(T0), null);
    expect(run1.rows.length).toBe(300);
    expect(run1.calls.length).toBe(2);

    clock = T0 + HOUR / 2;
    for (let i = 0; i < 37; i++) emu.data.updateProfile(`p${i * 7}`, { $set: { plan: 'pro' } });
    emu.log.clear();
    clock = T0 + HOUR;
    const run2 = await driveToConvergence(engage, ctx(T0 + HOUR), run1.cursor);
    expect(run2.calls[0]!.rows.length).toBe(37);
    expect(run2.rows.map((r) => r.distinct_id).sort()).toEqual(Array.from({ length: 37 }, (_, i) => `p${i * 7}`).sort());
    expect(run2.rows.every((r) => (r.custom_properties as { toJSON(): Record<string, string> }).toJSON().plan === '"pro"')).toBe(true);
    const wheres = emu.log.forRoute('engage').map((e) => e.params.where ?? '');
    expect(wheres.length).toBeGreaterThan(0);
    for (const w of wheres) expect(w).toMatch(/^properties\["\$last_seen"\] > "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"$/);
    expect((run2.cursor as { last_seen_ms: number }).last_seen_ms).toBe(T0 + HOUR / 2);

    clock = T0 + 2 * HOUR;
    const run3 = await readOnce(engage, ctx(T0 + 2 * HOUR), run2.cursor);
    expect(run3.batches).toBe(0);
    expect(cursorsEqual(run3.cursor, run2.cursor)).toBe(true);
  });

  it('re-emits the overlap window when a profile changed inside it without moving $last_seen', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 20);
    const run1 = await driveToConvergence(engage, ctx(T0), null);
    // p19 is the newest profile: inside the overlap window. An $ignore_time update keeps its $last_seen.
    emu.data.updateProfile('p19', { $set: { plan: 'enterprise' } }, { ignoreTime: true });
    const run2 = await driveToConvergence(engage, ctx(T0 + HOUR), run1.cursor);
    expect(run2.calls.length).toBe(2);
    const p19 = run2.rows.find((r) => r.distinct_id === 'p19');
    expect((p19?.custom_properties as { toJSON(): Record<string, string> }).toJSON().plan).toBe('"enterprise"');
    expect(run2.rows.length).toBeLessThan(20);
  });

  it('parses $last_seen in several formats exactly and keeps the raw text', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    const formats: Record<string, string | number> = { a: '2024-01-02T03:04:05', b: '2024-01-02 03:04:05', c: 1704164645, d: '2024-01-02T04:04:05+01:00' };
    for (const [id, value] of Object.entries(formats)) emu.data.setProfile(id, { $last_seen: value }, { ignoreTime: true });
    const c = ctx(T0);
    const call = await readOnce(engage, c, null);
    const byId = new Map(call.rows.map((r) => [r.distinct_id as string, r]));
    for (const [id, value] of Object.entries(formats)) {
      expect(byId.get(id)?.last_seen).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
      expect(byId.get(id)?.last_seen_raw).toBe(String(value));
    }
    expect(c.stats.counters['engage.standard_property_kept_raw'] ?? 0).toBe(0);
  });

  it('full refresh catches $ignore_time updates and marks deleted profiles', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 30);
    const options = { full_refresh_every: '1d' };
    const run1 = await driveToConvergence(engage, ctx(T0), null, options);
    expect(run1.rows.length).toBe(30);
    expect((run1.cursor as { known_ids: string[] }).known_ids.length).toBe(30);

    clock = T0 + HOUR;
    emu.data.deleteProfile('p3');
    emu.data.deleteProfile('p4');
    emu.data.updateProfile('p0', { $set: { plan: 'quiet' } }, { ignoreTime: true });
    const run2 = await driveToConvergence(engage, ctx(T0 + HOUR), run1.cursor, options);
    expect(run2.rows.length).toBe(0); // not due: the incremental scan cannot see either change

    clock = T0 + 25 * HOUR;
    const c3 = ctx(T0 + 25 * HOUR);
    const run3 = await driveToConvergence(engage, c3, run2.cursor, options);
    const tombstones = run3.rows.filter((r) => r._deleted_at !== null);
    expect(tombstones.map((r) => r.distinct_id).sort()).toEqual(['p3', 'p4']);
    for (const t of tombstones) {
      expect(t._deleted_at).toBe(T0 + 25 * HOUR);
      expect(t.last_seen).toBe(T0 + 25 * HOUR);
      expect(t.email).toBeNull();
    }
    const p0 = run3.rows.find((r) => r.distinct_id === 'p0');
    expect((p0?.custom_properties as { toJSON(): Record<string, string> }).toJSON().plan).toBe('"quiet"');
    expect(run3.rows.filter((r) => r._deleted_at === null).length).toBe(28);
    expect((run3.cursor as { last_full_refresh_ms: number }).last_full_refresh_ms).toBe(T0 + 25 * HOUR);
    expect(c3.stats.counters['engage.tombstones']).toBe(2);
  });

  it('converges within a run when a $last_seen lies beyond the run start (capped cursor)', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 5);
    emu.data.setProfile('future', { $last_seen: '2026-01-15T00:00:00' }, { ignoreTime: true });
    const run1 = await driveToConvergence(engage, ctx(T0), null);
    expect(run1.rows.length).toBe(6);
    expect(run1.calls.length).toBe(2);
    expect((run1.cursor as { last_seen_ms: number }).last_seen_ms).toBe(T0);
  });

  it('stops tracking deletions above deletion_tracking_limit, with a warning', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 12);
    const c = ctx(T0);
    const run1 = await driveToConvergence(engage, c, null, { full_refresh_every: '1d', deletion_tracking_limit: '10' });
    expect((run1.cursor as { known_ids: unknown }).known_ids).toBeNull();
    expect(c.stats.missing.join('\n')).toMatch(/more than 10 profiles.*deletion_tracking_limit/);
  });

  it('ANDs the user where with the $last_seen bound', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    seedProfiles(emu, 10);
    emu.data.updateProfile('p1', { $set: { plan: 'pro' } });
    const options = { where: 'properties["plan"] == "pro"' };
    const run1 = await driveToConvergence(engage, ctx(T0), null, options);
    expect(run1.rows.map((r) => r.distinct_id)).toEqual(['p1']);
    expect(emu.log.forRoute('engage').at(-1)!.params.where).toMatch(/^\(properties\["plan"\] == "pro"\) and properties\["\$last_seen"\] > "/);
  });

  it('throws the client NotEntitledError on 402 and ConfigError on bad options before any call', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup({ profiles: 3 });
    expect(() => engage.read(ctx(T0), null, { full_refresh_every: 'daily' })).toThrow(/full_refresh_every/);
    expect(() => engage.read(ctx(T0), { v: 9 } as Cursor, {})).toThrow(/full refresh/);
    expect(emu.log.entries.length).toBe(0);
    emu.faults.add({ route: 'engage', action: { kind: 'no-plan' } });
    await expect(readOnce(engage, ctx(T0), null)).rejects.toBeInstanceOf(NotEntitledError);
  });

  it('a stats object collects API calls', async () => {
    expect.hasAssertions();
    const { ctx } = await setup({ profiles: 1_200 });
    const c = ctx(T0);
    Object.assign(c.stats, emptyReadStats());
    await readOnce(engage, c, null);
    expect(c.stats.apiCalls).toBe(2);
  });
});
