/**
 * Engage pacing by query, not by page, against the emulator playing both readings of the hourly Query budget.
 * A 1M-profile scan is 1000 pages against a budget of 60 queries per hour; here pages of 100 and a budget of 2–4
 * keep that shape (many pages per unit of budget) in a fast test. One fake clock drives the client's limiter,
 * its sleeps and the emulator's rate-limit windows, so an hour passes instantly and every wait is recorded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { emptyReadStats, type ReadStats } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator, type QueryBudgetCounts } from '../../../emulator/index.js';
import { createMixpanelClient } from '../client.js';
import type { MixpanelClient } from '../client-types.js';
import { scanEngage } from './scan.js';
import { serviceAccountConfig } from './testing-setup.js';

const HOUR = 3_600_000;
const PAGE_SIZE = 100;

let emulator: Emulator | undefined;
let client: MixpanelClient | undefined;

afterEach(async () => {
  await client?.close();
  await emulator?.close();
  client = undefined;
  emulator = undefined;
});

interface Setup {
  readonly emu: Emulator;
  readonly client: MixpanelClient;
  /** Every sleep the client asked for (ms), in order. */
  readonly sleeps: number[];
}

async function setup(rule: QueryBudgetCounts, budget: number, profiles: number): Promise<Setup> {
  let t = 1_000_000_000;
  const sleeps: number[] = [];
  emulator = await startEmulator({
    profiles,
    queryBudgetCounts: rule,
    limits: { queryPerHour: budget, queryConcurrent: 5, hourWindowMs: HOUR },
    rateLimitClock: () => t,
  });
  client = createMixpanelClient(serviceAccountConfig(emulator), {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    limits: {
      query: { minTime: 0, maxConcurrent: 5, reservoir: budget, reservoirRefreshIntervalMs: HOUR },
      maxRateLimitWaitMs: 2 * HOUR,
      maxRetries: 1,
      backoffBaseMs: 1,
      backoffCapMs: 5,
    },
  });
  return { emu: emulator, client, sleeps };
}

/** One full scan: every id delivered, in order. */
async function scan(c: MixpanelClient, stats: ReadStats, maxRestarts = 0): Promise<string[]> {
  const ids: string[] = [];
  const gen = scanEngage({ table: 'engage', client: c, params: { page_size: String(PAGE_SIZE) }, maxRestarts, stats, signal: undefined });
  for (let step = await gen.next(); !step.done; step = await gen.next()) for (const r of step.value) ids.push(r.distinctId);
  return ids;
}

function expectEveryProfileOnce(ids: readonly string[], profiles: number): void {
  expect(ids).toHaveLength(profiles);
  expect(new Set(ids).size).toBe(profiles);
}

function engageStatuses(emu: Emulator): number[] {
  return emu.log.forRoute('engage').map((e) => e.status);
}

describe('engage pacing against a server that counts queries (Mixpanel docs)', () => {
  it('pages a scan of 31 pages with a budget of 2 queries/hour: no 429, no sleep; only a third query start waits', async () => {
    expect.hasAssertions();
    const profiles = 3_001;
    const { emu, client: c, sleeps } = await setup('queries', 2, profiles);
    const stats = emptyReadStats();
    expectEveryProfileOnce(await scan(c, stats), profiles);
    expectEveryProfileOnce(await scan(c, stats), profiles);
    expect(engageStatuses(emu)).toEqual(Array(62).fill(200));
    expect(sleeps).toEqual([]);
    expect(stats.rateLimitWaits).toBe(0);
    // The budget went to the two query starts; pages left it alone.
    expect(c.budgetLeft('query')).toBe(0);

    // A third query waits once for the window to open (the gate, not a 429), then pages freely again.
    expectEveryProfileOnce(await scan(c, stats), profiles);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(HOUR - 1_000);
    expect(sleeps[0]).toBeLessThanOrEqual(HOUR + 1);
    expect(engageStatuses(emu)).toEqual(Array(93).fill(200));
    expect(stats.rateLimitWaits).toBe(0);
    expect(stats.warnings).toEqual([]);
  });
});

describe('engage pacing against a server that counts pages', () => {
  it('learns from the first 429, re-fetches that page, paces every page after it, and delivers each profile once', async () => {
    expect.hasAssertions();
    const profiles = 1_001;
    const { emu, client: c, sleeps } = await setup('pages', 4, profiles);
    const stats = emptyReadStats();
    expectEveryProfileOnce(await scan(c, stats), profiles);

    const log = emu.log.forRoute('engage');
    expect(log.filter((e) => e.status === 429)).toHaveLength(1);
    // Pages 0–3 fit the budget, page 4 is refused, then fetched again with the same session.
    expect(log.slice(0, 6).map((e) => [e.params['page'], e.status])).toEqual([
      ['0', 200],
      ['1', 200],
      ['2', 200],
      ['3', 200],
      ['4', 429],
      ['4', 200],
    ]);
    expect(log[5]!.params['session_id']).toBe(log[4]!.params['session_id']);
    expect(log.filter((e) => e.status === 200)).toHaveLength(11);
    // One wait on the 429 (Retry-After), then the client's own gate: 11 pages at 4 per hour.
    expect(stats.rateLimitWaits).toBe(1);
    expect(sleeps.length).toBeGreaterThanOrEqual(2);
    expect(stats.warnings.join('\n')).toMatch(/counts pages/);

    // The lesson lasts for the client's life: a second scan is paced from its first page, without a 429.
    emu.log.clear();
    expectEveryProfileOnce(await scan(c, stats), profiles);
    expect(engageStatuses(emu)).toEqual(Array(11).fill(200));
    expect(stats.rateLimitWaits).toBe(1);
  });

  it('a session that expires during the wait restarts from page 0 without delivering a profile twice', async () => {
    expect.hasAssertions();
    const profiles = 1_001;
    const { emu, client: c } = await setup('pages', 4, profiles);
    // The first request for page 4 is refused by the budget; when it is fetched again, its session is gone.
    emu.faults.add({ route: 'engage', action: { kind: 'engage-session-expired', page: 4 }, nth: 2 });
    const stats = emptyReadStats();
    expectEveryProfileOnce(await scan(c, stats, 1), profiles);
    const log = emu.log.forRoute('engage');
    expect(log.slice(4, 7).map((e) => [e.params['page'], e.status])).toEqual([
      ['4', 429],
      ['4', 400],
      ['0', 200],
    ]);
    expect(log.filter((e) => e.status === 429)).toHaveLength(1);
    expect(stats.counters['engage.engage_session_restarts']).toBe(1);
  });
});
