/**
 * Issue 19, finding 6: an unreachable host (refused, no DNS) fails within a couple of quick tries with a
 * ConfigError naming the host and the variables, instead of minutes of backoff and slice splitting; and a slice
 * is never split because a connection failed.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, TransientError, emptyReadStats } from '../../../connector-spec/index.js';
import { createMixpanelClient, type ClientLimits } from '../client.js';
import type { MixpanelClient } from '../client-types.js';
import type { MixpanelConfig } from '../config-types.js';
import { createMixpanelSource } from '../source.js';
import { driveTable } from '../testing/driver.js';
import { unreachableError, splitMayHelp } from './errors.js';
import { UNREACHABLE_RETRY_WAITS_MS, unreachableCode } from './retry.js';

const SECRET = 'unreachable-test-secret';
const T = Date.parse('2026-03-31T12:00:00Z');
/** Default retries (5) and backoff: the unreachable path must not depend on them. */
const LIMITS: Partial<ClientLimits> = {
  export: { minTime: 0, maxConcurrent: 10, reservoir: Number.POSITIVE_INFINITY, reservoirRefreshIntervalMs: 3_600_000 },
  query: { minTime: 0, maxConcurrent: 5, reservoir: Number.POSITIVE_INFINITY, reservoirRefreshIntervalMs: 3_600_000 },
};

function config(baseUrl: string, overrides: Partial<MixpanelConfig> = {}): MixpanelConfig {
  return { auth: { kind: 'api_secret', secret: SECRET }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 3, baseUrl, ...overrides };
}

