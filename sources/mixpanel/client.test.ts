import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, NotEntitledError, RateLimitError, TransientError, emptyReadStats } from '../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { createMixpanelClient, type ClientLimits } from './client.js';
import type { MixpanelClient } from './client-types.js';
import type { MixpanelConfig } from './config-types.js';
import { FAST_LIMITS, emulatorConfig } from './testing/emulator-source.js';

const T = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
let client: MixpanelClient | undefined;
afterEach(async () => {
  await client?.close();
  await emulator?.close();
  client = undefined;
  emulator = undefined;
});

async function setup(configOverrides: Partial<MixpanelConfig> = {}, limits: Partial<ClientLimits> = {}, sleeps: number[] = []): Promise<{ emu: Emulator; c: MixpanelClient }> {
  emulator = await startEmulator({ now: () => T, limits: NO_LIMITS });
  client = createMixpanelClient(emulatorConfig(emulator, configOverrides), {
    limits: { ...FAST_LIMITS, ...limits },
    now: () => T,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  return { emu: emulator, c: client };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected a failure');
}

const ctx = { table: 'events' };

describe('MixpanelClient against the emulator', () => {
  it('sends project_id on every service-account call (cohorts/list included) and gunzips the export', async () => {
    expect.hasAssertions();
    const { emu, c } = await setup();
    const lines = Array.from({ length: 200 }, (_, i) => ({ event: 'E', properties: { time: T - 1000 - i, distinct_id: 'u', $insert_id: `i${i}`, pad: 'x'.repeat(50) } }));
    emu.data.importEvents(lines, { processingTimeMs: T - 1000 });
    const stats = emptyReadStats();
    const response = await c.exportStream({ fromDate: '2024-06-10', toDate: '2024-06-10' }, { ...ctx, stats });
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(200);
    expect(text.endsWith('\n')).toBe(true);
    await c.queryJson('/api/query/cohorts/list', {}, { ...ctx, method: 'POST' });
    const log = emu.log.entries;
    expect(log.map((e) => [e.path, e.params['project_id'], e.status])).toEqual([
      ['/api/2.0/export', '1000', 200],
      ['/api/query/cohorts/list', '1000', 200],
    ]);
    expect(log[0]!.params['time_in_ms']).toBe('true');
    expect(stats.apiCalls).toBe(1);
    expect(c.budgetLeft('export')).toBe(Infinity);
  });

  it('401 names the credential variables and the region; a body pointing at another region names it', async () => {
    expect.hasAssertions();
    const { emu, c } = await setup();
    const wrong = createMixpanelClient(emulatorConfig(emu, { auth: { kind: 'api_secret', secret: 'wrong-secret-value' } }), { limits: FAST_LIMITS });
    const error = await failure(wrong.queryJson('/api/query/cohorts/list', {}, { ...ctx, method: 'POST' }));
    await wrong.close();
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toContain('check MIXPANEL_API_SECRET');
    expect(error.message).toContain('MIXPANEL_REGION (now US)');
    expect(error.message).not.toContain('wrong-secret-value');
    emu.faults.status('export', 401, { body: { error: 'Project not found in this region; use https://data-eu.mixpanel.com' } });
    const eu = await failure(c.exportStream({ fromDate: '2024-06-10', toDate: '2024-06-10' }, ctx));
    expect(eu.message).toContain('set MIXPANEL_REGION=EU');
  });

  it('402 is NotEntitled naming the table; 400 "to_date cannot be later than today" names the project timezone', async () => {
    expect.hasAssertions();
    const { emu, c } = await setup();
    emu.faults.add({ route: 'cohorts', action: { kind: 'no-plan' } });
    const plan = await failure(c.queryJson('/api/query/cohorts/list', {}, { table: 'cohorts', method: 'POST' }));
    expect(plan).toBeInstanceOf(NotEntitledError);
    expect(plan.message).toContain('remove table cohorts');
    const future = await failure(c.exportStream({ fromDate: '2024-06-10', toDate: '2024-06-12' }, ctx));
    expect(future).toBeInstanceOf(ConfigError);
    expect(future.message).toContain('MIXPANEL_PROJECT_TIMEZONE');
  });

  it('5xx is retried with backoff, then succeeds; exhausted retries give a TransientError', async () => {
    expect.hasAssertions();
    const sleeps: number[] = [];
    const { emu, c } = await setup({}, { maxRetries: 2, backoffBaseMs: 100, backoffCapMs: 1000 }, sleeps);
    emu.faults.status('cohorts', 503, { times: 2 });
    const stats = emptyReadStats();
    await c.queryJson('/api/query/cohorts/list', {}, { ...ctx, method: 'POST', stats });
    expect(sleeps).toEqual([75, 150]);
    expect(stats.retries).toBe(2);
    expect(stats.apiCalls).toBe(3);
    emu.faults.status('cohorts', 500, { times: 3 });
    expect(await failure(c.queryJson('/api/query/cohorts/list', {}, { ...ctx, method: 'POST' }))).toBeInstanceOf(TransientError);
  });

  it('hourly 429 without Retry-After waits for the window instead of storming, then throws RateLimitError past the cap', async () => {
    expect.hasAssertions();
    const sleeps: number[] = [];
    const hourly = { error: 'Query rate limit exceeded. 61/60 queries running in the last hour.' };
    const window = 40_000;
    const { emu, c } = await setup({}, { query: { minTime: 0, maxConcurrent: 5, reservoir: 60, reservoirRefreshIntervalMs: window }, maxRateLimitWaitMs: 60_000 }, sleeps);
    emu.faults.status('cohorts', 429, { body: hourly, times: 1 });
    const stats = emptyReadStats();
    await c.queryJson('/api/query/cohorts/list', {}, { ...ctx, method: 'POST', stats });
    // The clock is frozen, so our oldest call of the window (just now) leaves it after one full window.
    expect(sleeps).toEqual([window]);
    expect(stats.rateLimitWaits).toBe(1);
    expect(emu.log.forRoute('cohorts').map((e) => e.status)).toEqual([429, 200]);
    emu.log.clear();
    emu.faults.status('cohorts', 429, { body: hourly, times: 5 });
    const error = await failure(c.queryJson('/api/query/cohorts/list', {}, { ...ctx, method: 'POST' }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBeGreaterThanOrEqual(1_000);
    // One wait of a window fits the cap, the second does not: two calls, not a storm.
    expect(emu.log.forRoute('cohorts')).toHaveLength(2);
  });
});

describe('shared limiter', () => {
  it('keeps every table of a source under a rolling hourly budget: no 429 from a server counting a rolling window', async () => {
    expect.hasAssertions();
    const { driveTable } = await import('./testing/driver.js');
    const { createMixpanelSource } = await import('./source.js');
    const realStart = Date.now();
    const now = (): number => T + (Date.now() - realStart);
    emulator = await startEmulator({ now, limits: { ...NO_LIMITS, exportPerHour: 3, hourWindowMs: 1_500 } });
    for (let d = 0; d < 6; d++) emulator.data.importEvents([{ event: 'E', properties: { time: T - d * 86_400_000, distinct_id: 'u', $insert_id: `d${d}` } }], { processingTimeMs: T - 1000 });
    const limits: Partial<ClientLimits> = { ...FAST_LIMITS, export: { minTime: 0, maxConcurrent: 10, reservoir: 3, reservoirRefreshIntervalMs: 1_500 } };
    const source = createMixpanelSource(emulatorConfig(emulator, { historicalDays: 6 }), { now, limits });
    const run = await driveTable(source, 'events', null, { tableOptions: { safety_lag: '0', window_days: '1' } });
    await source.close?.();
    const calls = emulator.log.forRoute('export');
    expect(calls.map((c) => c.status)).toEqual(Array(7).fill(200));
    expect(run.rows.map((r) => r['insert_id']).sort()).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5']);
    // Any 4 consecutive calls span more than one window.
    for (let i = 3; i < calls.length; i++) expect(calls[i]!.atMs - calls[i - 3]!.atMs).toBeGreaterThanOrEqual(1_500);
  });
});

describe('export body encoding', () => {
  it('reads an empty body sent with Content-Encoding: gzip as an empty export', async () => {
    expect.hasAssertions();
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip', 'content-length': '0' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const c = createMixpanelClient(
      { auth: { kind: 'api_secret', secret: 'secret' }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 30, baseUrl: `http://127.0.0.1:${port}` },
      { limits: { ...FAST_LIMITS }, now: () => T },
    );
    try {
      const response = await c.exportStream({ fromDate: '2024-06-10', toDate: '2024-06-10' }, { ...ctx, stats: emptyReadStats() });
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).length).toBe(0);
    } finally {
      await c.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
