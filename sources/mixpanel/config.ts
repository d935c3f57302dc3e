/**
 * Connection configuration from environment variables. Every problem is a ConfigError whose one-line message
 * names the variable and the fix. Secrets never appear in a message.
 */
import { IANAZone } from 'luxon';
import { ConfigError } from '../../connector-spec/index.js';
import type { MixpanelAuth, MixpanelConfig, MixpanelRegion } from './config-types.js';
import { validUserAgent } from './user-agent.js';

/** Every environment variable the Mixpanel source reads, with a one-line description (README, `--help`). */
export const MIXPANEL_ENV_VARS: Readonly<Record<string, string>> = Object.freeze({
  MIXPANEL_API_SECRET: 'Project API secret (legacy auth). Either this or the service-account trio.',
  MIXPANEL_USERNAME: 'Service-account username (recommended auth), with MIXPANEL_SECRET and MIXPANEL_PROJECT_ID.',
  MIXPANEL_SECRET: 'Service-account secret.',
  MIXPANEL_PROJECT_ID: 'Numeric project id; required with a service account, sent on every call.',
  MIXPANEL_REGION: 'Data residency of the project: US (default), EU or IN.',
  MIXPANEL_PROJECT_TIMEZONE: 'IANA zone of the project (default UTC); legacy projects read dates and `time` in it.',
  MIXPANEL_LEGACY_LOCAL_TIME: 'true for projects created before 2023-01-01 (time stored as project-local wall clock). Default false.',
  MIXPANEL_HISTORICAL_DAYS: 'Days of history the first run of an incremental table reads (default 30).',
  MIXPANEL_BASE_URL: 'One Mixpanel-compatible server for every API (the emulator or a proxy), e.g. http://127.0.0.1:8080.',
  MIXPANEL_USER_AGENT: 'User-Agent header of every call (default mixpanel-lakeflow/<version>).',
});

const CREDENTIALS_FIX =
  'Set MIXPANEL_API_SECRET, or MIXPANEL_USERNAME + MIXPANEL_SECRET + MIXPANEL_PROJECT_ID (service account)';

function configError(message: string, variable: string): ConfigError {
  return new ConfigError(message, { code: 'MP_CONFIG_INVALID', context: { path: variable } });
}

function nonEmpty(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function parseProjectId(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) <= 0) {
    throw configError(`MIXPANEL_PROJECT_ID must be the numeric project id (Project Settings → Overview), got "${text}"`, 'MIXPANEL_PROJECT_ID');
  }
  return Number(text);
}

function parseAuth(env: Readonly<Record<string, string | undefined>>): MixpanelAuth {
  const apiSecret = nonEmpty(env, 'MIXPANEL_API_SECRET');
  const username = nonEmpty(env, 'MIXPANEL_USERNAME');
  const secret = nonEmpty(env, 'MIXPANEL_SECRET');
  const projectIdText = nonEmpty(env, 'MIXPANEL_PROJECT_ID');
  const projectId = projectIdText === undefined ? undefined : parseProjectId(projectIdText);
  if (username !== undefined || secret !== undefined) {
    if (username === undefined) throw configError(`MIXPANEL_USERNAME is missing: ${CREDENTIALS_FIX}`, 'MIXPANEL_USERNAME');
    if (secret === undefined) throw configError(`MIXPANEL_SECRET is missing: ${CREDENTIALS_FIX}`, 'MIXPANEL_SECRET');
    if (projectId === undefined) {
      throw configError(`MIXPANEL_PROJECT_ID is missing: a service account needs the project id. ${CREDENTIALS_FIX}`, 'MIXPANEL_PROJECT_ID');
    }
    return { kind: 'service_account', username, secret, projectId };
  }
  if (apiSecret !== undefined) return projectId === undefined ? { kind: 'api_secret', secret: apiSecret } : { kind: 'api_secret', secret: apiSecret, projectId };
  throw configError(`No Mixpanel credentials: ${CREDENTIALS_FIX}`, 'MIXPANEL_API_SECRET');
}