/** A loopback port nobody listens on: bound once, then closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

let client: MixpanelClient | undefined;
let server: Server | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  server?.close();
  server = undefined;
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('an unreachable host fails fast', () => {
  it('a refused port: 3 calls, 2 quick waits, ConfigError MP_UNREACHABLE naming host and variables (export and query)', async () => {
    expect.hasAssertions();
    const port = await deadPort();
    const sleeps: number[] = [];
    client = createMixpanelClient(config(`http://127.0.0.1:${port}`), { limits: LIMITS, sleep: async (ms) => void sleeps.push(ms) });
    const stats = emptyReadStats();
    const error = await failure(client.exportStream({ fromDate: '2026-03-30', toDate: '2026-03-31' }, { table: 'events', stats }));
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe('MP_UNREACHABLE');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.message).toContain('MIXPANEL_BASE_URL');
    expect(e.message).toContain('MIXPANEL_REGION');
    expect(e.message).not.toContain(SECRET);
    expect(stats.apiCalls).toBe(1 + UNREACHABLE_RETRY_WAITS_MS.length);
    expect(sleeps).toEqual([...UNREACHABLE_RETRY_WAITS_MS]);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(5_000);

    const query = await failure(client.queryJson('/api/query/engage', {}, { table: 'engage', method: 'POST' }));
    expect(query).toBeInstanceOf(ConfigError);
    expect((query as ConfigError).code).toBe('MP_UNREACHABLE');
  });

  it('an unresolvable host (.invalid): ConfigError MP_UNREACHABLE after 3 calls', async () => {
    expect.hasAssertions();
    const sleeps: number[] = [];
    client = createMixpanelClient(config('http://mixpanel-lakeflow-test.invalid'), { limits: LIMITS, sleep: async (ms) => void sleeps.push(ms) });
    const stats = emptyReadStats();
    const error = await failure(client.exportStream({ fromDate: '2026-03-30', toDate: '2026-03-31' }, { table: 'events', stats }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('MP_UNREACHABLE');
    expect((error as ConfigError).message).toContain('mixpanel-lakeflow-test.invalid');
    expect((error as ConfigError).message).toMatch(/ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL/);
    expect((error as ConfigError).message).toContain('MIXPANEL_BASE_URL');
    expect(stats.apiCalls).toBe(3);
    expect(sleeps).toHaveLength(2);
  });

  it('the events table against a refused port: one failed call, not retried by the host, no slice split', async () => {
    expect.hasAssertions();
    const port = await deadPort();
    const source = createMixpanelSource(config(`http://127.0.0.1:${port}`), { now: () => T, limits: LIMITS, sleep: async () => {} });
    const stats = emptyReadStats();
    const error = await failure(driveTable(source, 'events', null, { stats, tableOptions: { safety_lag: '0' } }));
    await source.close?.();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('MP_UNREACHABLE');
    expect(stats.apiCalls).toBe(3);
    expect(stats.counters['events.slices_split']).toBeUndefined();
  });
});

describe('slices split only when a smaller slice can help', () => {
  it('a connection reset before any answer is retried as the same whole slice, never split', async () => {
    expect.hasAssertions();
    const seen: string[] = [];
    server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', (data) => {
        seen.push(data.toString('latin1').split(' ')[1] ?? '');
        socket.destroy();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const source = createMixpanelSource(config(`http://127.0.0.1:${port}`), { now: () => T, limits: { ...LIMITS, maxRetries: 0 }, sleep: async () => {} });
    const stats = emptyReadStats();
    const error = await failure(driveTable(source, 'events', null, { stats, maxAttempts: 4, tableOptions: { safety_lag: '0' } }));
    await source.close?.();
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).code).toBe('MP_NETWORK');
    expect(seen).toHaveLength(4);
    const slices = seen.map((target) => {
      const params = new URL(target, 'http://x').searchParams;
      return `${params.get('from_date')}..${params.get('to_date')} ${params.get('where')?.includes('$time') ? 'hours' : 'day'}`;
    });
    expect(new Set(slices).size).toBe(1);
    expect(stats.counters['events.slices_split']).toBeUndefined();
  });

  it('splitMayHelp: body failures, timeouts and 5xx yes; connection failures, config and auth no', () => {
    const transient = (code: string, status?: number): TransientError => new TransientError('x', { code, ...(status ? { context: { status } } : {}) });
    expect(splitMayHelp(transient('MP_STREAM_BROKEN'))).toBe(true);
    expect(splitMayHelp(transient('MP_EXPORT_TERMINATED_EARLY'))).toBe(true);
    expect(splitMayHelp(transient('MP_EXPORT_TRUNCATED'))).toBe(true);
    expect(splitMayHelp(transient('MP_HEADERS_TIMEOUT'))).toBe(true);
    expect(splitMayHelp(transient('MP_HTTP_UNAVAILABLE', 503))).toBe(true);
    expect(splitMayHelp(transient('MP_NETWORK'))).toBe(false);
    expect(splitMayHelp(new ConfigError('x', { code: 'MP_UNREACHABLE' }))).toBe(false);
    expect(splitMayHelp(new Error('x'))).toBe(false);
  });

  it('unreachableCode finds the code in causes and in a happy-eyeballs AggregateError; the message hides credentials', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(unreachableCode(new AggregateError([refused, refused], 'all failed'))).toBe('ECONNREFUSED');
    expect(unreachableCode(new Error('wrapped', { cause: Object.assign(new Error('dns'), { code: 'EAI_AGAIN' }) }))).toBe('EAI_AGAIN');
    expect(unreachableCode(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBeUndefined();
    const e = unreachableError(
      { url: `https://user:${SECRET}@proxy.example:8443/api/2.0/export?where=x`, code: 'ENOTFOUND', path: '/api/2.0/export', table: 'events', region: 'EU', usesBaseUrl: true, attempts: 3 },
      refused,
    );
    expect(e.message).toContain('proxy.example:8443');
    expect(e.message).not.toContain(SECRET);
    expect(e.message).not.toContain('where=');
    const regional = unreachableError({ url: 'https://data-eu.mixpanel.com/api/2.0/export', code: 'EAI_AGAIN', path: '/api/2.0/export', table: 'events', region: 'EU', usesBaseUrl: false, attempts: 3 }, refused);
    expect(regional.message).toContain('MIXPANEL_REGION (now EU) chose data-eu.mixpanel.com');
  });
});
