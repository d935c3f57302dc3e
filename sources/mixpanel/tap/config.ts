/**
 * The Singer tap's `config.json` (pipelinewise-tap-mixpanel / singer-io tap-mixpanel keys, unchanged) → a
 * MixpanelConfig, table options per stream, and the Singer-mode record settings. Values may be strings (`"30"`,
 * `"true"`) as in the tap's README, or JSON numbers/booleans. Unknown keys are warnings, never failures.
 * The base URL comes from the environment (`MIXPANEL_BASE_URL`), so the same file runs against the emulator.
 */
import { validUserAgent } from '../user-agent.js';
import { IANAZone } from 'luxon';
import { ConfigError, type TableOptions } from '../../../connector-spec/index.js';
import type { MixpanelAuth, MixpanelConfig } from '../config-types.js';
import { mixpanelConfigFromEnv } from '../config.js';
import { addDays, dateInZone, isDate } from '../events/dates.js';
import type { TapSettingNames } from './setting-names.js';

export type PropertyNaming = 'mp_reserved' | 'stripped';

export interface TapSettings {
  /** Custom properties at the root of a record (true, the tap's default) or kept in a `custom_properties` object. */
  readonly denestProperties: boolean;
  /** false: only properties declared in the catalog are flattened; the rest stay in `custom_properties` (never dropped). */
  readonly selectPropertiesByDefault: boolean;
  readonly propertyNaming: PropertyNaming;
  /** The tap's attribution window (days), used to convert a tap date bookmark into a start date. */
  readonly attributionDays: number;
}

export interface TapConfig {
  readonly mixpanel: MixpanelConfig;
  /** Table options per table name (events, funnels, revenue, annotations, …). */
  readonly tableOptions: Readonly<Record<string, TableOptions>>;
  readonly settings: TapSettings;
  /** One line per ignored or unknown key (printed to stderr; never a value). */
  readonly warnings: readonly string[];
  /** Where each setting came from, so messages name the config.json key the user set (`setting-names.ts`). */
  readonly names: TapSettingNames;
}

export interface ParseTapConfigOptions {
  /** The run's clock (epoch ms): a start_date after today is rejected. Default Date.now(). */
  readonly nowMs?: number;
}

/** Keys the tap documents that are accepted and ignored, with the reason (printed as a warning). */
const IGNORED: Readonly<Record<string, string>> = {
  request_timeout: 'timeouts are fixed by the client (connect 30 s, headers and body 300 s)',
};

const KNOWN = new Set([
  'api_secret',
  'service_account_username',
  'service_account_secret',
  'project_id',
  'date_window_size',
  'attribution_window',
  'project_timezone',
  'start_date',
  'select_properties_by_default',
  'denest_properties',
  'export_events',
  'eu_residency',
  'eu_residency_server',
  'property_naming',
  'user_agent',
  'end_date',
  ...Object.keys(IGNORED),
]);

function invalid(key: string, message: string): ConfigError {
  return new ConfigError(`config.json: "${key}" ${message}`, { code: 'MP_TAP_CONFIG_INVALID', context: { path: key } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(key, 'must be a string, number or boolean');
}

function bool(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const t = text(raw, key)?.toLowerCase();
  if (t === undefined) return fallback;
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw invalid(key, `must be true or false, got "${t}"`);
}

function days(raw: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const t = text(raw, key);
  if (t === undefined) return fallback;
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) throw invalid(key, `must be a whole number of days from ${min} to ${max}, got "${t}"`);
  return Number(t);
}

/** An RFC 3339 timestamp or a date → its UTC calendar date. */
export function dateOfTimestamp(value: string): string | undefined {
  if (isDate(value)) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, 10);
}

function eventNames(raw: Record<string, unknown>): string | undefined {
  const v = raw['export_events'];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '')) return v.length === 0 ? undefined : JSON.stringify(v);
  throw invalid('export_events', 'must be a list of event names, e.g. ["event_one", "event_two"]');
}

function auth(raw: Record<string, unknown>): MixpanelAuth {
  const username = text(raw, 'service_account_username');
  const secret = text(raw, 'service_account_secret');
  const projectText = text(raw, 'project_id');
  const projectId = projectText === undefined ? undefined : Number(projectText);
  if (projectText !== undefined && (!/^\d{1,15}$/.test(projectText) || projectId === 0)) throw invalid('project_id', 'must be the numeric project id');
  if (username !== undefined || secret !== undefined) {
    if (username === undefined || secret === undefined || projectId === undefined) {
      throw invalid('service_account_username', 'needs service_account_secret and project_id too (or use api_secret)');
    }
    return { kind: 'service_account', username, secret, projectId };
  }
  const apiSecret = text(raw, 'api_secret');
  if (apiSecret === undefined) throw invalid('api_secret', 'is missing: set the project API secret (Project Settings → Access Keys), or service_account_username + service_account_secret + project_id');
  return projectId === undefined ? { kind: 'api_secret', secret: apiSecret } : { kind: 'api_secret', secret: apiSecret, projectId };
}

