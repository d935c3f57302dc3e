/** The events table options (strings from `table_configuration`), parsed and validated synchronously. */
import { ConfigError, type TableOptionSpec, type TableOptions } from '../../../connector-spec/index.js';
import { EVENT_PROPERTIES } from '../properties.js';
import { isDate } from './dates.js';
import { eventColumnsFor, type EventColumns } from './schema.js';
import { parseWhere, WhereSyntaxError } from '../where/parse.js';
import { printWhere } from '../where/print.js';

export type IncrementalMode = 'processing_watermark' | 'attribution_window';

export interface EventsOptions {
  readonly lookbackDays: number;
  readonly safetyLagMs: number;
  readonly windowDays: number;
  /** Most export lines one call reads before it is re-planned smaller (`max_events_per_call`); null = no limit. */
  readonly maxEventsPerCall: number | null;
  readonly exportEvents: readonly string[] | undefined;
  /**
   * The user's `where`, parsed and re-serialised from its tree (`printWhere`): one well-formed expression that the
   * slice filter AND-s as a single parenthesised term. Never the raw option text.
   */
  readonly where: CanonicalWhere | undefined;
  readonly mode: IncrementalMode;
  readonly attributionWindowDays: number;
  readonly startDate: string | undefined;
  /** Last event date read (inclusive), `end_date`; undefined = up to today. */
  readonly endDate: string | undefined;
  /** The standard properties typed as columns (all of them unless select_properties_by_default=false). */
  readonly columns: EventColumns;
}

export const EVENTS_OPTION_SPECS: readonly TableOptionSpec[] = Object.freeze([
  { name: 'lookback_days', description: 'Event dates re-scanned behind the processing watermark, to catch late events (days).', default: '5' },
  { name: 'safety_lag', description: 'Minutes behind "now" the watermark stops, so events still being processed are read next run.', default: '10' },
  { name: 'window_days', description: 'Maximum event days per export call (one slice per readTable call).', default: '30' },
  {
    name: 'max_events_per_call',
    description:
      'Most export lines one call reads (a bound on its memory and staging disk): a call that reads more is discarded and its slice re-planned into parts sized from the events it saw (days, then hours). 0 = no limit.',
    default: '5000000',
  },
  { name: 'export_events', description: 'Only these event names: a comma-separated list or a JSON array.' },
  {
    name: 'where',
    description: 'A Mixpanel segmentation expression, e.g. properties["$os"] == "iOS": parsed (an invalid one is rejected before any call) and AND-ed with the slice filter as one parenthesised term.',
  },
  {
    name: 'incremental_mode',
    description: 'processing_watermark (read only events processed since the last run) or attribution_window (re-read the last attribution_window days in full).',
    default: 'processing_watermark',
  },
  { name: 'attribution_window', description: 'Days re-read in full by incremental_mode=attribution_window.', default: '5' },
  {
    name: 'start_date',
    description: 'First event date (YYYY-MM-DD) of the first run; overrides MIXPANEL_HISTORICAL_DAYS. A date after today is rejected; a later change warns (the cursor keeps the date it began at: use --full-refresh).',
  },
  {
    name: 'select_properties_by_default',
    description: 'true: every standard property is a typed column. false: only those named in properties are; the others stay raw in custom_properties.',
    default: 'true',
  },
  { name: 'properties', description: 'With select_properties_by_default=false: the standard properties typed as columns, e.g. $browser,$os,mp_country_code or a JSON array.' },
  { name: 'end_date', description: 'Last event date read (YYYY-MM-DD, inclusive); the table stops changing once the re-scan window has passed it.' },
]);

/** `max_events_per_call` by default: bench runs of this many rows a call peaked at 313–407 MiB (README "Measured", I and J). */
export const DEFAULT_MAX_EVENTS_PER_CALL = 5_000_000;

/** A `where` expression as `printWhere` wrote it from a parsed tree (only `userWhere` makes one). */
export type CanonicalWhere = string & { readonly __canonicalWhere: true };

/** A short excerpt of `text` with ▶ before the 1-based `position`, on one line, for messages. */
function near(text: string, position: number): string {
  const at = position - 1;
  const from = Math.max(0, at - 16);
  const to = Math.min(text.length, at + 12);
  const excerpt = `${from > 0 ? '…' : ''}${text.slice(from, at)}▶${text.slice(at, to)}${to < text.length ? '…' : ''}`;
  return excerpt.replace(/[\r\n\t\u2028\u2029]/g, ' ');
}

/** The `where` option: parsed with Mixpanel's expression grammar (rejected with the position and the fix), then re-serialised. */
export function userWhere(text: string | undefined): CanonicalWhere | undefined {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '') return undefined;
  try {
    return printWhere(parseWhere(trimmed)) as CanonicalWhere;
  } catch (error) {
    if (!(error instanceof WhereSyntaxError)) throw error;
    const excerpt = ` (${near(trimmed, error.position)})`;
    throw invalid('where', `is not a valid Mixpanel segmentation expression: ${error.reason} at character ${error.position}${excerpt}; ${error.fix}`);
  }
}

/** Mixpanel properties that are core columns whatever the selection (accepted in `properties`, no effect). */
const CORE_PROPERTY_NAMES: readonly string[] = Object.freeze(['time', 'distinct_id', '$insert_id', 'mp_processing_time_ms']);

const STANDARD_NAMES: ReadonlySet<string> = new Set(EVENT_PROPERTIES.map((p) => p.property));

