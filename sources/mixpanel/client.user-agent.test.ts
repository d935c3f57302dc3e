/**
 * User-Agent: the client option, else MIXPANEL_USER_AGENT, else ours. The emulator's request log keeps no
 * headers, so the calls go through a recording pass-through proxy on loopback in front of the emulator.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { createMixpanelClient } from './client.js';
import { mixpanelConfigFromEnv } from './config.js';
import { createMixpanelSource } from './source.js';
import { DEFAULT_USER_AGENT, resolveUserAgent } from './user-agent.js';
import { driveTable } from './testing/driver.js';
import { FAST_LIMITS, emulatorConfig, emulatorSource } from './testing/emulator-source.js';

const T0 = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
let proxy: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  proxy = undefined;
  await emulator?.close();
  emulator = undefined;
});

/** The emulator behind a proxy that records each request's User-Agent and path. */
async function recorded(): Promise<{ url: string; seen: { path: string; userAgent: string | undefined }[] }> {
  emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
  emulator.data.importEvents([{ event: 'E', properties: { time: T0 - 3_600_000, distinct_id: 'u', $insert_id: 'i1' } }], { processingTimeMs: T0 - 3_600_000 });
  const target = new URL(emulator.url);
  const seen: { path: string; userAgent: string | undefined }[] = [];
  proxy = createServer((req, res) => {
    seen.push({ path: (req.url ?? '').split('?')[0]!, userAgent: req.headers['user-agent'] });
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, seen };
}

describe('User-Agent header', () => {
  it('resolves option > MIXPANEL_USER_AGENT > ours, blank = unset, and rejects header-breaking values naming the source', () => {
    expect(resolveUserAgent(undefined, undefined)).toBe(DEFAULT_USER_AGENT);
    expect(resolveUserAgent('  ', ' ')).toBe(DEFAULT_USER_AGENT);
    expect(resolveUserAgent(undefined, ' tap-mixpanel <a@b.co> ')).toBe('tap-mixpanel <a@b.co>');
    expect(resolveUserAgent('mine/1.0', 'env/2.0')).toBe('mine/1.0');
    const env = { MIXPANEL_API_SECRET: 's' };
    expect(mixpanelConfigFromEnv({ ...env, MIXPANEL_USER_AGENT: ' tap-mixpanel <a@b.co> ' }).userAgent).toBe('tap-mixpanel <a@b.co>');
    expect(mixpanelConfigFromEnv({ ...env, MIXPANEL_USER_AGENT: ' ' }).userAgent).toBeUndefined();
    expect(() => mixpanelConfigFromEnv({ ...env, MIXPANEL_USER_AGENT: 'a\r\nX-Evil: 1' })).toThrow(ConfigError);
    expect(() => mixpanelConfigFromEnv({ ...env, MIXPANEL_USER_AGENT: 'a\r\nX-Evil: 1' })).toThrow(/^MIXPANEL_USER_AGENT must be printable ASCII/);
    expect(() => resolveUserAgent('naïve', undefined)).toThrow(/^The userAgent client option must be printable ASCII/);
    expect(() => resolveUserAgent('x'.repeat(513), undefined)).toThrow(ConfigError);
  });

  it('sends ours by default, MIXPANEL_USER_AGENT when set, and the client option over both (seen on the wire)', async () => {
    expect.hasAssertions();
    const { url, seen } = await recorded();
    const config = { ...emulatorConfig(emulator!), baseUrl: url };
    const now = (): number => T0;

    const plain = await driveTable(emulatorSource({ ...emulator!, url }, { now }), 'events', null, { tableOptions: { safety_lag: '0' } });
    expect(plain.rows.map((r) => r['insert_id'])).toEqual(['i1']);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((s) => s.userAgent))).toEqual(new Set([DEFAULT_USER_AGENT]));

    seen.length = 0;
    const fromEnv = mixpanelConfigFromEnv({
      MIXPANEL_BASE_URL: url,
      MIXPANEL_API_SECRET: emulator!.project.apiSecret,
      MIXPANEL_USER_AGENT: 'tap-mixpanel <api_user_email@your_company.com>',
    });
    const configured = createMixpanelSource(fromEnv, { now, limits: FAST_LIMITS });
    try {
      await driveTable(configured, 'events', null, { tableOptions: { safety_lag: '0' } });
    } finally {
      await configured.close?.();
    }
    expect(seen.filter((s) => s.path === '/api/2.0/export').length).toBeGreaterThan(0);
    expect(new Set(seen.map((s) => s.userAgent))).toEqual(new Set(['tap-mixpanel <api_user_email@your_company.com>']));

    seen.length = 0;
    const client = createMixpanelClient(config, { limits: FAST_LIMITS, userAgent: 'option/3.1' });
    try {
      await client.queryJson('/api/query/cohorts/list', {}, { table: 'cohorts', signal: undefined });
    } finally {
      await client.close();
    }
    expect(seen).toEqual([{ path: '/api/query/cohorts/list', userAgent: 'option/3.1' }]);
  });

  it('a bad configured user agent stops the client at creation with a ConfigError', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    expect(() => createMixpanelClient({ ...emulatorConfig(emulator!), userAgent: 'bad\nvalue' }, { limits: FAST_LIMITS })).toThrow(ConfigError);
  });
});
