/**
 * Singer mode names the config.json key the user set, never the environment variable or table option the
 * connector uses underneath: a wrong api_secret from config.json is reported as `config.json "api_secret"`, end to
 * end against the emulator, with the tap's real config shape; so are service-account keys, dates and warnings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, NO_RATE_LIMITS, type Emulator } from '../../../emulator/index.js';
import { parseEventsOptions } from '../events/options.js';
import { messageForResponse, type ResponseFacts } from '../http/errors.js';
import { parseReportOptions, REPORT_OPTION_SPECS } from '../reports/options.js';
import { inConfigJsonTerms } from './setting-names.js';
import { lastState, runSinger, tempDir, writeJson } from './testing.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;
const FROM_CONFIG = { regionFromEnv: false };

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

function facts(over: Partial<ResponseFacts>): ResponseFacts {
  return { status: 401, path: '/api/2.0/export', body: '{"error":"Unauthorized"}', region: 'US', usesBaseUrl: false, authKind: 'api_secret', table: 'events', ...over };
}

function configError(attempt: () => unknown): string {
  try {
    attempt();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no error');
}

describe('inConfigJsonTerms: the connector\'s messages in config.json keys', () => {
  it('names the credential keys and eu_residency in the HTTP error messages', () => {
    const secret = inConfigJsonTerms(messageForResponse(facts({})), FROM_CONFIG);
    expect(secret).toContain('check config.json "api_secret"');
    expect(secret).toContain('config.json "eu_residency" (now false)');
    expect(secret).not.toMatch(/MIXPANEL_/);
    const account = inConfigJsonTerms(messageForResponse(facts({ authKind: 'service_account' })), FROM_CONFIG);
    expect(account).toContain('config.json "service_account_username", config.json "service_account_secret" and config.json "project_id"');
    const eu = inConfigJsonTerms(messageForResponse(facts({ body: '{"error":"project is in the EU region, use eu.mixpanel.com"}' })), FROM_CONFIG);
    expect(eu).toContain('set config.json "eu_residency": true');
    const zone = inConfigJsonTerms(messageForResponse(facts({ status: 400, body: 'to_date cannot be later than today' })), FROM_CONFIG);
    expect(zone).toContain('set config.json "project_timezone"');
    expect(zone).toContain('MIXPANEL_LEGACY_LOCAL_TIME=true'); // still an environment variable in Singer mode
  });

  it('leaves MIXPANEL_REGION alone when the environment sets it, and the variables Singer mode reads from the environment', () => {
    const message = messageForResponse(facts({}));
    expect(inConfigJsonTerms(message, { regionFromEnv: true })).toContain('MIXPANEL_REGION (now US)');
    expect(inConfigJsonTerms('check MIXPANEL_BASE_URL and MIXPANEL_HISTORICAL_DAYS', FROM_CONFIG)).toBe('check MIXPANEL_BASE_URL and MIXPANEL_HISTORICAL_DAYS');
  });

  it('names the config.json key behind a table option, and a bookmark instead of --full-refresh', () => {
    expect(inConfigJsonTerms(configError(() => parseEventsOptions({ lookback_days: 'x' })), FROM_CONFIG)).toMatch(/^config\.json "attribution_window" must be/);
    expect(inConfigJsonTerms(configError(() => parseEventsOptions({ window_days: '0' })), FROM_CONFIG)).toMatch(/^config\.json "date_window_size" must be/);
    expect(inConfigJsonTerms(configError(() => parseReportOptions({ date_window_size: 'x' }, 'funnels', REPORT_OPTION_SPECS)), FROM_CONFIG)).toMatch(/^config\.json "date_window_size" must be/);
    expect(inConfigJsonTerms('To load them, a full refresh (--full-refresh events) re-reads 2024-05-01..today', FROM_CONFIG)).toBe(
      'To load them, a full refresh (delete the "export" bookmark from the state file) re-reads 2024-05-01..today',
    );
  });
});

describe('singer mode against the emulator', () => {
  it('reports a wrong api_secret from config.json as config.json "api_secret", never as MIXPANEL_API_SECRET, and never prints the secret', async () => {
    expect.hasAssertions();
    emu = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, projects: [{ apiSecret: 'THE_RIGHT_SECRET' }] });
    const dir = await tempDir();
    const config = await writeJson(
      dir,
      'config.json',
      `{
    "api_secret": "a-wrong-secret",
    "date_window_size": "30",
    "attribution_window": "5",
    "project_timezone": "US/Pacific",
    "select_properties_by_default": "true",
    "denest_properties": "true",
    "start_date": "2026-11-01T00:00:00Z",
    "user_agent": "tap-mixpanel <api_user_email@your_company.com>"
}
`,
    );
    const run = await runSinger(emu, () => T0, { config });
    expect(run.code).toBe(1);
    expect(emu.log.forRoute('export').length).toBeGreaterThan(0);
    expect(run.stderr).toContain('check config.json "api_secret"');
    expect(run.stderr).not.toContain('MIXPANEL_API_SECRET');
    expect(run.stderr).not.toContain('MIXPANEL_REGION');
    expect(run.stderr).not.toContain('a-wrong-secret');
  });

  it('names the service-account keys for a wrong service_account_secret', async () => {
    expect.hasAssertions();
    emu = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS });
    const dir = await tempDir();
    const config = await writeJson(dir, 'config.json', { service_account_username: emu.project.serviceAccount.username, service_account_secret: 'not-it', project_id: emu.project.id, start_date: '2026-11-19T00:00:00Z' });
    const run = await runSinger(emu, () => T0, { config });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('config.json "service_account_secret"');
    expect(run.stderr).not.toMatch(/MIXPANEL_(USERNAME|SECRET|PROJECT_ID)/);
    expect(run.stderr).not.toContain('not-it');
  });

  it('rejects a start_date in the future (or an end_date before it) naming the key, exit 2, before any call', async () => {
    expect.hasAssertions();
    emu = await startEmulator({ now: () => T0, limits: NO_RATE_LIMITS, projects: [{ apiSecret: 'YOUR_API_SECRET' }] });
    const dir = await tempDir();
    for (const [raw, key] of [
      [{ api_secret: 'YOUR_API_SECRET', start_date: '2099-01-01T00:00:00Z' }, 'config.json: "start_date" is in the future (2099-01-01T00:00:00Z; today is 2026-11-20 in UTC)'],
      [{ api_secret: 'YOUR_API_SECRET', start_date: '2026-11-21' }, 'config.json: "start_date" is in the future'],
      [{ api_secret: 'YOUR_API_SECRET', start_date: '2026-11-10T00:00:00Z', end_date: '2026-11-01T00:00:00Z' }, 'config.json: "end_date" (2026-11-01) is before "start_date" (2026-11-10)'],
    ] as const) {
      const run = await runSinger(emu, () => T0, { config: await writeJson(dir, 'config.json', raw) });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(key);
    }
    expect(emu.log.entries).toEqual([]);
  });

  it('warns in config.json terms when start_date moves before the date the bookmark began at', async () => {
    expect.hasAssertions();
    const clock = { ms: T0 };
    emu = await startEmulator({ now: () => clock.ms, limits: NO_RATE_LIMITS, projects: [{ apiSecret: 'YOUR_API_SECRET' }] });
    const dir = await tempDir();
    const catalog = await writeJson(dir, 'catalog.json', { streams: [{ tap_stream_id: 'export', metadata: [{ breadcrumb: [], metadata: { selected: true } }] }] });
    const first = await runSinger(emu, () => clock.ms, { config: await writeJson(dir, 'c1.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-15T00:00:00Z' }), catalog });
    expect(first.code, first.stderr).toBe(0);
    clock.ms = T0 + HOUR;
    const state = await writeJson(dir, 'state.json', lastState(first));
    const second = await runSinger(emu, () => clock.ms, { config: await writeJson(dir, 'c2.json', { api_secret: 'YOUR_API_SECRET', start_date: '2026-11-01T00:00:00Z' }), catalog, state });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('start_date 2026-11-01 is before 2026-11-15');
    expect(second.stderr).toContain('delete the "export" bookmark from the state file');
    expect(second.stderr).not.toContain('--full-refresh');
  });
});
