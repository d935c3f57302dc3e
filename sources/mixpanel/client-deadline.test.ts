/**
 * The client never sleeps past the call's deadline (`CallContext.deadline`, the host's --max-wait). Each kind of
 * wait is played against the emulator with one fake clock (the client's clock and sleeps, the emulator's rate-limit
 * windows): hourly-budget pacing of a new call (Query and export families), the hold after another call's hourly
 * 429, a 429's Retry-After or hourly wait, and a 5xx backoff. A wait that would end after the deadline throws at
 * once, with `retryAfterMs` = the time until it would have ended, and no sleep and no request is made; the same wait
 * ending before the deadline is slept and the call succeeds (so the deadline, not the wait, decides).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitError, TransientError, emptyReadStats, type ConnectorError } from '../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { createMixpanelClient, type ClientLimits } from './client.js';
import type { MixpanelClient } from './client-types.js';
import { emulatorConfig } from './testing/emulator-source.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = Date.parse('2024-06-10T12:00:00Z');
const LIST = '/api/query/cohorts/list';
const HOURLY_BODY = { error: 'Query rate limit exceeded. 61/60 queries running in the last hour.' };

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
  readonly sleeps: number[];
  now(): number;
}

/** One fake clock for the client and the emulator's windows; a sleep advances it. Budgets: `budget` per hour. */
async function setup(budget: number, limits: Partial<ClientLimits> = {}): Promise<Setup> {
  let t = T0;
  const sleeps: number[] = [];
  emulator = await startEmulator({
    now: () => t,
    rateLimitClock: () => t,
    limits: { queryPerHour: budget, exportPerHour: budget, exportPerSecond: Infinity, hourWindowMs: HOUR },
  });
  client = createMixpanelClient(emulatorConfig(emulator), {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    random: () => 0.5,
    limits: {
      query: { minTime: 0, maxConcurrent: 5, reservoir: budget, reservoirRefreshIntervalMs: HOUR },
      export: { minTime: 0, maxConcurrent: 5, reservoir: budget, reservoirRefreshIntervalMs: HOUR },
      maxRateLimitWaitMs: 2 * HOUR,
      maxRetries: 3,
      backoffBaseMs: 1_000,
      backoffCapMs: 60_000,
      ...limits,
    },
  });
  return { emu: emulator, client, sleeps, now: () => t };
}

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    return error as ConnectorError;
  }
  throw new Error('expected the call to fail');
}

const list = (c: MixpanelClient, deadline: number | undefined) => c.queryJson(LIST, {}, { table: 'cohorts', method: 'POST', deadline, stats: emptyReadStats() });

