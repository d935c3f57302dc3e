/** The events table options (strings from `table_configuration`), parsed and validated synchronously. */
import { ConfigError, type TableOptionSpec, type TableOptions } from '../../../connector-spec/index.js';
import { isDate } from './dates.js';

export type IncrementalMode = 'processing_watermark' | 'attribution_window';

export interface EventsOptions {
  readonly lookbackDays: number;
  readonly safetyLagMs: number;
  readonly windowDays: number;
  readonly exportEvents: readonly string[] | undefined;
  readonly where: string | undefined;
  readonly mode: IncrementalMode;
  readonly attributionWindowDays: number;
  readonly startDate: string | undefined;
}

export const EVENTS_OPTION_SPECS: readonly TableOptionSpec[] = Object.freeze([
  { name: 'lookback_days', description: 'Event dates re-scanned behind the processing watermark, to catch late events (days).', default: '5' },
  { name: 'safety_lag', description: 'Minutes behind "now" the watermark stops, so events still being processed are read next run.', default: '10' },
  { name: 'window_days', description: 'Maximum event days per export call (one slice per readTable call).', default: '30' },
  { name: 'export_events', description: 'Only these event names: a comma-separated list or a JSON array.' },
  { name: 'where', description: 'A Mixpanel segmentation expression AND-ed with the slice filter, e.g. properties["$os"] == "iOS".' },
  {
    name: 'incremental_mode',
    description: 'processing_watermark (read only events processed since the last run) or attribution_window (re-read the last attribution_window days in full).',
    default: 'processing_watermark',
  },
  { name: 'attribution_window', description: 'Days re-read in full by incremental_mode=attribution_window.', default: '5' },
  { name: 'start_date', description: 'First event date (YYYY-MM-DD) of the first run; overrides MIXPANEL_HISTORICAL_DAYS.' },
]);

function invalid(option: string, message: string): ConfigError {
  return new ConfigError(`Table option ${option} of events ${message}`, { code: 'MP_EVENTS_OPTION_INVALID', context: { table: 'events', path: option } });
}

function wholeNumber(options: TableOptions, name: string, fallback: number, min: number, max: number): number {
  const text = options[name];
  if (text === undefined || text.trim() === '') return fallback;
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) throw invalid(name, `must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(t);
}

function eventNames(text: string | undefined): readonly string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const t = text.trim();
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      throw invalid('export_events', 'is not a valid JSON array: write ["Sign up","Purchase"] or Sign up,Purchase');
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((v) => typeof v === 'string' && v !== '')) {
      throw invalid('export_events', 'must be a non-empty JSON array of event names');
    }
    return parsed as string[];
  }
  const names = t.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw invalid('export_events', 'lists no event name');
  return names;
}

/** Parse the options; throws ConfigError naming the option and the fix. */
export function parseEventsOptions(options: TableOptions): EventsOptions {
  const modeText = (options['incremental_mode'] ?? '').trim() || 'processing_watermark';
  if (modeText !== 'processing_watermark' && modeText !== 'attribution_window') {
    throw invalid('incremental_mode', `must be processing_watermark or attribution_window, got "${modeText}"`);
  }
  const startDate = options['start_date']?.trim() || undefined;
  if (startDate !== undefined && !isDate(startDate)) throw invalid('start_date', `must be a date YYYY-MM-DD, got "${startDate}"`);
  const where = options['where']?.trim() || undefined;
  if (where !== undefined && /[\r\n]/.test(where)) throw invalid('where', 'must be one line');
  return {
    lookbackDays: wholeNumber(options, 'lookback_days', 5, 0, 3650),
    safetyLagMs: wholeNumber(options, 'safety_lag', 10, 0, 7 * 24 * 60) * 60_000,
    windowDays: wholeNumber(options, 'window_days', 30, 1, 366),
    exportEvents: eventNames(options['export_events']),
    where,
    mode: modeText,
    attributionWindowDays: wholeNumber(options, 'attribution_window', 5, 0, 3650),
    startDate,
  };
}
