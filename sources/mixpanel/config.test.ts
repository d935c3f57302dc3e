import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { mixpanelConfigFromEnv } from './config.js';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    mixpanelConfigFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('mixpanelConfigFromEnv', () => {
  it('reads a service account with defaults', () => {
    expect(mixpanelConfigFromEnv({ MIXPANEL_USERNAME: 'sa.abc123.mp-service-account', MIXPANEL_SECRET: 's3cr3t', MIXPANEL_PROJECT_ID: '1000' })).toEqual({
      auth: { kind: 'service_account', username: 'sa.abc123.mp-service-account', secret: 's3cr3t', projectId: 1000 },
      region: 'US',
      projectTimezone: 'UTC',
      legacyLocalTime: false,
      historicalDays: 30,
    });
  });

  it('reads an API secret and every optional variable', () => {
    expect(
      mixpanelConfigFromEnv({
        MIXPANEL_API_SECRET: 'abc',
        MIXPANEL_REGION: 'eu',
        MIXPANEL_PROJECT_TIMEZONE: 'US/Pacific',
        MIXPANEL_LEGACY_LOCAL_TIME: 'true',
        MIXPANEL_HISTORICAL_DAYS: '7',
        MIXPANEL_BASE_URL: 'http://127.0.0.1:8080/',
      }),
    ).toEqual({
      auth: { kind: 'api_secret', secret: 'abc' },
      region: 'EU',
      projectTimezone: 'US/Pacific',
      legacyLocalTime: true,
      historicalDays: 7,
      baseUrl: 'http://127.0.0.1:8080',
    });
  });

  it('names the variable and the fix, never the secret', () => {
    expect(errorOf({}).message).toBe('No Mixpanel credentials: Set MIXPANEL_API_SECRET, or MIXPANEL_USERNAME + MIXPANEL_SECRET + MIXPANEL_PROJECT_ID (service account)');
    const noProject = errorOf({ MIXPANEL_USERNAME: 'u', MIXPANEL_SECRET: 'very-secret-value' });
    expect(noProject.message).toContain('MIXPANEL_PROJECT_ID');
    expect(noProject.message).not.toContain('very-secret-value');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_REGION: 'ASIA' }).message).toContain('MIXPANEL_REGION must be US, EU or IN');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_PROJECT_TIMEZONE: 'Mars/Olympus' }).message).toContain('MIXPANEL_PROJECT_TIMEZONE must be an IANA zone');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_HISTORICAL_DAYS: '-3' }).message).toContain('MIXPANEL_HISTORICAL_DAYS');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_LEGACY_LOCAL_TIME: 'maybe' }).message).toContain('MIXPANEL_LEGACY_LOCAL_TIME must be true or false');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_BASE_URL: 'ftp://x' }).message).toContain('MIXPANEL_BASE_URL');
    const withCreds = errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_BASE_URL: 'http://user:pw-secret@host' });
    expect(withCreds.message).not.toContain('pw-secret');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_PROJECT_ID: '12ab' }).message).toContain('MIXPANEL_PROJECT_ID must be the numeric project id');
    expect(errorOf({ MIXPANEL_API_SECRET: 'x', MIXPANEL_PARSE_WORKERS: 'two' }).message).toContain('MIXPANEL_PARSE_WORKERS must be a whole number from 0');
  });

  it('MIXPANEL_PARSE_WORKERS: absent = the default (cores − 1), 0 = main thread', () => {
    expect(mixpanelConfigFromEnv({ MIXPANEL_API_SECRET: 'x' }).parseWorkers).toBeUndefined();
    expect(mixpanelConfigFromEnv({ MIXPANEL_API_SECRET: 'x', MIXPANEL_PARSE_WORKERS: '0' }).parseWorkers).toBe(0);
    expect(mixpanelConfigFromEnv({ MIXPANEL_API_SECRET: 'x', MIXPANEL_PARSE_WORKERS: '3' }).parseWorkers).toBe(3);
  });
});