describe('the client never sleeps past the deadline', () => {
  it('hourly-budget pacing of a new Query call: throws MP_HOURLY_BUDGET_USED with the wait as retryAfterMs, sends nothing', async () => {
    expect.hasAssertions();
    const s = await setup(2);
    await list(s.client, s.now() + 5 * MINUTE);
    await list(s.client, s.now() + 5 * MINUTE);
    const deadline = s.now() + 5 * MINUTE;
    const error = await failure(list(s.client, deadline));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.code).toBe('MP_HOURLY_BUDGET_USED');
    // The window opens one hour after the first call (+1 ms): that is when a retry can succeed.
    expect((error as RateLimitError).retryAfterMs).toBe(HOUR + 1);
    expect(error.message).toContain('budget of 2 calls per hour');
    expect(error.message).toContain(`deadline ${new Date(deadline).toISOString()} (--max-wait)`);
    expect(error.message).toContain(`at ${new Date(T0 + HOUR + 1).toISOString()}`);
    expect(s.sleeps).toEqual([]);
    expect(s.emu.log.forRoute('cohorts').map((e) => e.status)).toEqual([200, 200]);

    // The same wait with a deadline after its end is slept, and the call goes out without a 429.
    await list(s.client, s.now() + 2 * HOUR);
    expect(s.sleeps).toEqual([HOUR + 1]);
    expect(s.emu.log.forRoute('cohorts').map((e) => e.status)).toEqual([200, 200, 200]);
  });

  it('hourly-budget pacing of an export call (no limiter reservoir holds it in a queue past the deadline)', async () => {
    expect.hasAssertions();
    const s = await setup(1);
    const params = { fromDate: '2024-06-10', toDate: '2024-06-10' };
    const first = await s.client.exportStream(params, { table: 'events', deadline: s.now() + MINUTE });
    first.body.resume();
    const error = await failure(s.client.exportStream(params, { table: 'events', deadline: s.now() + MINUTE }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.code).toBe('MP_HOURLY_BUDGET_USED');
    expect(error.message).toContain('raw export budget of 1 call per hour');
    expect((error as RateLimitError).retryAfterMs).toBe(HOUR + 1);
    expect(s.sleeps).toEqual([]);
    expect(s.emu.log.forRoute('export')).toHaveLength(1);
  });

  it('an hourly 429 without Retry-After: throws at once; the other calls of the family are then held without a request', async () => {
    expect.hasAssertions();
    const s = await setup(60);
    s.emu.faults.status('cohorts', 429, { body: HOURLY_BODY, times: 1 });
    const stats = emptyReadStats();
    const error = await failure(s.client.queryJson(LIST, {}, { table: 'cohorts', method: 'POST', deadline: s.now() + 10 * MINUTE, stats }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.code).toBe('MP_HTTP_TOO_MANY_REQUESTS');
    expect(error.context.status).toBe(429);
    // Until this run's oldest call of the window (this one) leaves it: one window.
    expect((error as RateLimitError).retryAfterMs).toBe(HOUR);
    expect(error.message).toContain('hourly budget');
    expect(stats.rateLimitWaits).toBe(0);
    expect(s.sleeps).toEqual([]);

    // Another table's call: held for the rest of the window, which ends past its deadline too.
    const held = await failure(s.client.queryJson('/api/query/engage', {}, { table: 'engage', method: 'POST', deadline: s.now() + 10 * MINUTE }));
    expect(held).toBeInstanceOf(RateLimitError);
    expect(held.code).toBe('MP_HOURLY_BUDGET_USED');
    expect(held.message).toContain('answered another call with a 429');
    expect((held as RateLimitError).retryAfterMs).toBe(HOUR);
    expect(s.emu.log.entries.map((e) => [e.route, e.status])).toEqual([['cohorts', 429]]);
    expect(s.sleeps).toEqual([]);
  });

  it("a 429's Retry-After: thrown when it ends past the deadline, slept when it ends before", async () => {
    expect.hasAssertions();
    const s = await setup(60);
    s.emu.faults.status('cohorts', 429, { retryAfterSeconds: 120, times: 2 });
    const error = await failure(list(s.client, s.now() + MINUTE));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(120_000);
    expect(error.message).toContain('in 2 min');
    expect(s.sleeps).toEqual([]);
    await list(s.client, s.now() + 3 * MINUTE);
    expect(s.sleeps).toEqual([120_000]);
    expect(s.emu.log.forRoute('cohorts').map((e) => e.status)).toEqual([429, 429, 200]);
  });

  it('a 5xx backoff that would end past the deadline: TransientError MP_RETRY_PAST_DEADLINE with the wait, no retry sent', async () => {
    expect.hasAssertions();
    const s = await setup(60, { backoffBaseMs: 8_000, backoffCapMs: 60_000 });
    s.emu.faults.status('cohorts', 503, { times: 2 });
    // random 0.5: the first backoff is 6 s, the second 12 s. A deadline 10 s away allows the first only.
    const error = await failure(list(s.client, s.now() + 10_000));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.code).toBe('MP_RETRY_PAST_DEADLINE');
    expect(error.context.retryAfterMs).toBe(12_000);
    expect(error.message).toContain('HTTP 503');
    expect(s.sleeps).toEqual([6_000]);
    expect(s.emu.log.forRoute('cohorts').map((e) => e.status)).toEqual([503, 503]);
  });
});
