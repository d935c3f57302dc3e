/** The two readings of the hourly Query-API budget: `queries` (Mixpanel's docs, default) and `pages`. */
import { afterEach, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator, QueryBudgetCounts } from './types.js';
import { TEST_NOW, manualClock, postForm, secretAuth } from './test-helpers.js';

let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

async function start(queryBudgetCounts: QueryBudgetCounts | undefined, limits: { queryPerHour?: number; queryConcurrent?: number }): Promise<Emulator> {
  const rl = manualClock(1_000_000);
  em = await startEmulator({
    now: () => TEST_NOW,
    profiles: 3_500,
    limits: { ...NO_RATE_LIMITS, queryPerHour: 2, queryConcurrent: 5, hourWindowMs: 60_000, ...limits },
    rateLimitClock: rl.now,
    ...(queryBudgetCounts === undefined ? {} : { queryBudgetCounts }),
  });
  return em;
}

function engage(e: Emulator, form: Record<string, string>): Promise<{ status: number; text: string }> {
  return postForm(`${e.url}/api/query/engage`, form, { authorization: secretAuth(e.project) });
}

function sessionOf(text: string): string {
  return (JSON.parse(text) as { session_id: string }).session_id;
}

describe('queryBudgetCounts', () => {
  it('queries (the default): pages with a session_id cost no hourly budget, new queries do', async () => {
    expect.hasAssertions();
    const e = await start(undefined, {});
    const first = await engage(e, { page: '0' });
    expect(first.status).toBe(200);
    const session = sessionOf(first.text);
    for (const page of ['1', '2', '3']) expect((await engage(e, { page, session_id: session })).status).toBe(200);
    // The second query of the hour is admitted, the third is not …
    expect((await engage(e, { page: '0' })).status).toBe(200);
    const third = await engage(e, { page: '0' });
    expect(third.status).toBe(429);
    expect((JSON.parse(third.text) as { error: string }).error).toContain('3/2 queries running in the last hour');
    // … while a query already started keeps paging.
    const past = await engage(e, { page: '4', session_id: session });
    expect(past.status).toBe(200);
    expect((JSON.parse(past.text) as { results: unknown[] }).results).toEqual([]);
  });

  it('pages: every Engage page counts against the hourly budget', async () => {
    expect.hasAssertions();
    const e = await start('pages', {});
    const first = await engage(e, { page: '0' });
    const session = sessionOf(first.text);
    expect((await engage(e, { page: '1', session_id: session })).status).toBe(200);
    const limited = await engage(e, { page: '2', session_id: session });
    expect(limited.status).toBe(429);
    expect((JSON.parse(limited.text) as { error: string }).error).toContain('0/5 queries running concurrently and 3/2 queries running in the last hour');
    expect(e.log.forRoute('engage').map((x) => x.status)).toEqual([200, 200, 429]);
  });

  it('queries: a continued query still takes a concurrency slot', async () => {
    expect.hasAssertions();
    const e = await start('queries', { queryPerHour: Number.POSITIVE_INFINITY, queryConcurrent: 1 });
    const session = sessionOf((await engage(e, { page: '0' })).text);
    e.faults.add({ route: 'engage', action: { kind: 'slow-headers', delayMs: 400 }, times: 1 });
    const slow = engage(e, { page: '1', session_id: session });
    while (!e.log.entries.some((x) => x.route === 'engage' && x.fault === 'slow-headers')) await new Promise((r) => setTimeout(r, 5));
    const blocked = await engage(e, { page: '2', session_id: session });
    expect(blocked.status).toBe(429);
    expect((JSON.parse(blocked.text) as { error: string }).error).toContain('2/1 queries running concurrently');
    expect((await slow).status).toBe(200);
  });
});
