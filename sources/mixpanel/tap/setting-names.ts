/**
 * Singer mode speaks config.json: the connector's messages name environment variables (`MIXPANEL_API_SECRET`),
 * table options (`table_configuration.start_date of events`) and runner flags (`--full-refresh events`), but a tap
 * user set those values in config.json keys (`api_secret`, `start_date`, …) and keeps bookmarks in a state file.
 * Every message Singer mode prints (errors and log lines alike) goes through `inConfigJsonTerms`, so it names what
 * the user set. Names whose values still come from the environment in Singer mode (MIXPANEL_BASE_URL,
 * MIXPANEL_LEGACY_LOCAL_TIME, MIXPANEL_HISTORICAL_DAYS, and MIXPANEL_REGION when it is set) are left as they are.
 */
import type { Logger } from '../../../connector-spec/index.js';
import { TAP_STREAMS } from './streams.js';

export interface TapSettingNames {
  /** MIXPANEL_REGION is set in the environment (it wins over config.json's eu_residency when eu_residency is false). */
  readonly regionFromEnv: boolean;
}

/** Connector environment variables → the config.json key holding the same setting in Singer mode. */
const ENV_KEYS: Readonly<Record<string, string>> = {
  MIXPANEL_API_SECRET: 'api_secret',
  MIXPANEL_USERNAME: 'service_account_username',
  MIXPANEL_SECRET: 'service_account_secret',
  MIXPANEL_PROJECT_ID: 'project_id',
  MIXPANEL_PROJECT_TIMEZONE: 'project_timezone',
  MIXPANEL_USER_AGENT: 'user_agent',
};

/** Table options per table → the config.json key the tap maps onto them (`tap/config.ts`). */
const OPTION_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  events: { start_date: 'start_date', end_date: 'end_date', window_days: 'date_window_size', lookback_days: 'attribution_window', export_events: 'export_events' },
  funnels: { start_date: 'start_date', date_window_size: 'date_window_size', attribution_window: 'attribution_window' },
  revenue: { start_date: 'start_date', date_window_size: 'date_window_size', attribution_window: 'attribution_window' },
  annotations: { start_date: 'start_date' },
};

function key(name: string): string {
  return `config.json "${name}"`;
}

function region(value: string | undefined, names: TapSettingNames): string | undefined {
  if (names.regionFromEnv) return undefined;
  if (value === undefined) return key('eu_residency');
  if (value === 'EU') return `${key('eu_residency')}: true`;
  if (value === 'US') return `${key('eu_residency')}: false`;
  return undefined; // IN: no config.json key; the environment variable stays the way to set it
}

/** A connector message in the words of a Singer user. */
export function inConfigJsonTerms(message: string, names: TapSettingNames): string {
  return (
    message
      // Runner flags: a tap re-reads a stream by dropping its bookmark.
      .replace(/--full-refresh (\w+)/g, (whole, table: string) => {
        const stream = TAP_STREAMS.find((s) => s.table === table)?.stream;
        return stream === undefined ? whole : `delete the "${stream}" bookmark from the state file`;
      })
      // Table options the tap fills from config.json keys.
      .replace(/table_configuration\.(\w+) of (\w+)|table (\w+): option (\w+)/g, (whole, o1?: string, t1?: string, t2?: string, o2?: string) => {
        const name = OPTION_KEYS[t1 ?? t2 ?? '']?.[o1 ?? o2 ?? ''];
        return name === undefined ? whole : key(name);
      })
      .replace(/\bMIXPANEL_REGION(?:=(US|EU|IN)\b)?(?: \(now (US|EU|IN)\))?/g, (whole, set?: string, now?: string) => {
        const named = region(set, names);
        if (named === undefined) return whole;
        return now === undefined ? named : `${named} (now ${now === 'EU' ? 'true' : 'false'})`;
      })
      .replace(/\bMIXPANEL_[A-Z_]+\b/g, (name) => (ENV_KEYS[name] === undefined ? name : key(ENV_KEYS[name])))
  );
}

/** A logger whose every message (and string field) is put in config.json terms before `inner` writes it. */
export function configJsonLogger(inner: Logger, names: () => TapSettingNames): Logger {
  const fields = (f: Readonly<Record<string, unknown>> | undefined): Readonly<Record<string, unknown>> | undefined =>
    f === undefined ? undefined : Object.fromEntries(Object.entries(f).map(([k, v]) => [k, typeof v === 'string' ? inConfigJsonTerms(v, names()) : v]));
  return {
    debug: (m, f) => inner.debug(inConfigJsonTerms(m, names()), fields(f)),
    info: (m, f) => inner.info(inConfigJsonTerms(m, names()), fields(f)),
    warn: (m, f) => inner.warn(inConfigJsonTerms(m, names()), fields(f)),
    error: (m, f) => inner.error(inConfigJsonTerms(m, names()), fields(f)),
  };
}
