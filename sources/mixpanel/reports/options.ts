/**
 * Table options of the date-keyed report tables (funnels, revenue, annotations), named as the Singer tap names its
 * config keys: `date_window_size`, `attribution_window`, `start_date`. Parsed synchronously; errors name the fix.
 */
import { ConfigError, type TableOptionSpec, type TableOptions } from '../../../connector-spec/index.js';
import { isDate } from '../events/dates.js';

export interface ReportOptions {
  /** Days per request (the tap's `date_window_size`). */
  readonly windowDays: number;
  /** Days re-read behind the last date read, to pick up late data (the tap's `attribution_window`). */
  readonly attributionDays: number;
  /** First date of the first run; default: today − MIXPANEL_HISTORICAL_DAYS. */
  readonly startDate: string | undefined;
}

export const DATE_WINDOW_SIZE: TableOptionSpec = Object.freeze({
  name: 'date_window_size',
  description: 'Days per Mixpanel request (the tap\'s date_window_size); one readTable call reads one window.',
  default: '30',
});
export const ATTRIBUTION_WINDOW: TableOptionSpec = Object.freeze({
  name: 'attribution_window',
  description: 'Days re-read behind the last date read on every run, so late-attributed numbers are updated (the tap\'s attribution_window).',
  default: '5',
});
export const START_DATE: TableOptionSpec = Object.freeze({
  name: 'start_date',
  description: 'First date (YYYY-MM-DD) read by the first run; default today − MIXPANEL_HISTORICAL_DAYS.',
});

export const REPORT_OPTION_SPECS: readonly TableOptionSpec[] = Object.freeze([DATE_WINDOW_SIZE, ATTRIBUTION_WINDOW, START_DATE]);
export const SNAPSHOT_OPTION_SPECS: readonly TableOptionSpec[] = Object.freeze([START_DATE]);

function invalid(table: string, option: string, message: string): ConfigError {
  return new ConfigError(`table ${table}: option ${option} ${message}`, { code: 'MP_BAD_TABLE_OPTION', context: { table, option } });
}

function wholeNumber(options: TableOptions, table: string, name: string, fallback: number, min: number, max: number): number {
  const text = options[name];
  if (text === undefined || text.trim() === '') return fallback;
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) throw invalid(table, name, `must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(t);
}

export function parseStartDate(options: TableOptions, table: string): string | undefined {
  const text = options['start_date']?.trim();
  if (text === undefined || text === '') return undefined;
  if (!isDate(text)) throw invalid(table, 'start_date', `must be a date YYYY-MM-DD, got "${text}"`);
  return text;
}

/** Reject keys the table does not declare, then parse. */
export function parseReportOptions(options: TableOptions, table: string, specs: readonly TableOptionSpec[]): ReportOptions {
  const known = specs.map((s) => s.name);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConfigError(`table ${table}: unknown option "${key}"; valid options: ${known.join(', ') || '(none)'}`, {
        code: 'MP_UNKNOWN_TABLE_OPTION',
        context: { table, option: key },
      });
    }
  }
  return {
    // Mixpanel's query API refuses ranges over 365 days.
    windowDays: wholeNumber(options, table, 'date_window_size', 30, 1, 365),
    attributionDays: wholeNumber(options, table, 'attribution_window', 5, 0, 365),
    startDate: parseStartDate(options, table),
  };
}