/** A bad option: the message names `table_configuration.<option>` (the runner prefixes the spec path) and the fix. */
function invalid(option: string, message: string): ConfigError {
  return new ConfigError(`table_configuration.${option} of events ${message}`, {
    code: 'MP_EVENTS_OPTION_INVALID',
    context: { table: 'events', path: `table_configuration.${option}`, option },
  });
}

function wholeNumber(options: TableOptions, name: string, fallback: number, min: number, max: number): number {
  const text = options[name];
  if (text === undefined || text.trim() === '') return fallback;
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) throw invalid(name, `must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(t);
}

/** A comma list or a JSON array of names (`what` = "event name", `example` = both spellings for the message). */
function nameList(option: string, text: string | undefined, what: string, example: string): readonly string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const t = text.trim();
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      throw invalid(option, `is not a valid JSON array: write ${example}`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((v) => typeof v === 'string' && v !== '')) {
      throw invalid(option, `must be a non-empty JSON array of ${what}s`);
    }
    return parsed as string[];
  }
  const names = t.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw invalid(option, `lists no ${what}`);
  return names;
}

function eventNames(text: string | undefined): readonly string[] | undefined {
  return nameList('export_events', text, 'event name', '["Sign up","Purchase"] or Sign up,Purchase');
}

function boolOption(options: TableOptions, name: string, fallback: boolean): boolean {
  const t = options[name]?.trim().toLowerCase();
  if (t === undefined || t === '') return fallback;
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw invalid(name, `must be true or false, got "${options[name]}"`);
}

/** A hint for a near miss: `browser` → `$browser`, a column name such as `is_import` → `$import`. */
function suggestion(name: string): string {
  const byColumn = EVENT_PROPERTIES.find((p) => p.column === name || p.property === `$${name}`);
  return byColumn === undefined ? '' : ` (did you mean ${byColumn.property}?)`;
}

/** `select_properties_by_default` + `properties` → the column set, validated; resolved once per read. */
function selectedColumns(options: TableOptions): EventColumns {
  const selectAll = boolOption(options, 'select_properties_by_default', true);
  const names = nameList('properties', options['properties'], 'property name', '["$browser","$os"] or $browser,$os');
  if (selectAll) {
    if (names !== undefined) throw invalid('properties', 'has an effect only with select_properties_by_default=false: set that option to false, or remove properties');
    return eventColumnsFor(undefined);
  }
  const selected = new Set<string>();
  for (const name of names ?? []) {
    if (STANDARD_NAMES.has(name)) selected.add(name);
    else if (!CORE_PROPERTY_NAMES.includes(name)) {
      throw invalid(
        'properties',
        `names "${name}", which is not a standard event property${suggestion(name)}: use Mixpanel property names from ${[...STANDARD_NAMES].join(', ')} (${CORE_PROPERTY_NAMES.join(', ')} are always columns; every other property stays in custom_properties)`,
      );
    }
  }
  return eventColumnsFor(selected);
}

/**
 * The checks that need the run's clock (`today` = the run's date in `zone`, the zone export dates are read in): a
 * `start_date` after today would read nothing, and a cursor begun there would keep reading nothing after the
 * option is corrected. Throws ConfigError naming the option.
 */
export function checkEventsDates(options: EventsOptions, today: string, zone: string): void {
  if (options.startDate !== undefined && options.startDate > today) {
    throw invalid(
      'start_date',
      `is in the future (${options.startDate}; today is ${today} in ${zone}, the zone Mixpanel reads export dates in): set the first event date to read, on or before ${today}, or remove start_date to read MIXPANEL_HISTORICAL_DAYS back from today`,
    );
  }
}

/** Parse the options; throws ConfigError naming the option and the fix. */
export function parseEventsOptions(options: TableOptions): EventsOptions {
  const modeText = (options['incremental_mode'] ?? '').trim() || 'processing_watermark';
  if (modeText !== 'processing_watermark' && modeText !== 'attribution_window') {
    throw invalid('incremental_mode', `must be processing_watermark or attribution_window, got "${modeText}"`);
  }
  const startDate = options['start_date']?.trim() || undefined;
  if (startDate !== undefined && !isDate(startDate)) throw invalid('start_date', `must be a date YYYY-MM-DD, got "${startDate}"`);
  const endDate = options['end_date']?.trim() || undefined;
  if (endDate !== undefined && !isDate(endDate)) throw invalid('end_date', `must be a date YYYY-MM-DD (the last event date read, inclusive), got "${endDate}"`);
  if (endDate !== undefined && startDate !== undefined && endDate < startDate) throw invalid('end_date', `must be on or after start_date (${startDate}), got "${endDate}"`);
  const where = userWhere(options['where']);
  return {
    lookbackDays: wholeNumber(options, 'lookback_days', 5, 0, 3650),
    safetyLagMs: wholeNumber(options, 'safety_lag', 10, 0, 7 * 24 * 60) * 60_000,
    windowDays: wholeNumber(options, 'window_days', 30, 1, 366),
    maxEventsPerCall: wholeNumber(options, 'max_events_per_call', DEFAULT_MAX_EVENTS_PER_CALL, 0, Number.MAX_SAFE_INTEGER) || null,
    exportEvents: eventNames(options['export_events']),
    where,
    mode: modeText,
    attributionWindowDays: wholeNumber(options, 'attribution_window', 5, 0, 3650),
    startDate,
    endDate,
    columns: selectedColumns(options),
  };
}