/** Parse the tap's config.json object. `env` supplies MIXPANEL_BASE_URL (and MIXPANEL_LEGACY_LOCAL_TIME, MIXPANEL_REGION). */
export function parseTapConfig(raw: unknown, env: Readonly<Record<string, string | undefined>>, options: ParseTapConfigOptions = {}): TapConfig {
  if (!isObject(raw)) throw new ConfigError('config.json must hold one JSON object (the tap config)', { code: 'MP_TAP_CONFIG_INVALID', context: { path: '$' } });
  const warnings: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) warnings.push(`config.json: unknown key "${key}" ignored`);
    else if (IGNORED[key] !== undefined && raw[key] !== undefined && raw[key] !== null && raw[key] !== '') warnings.push(`config.json: "${key}" accepted and ignored: ${IGNORED[key]}`);
  }
  const timezone = text(raw, 'project_timezone') ?? 'UTC';
  if (!IANAZone.isValidZone(timezone)) throw invalid('project_timezone', `must be an IANA zone such as UTC or US/Pacific, got "${timezone}"`);
  const startText = text(raw, 'start_date');
  const startDate = startText === undefined ? undefined : dateOfTimestamp(startText);
  if (startText !== undefined && startDate === undefined) throw invalid('start_date', `must be an RFC 3339 timestamp such as 2019-01-01T00:00:00Z, got "${startText}"`);
  const endText = text(raw, 'end_date');
  const endDate = endText === undefined ? undefined : dateOfTimestamp(endText);
  if (endText !== undefined && endDate === undefined) throw invalid('end_date', `must be an RFC 3339 timestamp such as 2024-06-30T00:00:00Z, got "${endText}"`);
  if (endDate !== undefined) warnings.push('config.json: "end_date" applies to the export stream only');
  if (startDate !== undefined && endDate !== undefined && endDate < startDate) {
    throw invalid('end_date', `(${endDate}) is before "start_date" (${startDate}): set the last date to read on or after the first, or remove "end_date"`);
  }
  const userAgent = text(raw, 'user_agent');
  const windowDays = days(raw, 'date_window_size', 30, 1, 365);
  const attributionDays = days(raw, 'attribution_window', 5, 0, 365);
  const eu = bool(raw, 'eu_residency', false) || bool(raw, 'eu_residency_server', false);
  const naming = text(raw, 'property_naming') ?? 'mp_reserved';
  if (naming !== 'mp_reserved' && naming !== 'stripped') throw invalid('property_naming', `must be mp_reserved (the tap's names) or stripped (the lakehouse column names), got "${naming}"`);

  // The base URL, region, legacy-time flag and history depth come from the environment (validated by the source's
  // own parser); credentials and the zone come from config.json, so the env parser gets a placeholder secret that
  // is replaced right below and never used.
  const fromEnv = mixpanelConfigFromEnv({
    MIXPANEL_BASE_URL: env['MIXPANEL_BASE_URL'],
    MIXPANEL_REGION: env['MIXPANEL_REGION'],
    MIXPANEL_LEGACY_LOCAL_TIME: env['MIXPANEL_LEGACY_LOCAL_TIME'],
    MIXPANEL_HISTORICAL_DAYS: env['MIXPANEL_HISTORICAL_DAYS'],
    MIXPANEL_API_SECRET: 'placeholder',
  });
  if (startDate !== undefined) {
    // Dates are read in UTC, or in the project zone for legacy projects (MIXPANEL_LEGACY_LOCAL_TIME).
    const zone = fromEnv.legacyLocalTime ? timezone : 'UTC';
    const today = dateInZone(options.nowMs ?? Date.now(), zone);
    if (startDate > today) {
      throw invalid(
        'start_date',
        `is in the future (${startText ?? startDate}; today is ${today} in ${zone}): nothing would ever be read from it. Set the first date to read, on or before today, or remove "start_date" to read MIXPANEL_HISTORICAL_DAYS back from today`,
      );
    }
  }
  const mixpanel: MixpanelConfig = {
    ...fromEnv,
    auth: auth(raw),
    projectTimezone: timezone,
    region: eu ? 'EU' : fromEnv.region,
    ...(userAgent === undefined ? {} : { userAgent: validUserAgent(userAgent, 'config.json: "user_agent"') }),
  };

  const start: Record<string, string> = startDate === undefined ? {} : { start_date: startDate };
  const exportEvents = eventNames(raw);
  const tableOptions: Record<string, TableOptions> = {
    events: { ...start, window_days: String(windowDays), lookback_days: String(attributionDays), ...(exportEvents === undefined ? {} : ({ export_events: exportEvents } as Record<string, string>)), ...(endDate === undefined ? {} : { end_date: endDate }) },
    funnels: { ...start, date_window_size: String(windowDays), attribution_window: String(attributionDays) },
    revenue: { ...start, date_window_size: String(windowDays), attribution_window: String(attributionDays) },
    annotations: { ...start },
  };
  return {
    mixpanel,
    tableOptions,
    settings: { denestProperties: bool(raw, 'denest_properties', true), selectPropertiesByDefault: bool(raw, 'select_properties_by_default', true), propertyNaming: naming, attributionDays },
    warnings,
    names: { regionFromEnv: !eu && env['MIXPANEL_REGION'] !== undefined && env['MIXPANEL_REGION'].trim() !== '' },
  };
}

/** A tap bookmark (an RFC 3339 timestamp) → the start date that re-reads the attribution window behind it. */
export function startDateOfTapBookmark(bookmark: string, attributionDays: number): string | undefined {
  const date = dateOfTimestamp(bookmark);
  return date === undefined ? undefined : addDays(date, -attributionDays);
}