function parseRegion(text: string | undefined): MixpanelRegion {
  if (text === undefined) return 'US';
  const upper = text.toUpperCase();
  if (upper === 'US' || upper === 'EU' || upper === 'IN') return upper;
  throw configError(`MIXPANEL_REGION must be US, EU or IN (the project's data residency), got "${text}"`, 'MIXPANEL_REGION');
}

function parseTimezone(text: string | undefined): string {
  if (text === undefined) return 'UTC';
  if (!IANAZone.isValidZone(text)) {
    throw configError(
      `MIXPANEL_PROJECT_TIMEZONE must be an IANA zone name such as UTC, US/Pacific or Asia/Kolkata (Project Settings → Overview), got "${text}"`,
      'MIXPANEL_PROJECT_TIMEZONE',
    );
  }
  return text;
}

function parseBoolean(text: string | undefined, name: string): boolean {
  if (text === undefined) return false;
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes') return true;
  if (lower === 'false' || lower === '0' || lower === 'no') return false;
  throw configError(`${name} must be true or false, got "${text}"`, name);
}

function parseHistoricalDays(text: string | undefined): number {
  if (text === undefined) return 30;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1) {
    throw configError(`MIXPANEL_HISTORICAL_DAYS must be a whole number of days ≥ 1 (default 30), got "${text}"`, 'MIXPANEL_HISTORICAL_DAYS');
  }
  return Number(text);
}

function parseBaseUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw configError(`MIXPANEL_BASE_URL must be an http(s) URL such as http://127.0.0.1:8080, got an unparseable value`, 'MIXPANEL_BASE_URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`MIXPANEL_BASE_URL must start with http:// or https://, got "${url.protocol}"`, 'MIXPANEL_BASE_URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw configError('MIXPANEL_BASE_URL must not contain credentials: use MIXPANEL_API_SECRET or the service-account variables', 'MIXPANEL_BASE_URL');
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function parseWorkerCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,2}$/.test(text) || Number(text) > 32) {
    throw configError(`MIXPANEL_PARSE_WORKERS must be a whole number from 0 (parse on the main thread) to 32 (default: one per core beyond the first, at most 4), got "${text}"`, 'MIXPANEL_PARSE_WORKERS');
  }
  return Number(text);
}

/** Parse and validate the connection configuration from environment variables. */
export function mixpanelConfigFromEnv(env: Readonly<Record<string, string | undefined>>): MixpanelConfig {
  const auth = parseAuth(env);
  const region = parseRegion(nonEmpty(env, 'MIXPANEL_REGION'));
  const projectTimezone = parseTimezone(nonEmpty(env, 'MIXPANEL_PROJECT_TIMEZONE'));
  const legacyLocalTime = parseBoolean(nonEmpty(env, 'MIXPANEL_LEGACY_LOCAL_TIME'), 'MIXPANEL_LEGACY_LOCAL_TIME');
  const historicalDays = parseHistoricalDays(nonEmpty(env, 'MIXPANEL_HISTORICAL_DAYS'));
  const baseUrl = parseBaseUrl(nonEmpty(env, 'MIXPANEL_BASE_URL'));
  const userAgentText = nonEmpty(env, 'MIXPANEL_USER_AGENT');
  const userAgent = userAgentText === undefined ? undefined : validUserAgent(userAgentText, 'MIXPANEL_USER_AGENT');
  const parseWorkers = parseWorkerCount(nonEmpty(env, 'MIXPANEL_PARSE_WORKERS'));
  return {
    auth,
    region,
    projectTimezone,
    legacyLocalTime,
    historicalDays,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    ...(userAgent === undefined ? {} : { userAgent }),
    ...(parseWorkers === undefined ? {} : { parseWorkers }),
  };
}
