/**
 * Standard Mixpanel properties → typed flat columns, declared in one table per record kind (events, people),
 * plus the pure converters (one per Arrow type; a value that does not fit is reported, never cast) and
 * `splitProperties`, which sends everything else to `custom_properties` as JSON text.
 *
 * Column name = property name without a leading `$`, except where that would be an SQL reserved word or clash
 * with a core column (`$import` → `is_import`).
 */
import { Bool, Field, Float64, Int64, Utf8, type DataType } from 'apache-arrow';
import { timestampMsUtc } from '../../connector-spec/index.js';
import { stringifyJson } from './json.js';

export type PropertyKind = 'utf8' | 'int64' | 'float64' | 'bool' | 'timestamp';

export interface StandardProperty {
  /** The Mixpanel property name, e.g. `$browser`. */
  readonly property: string;
  /** The flat column name, e.g. `browser`. */
  readonly column: string;
  readonly kind: PropertyKind;
}

/** A column value for one kind: string, number | bigint (int64), number (float64), boolean, epoch ms (timestamp). */
export type ConvertResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

const MISFIT: ConvertResult<never> = Object.freeze({ ok: false });

// ---- converters (pure: no I/O, no clock, no logging) ----

export function toUtf8(raw: unknown): ConvertResult<string> {
  return typeof raw === 'string' ? { ok: true, value: raw } : MISFIT;
}

/** Integers only (a safe-integer number or a bigint within int64); `12.5`, `"12"` do not fit. */
export function toInt64(raw: unknown): ConvertResult<number | bigint> {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? { ok: true, value: raw } : MISFIT;
  if (typeof raw === 'bigint') return raw >= -(2n ** 63n) && raw < 2n ** 63n ? { ok: true, value: raw } : MISFIT;
  return MISFIT;
}

/** Finite numbers whose double value is exact; a bigint (beyond 2^53) does not fit, `"17.1.2"` does not fit. */
export function toFloat64(raw: unknown): ConvertResult<number> {
  return typeof raw === 'number' && Number.isFinite(raw) ? { ok: true, value: raw } : MISFIT;
}

export function toBool(raw: unknown): ConvertResult<boolean> {
  return typeof raw === 'boolean' ? { ok: true, value: raw } : MISFIT;
}

export function toTimestamp(raw: unknown): ConvertResult<number> {
  const ms = parseLenientDatetime(raw);
  return ms === null ? MISFIT : { ok: true, value: ms };
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch seconds below this are read as seconds, above as milliseconds (1e11 s is the year 5138). */
const SECONDS_LIMIT = 100_000_000_000;

function fromEpochNumber(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  const ms = Math.abs(n) < SECONDS_LIMIT ? n * 1000 : n;
  const rounded = Math.round(ms);
  return Math.abs(rounded) <= 8.64e15 ? rounded : null;
}

/** Digit value of the character at `i`, or -1. */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function twoDigitsAt(text: string, i: number): number {
  const a = digitAt(text, i);
  const b = digitAt(text, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * The common form `YYYY-MM-DDTHH:MM:SS` (or with a space, or `t`) without the regex: the same result as the
 * general path, or undefined when the text is not exactly that shape (the general path decides).
 */
function plainDatetime(text: string): number | null | undefined {
  const sep = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  if (sep !== 84 && sep !== 32 && sep !== 116) return undefined;
  let year = 0;
  for (let i = 0; i < 4; i++) {
    const d = digitAt(text, i);
    if (d < 0) return undefined;
    year = year * 10 + d;
  }
  const month = twoDigitsAt(text, 5);
  const day = twoDigitsAt(text, 8);
  const hour = twoDigitsAt(text, 11);
  const minute = twoDigitsAt(text, 14);
  const second = twoDigitsAt(text, 17);
  if (month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (day > daysInMonth(year, month)) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days of `month` (1–12) in `year` as `Date.UTC` counts them (it reads years 0–99 as 1900–1999), without a Date
 * per value: the same answer as building the date and checking it did not roll over.
 */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1]!;
  const y = year < 100 ? 1900 + year : year;
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
}

/**
 * Lenient datetime → epoch ms (UTC) or null. Accepts ISO 8601 with or without `T` and zone (no zone = UTC, as
 * Mixpanel stores profile dates), `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, epoch seconds or ms as numbers or
 * numeric strings. Impossible dates (`2024-02-30`) are null. Never depends on the host's TZ.
 */
export function parseLenientDatetime(raw: unknown): number | null {
  if (typeof raw === 'number') return fromEpochNumber(raw);
  if (typeof raw === 'bigint') return null;
  if (typeof raw !== 'string') return null;
  if (raw.length === 19) {
    const fast = plainDatetime(raw);
    if (fast !== undefined) return fast;
  }
  const text = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return fromEpochNumber(Number(text));
  const m = DATETIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Number((frac + '000').slice(0, 3));
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
    utc -= sign * offsetMin * 60_000;
  }
  return utc;
}

/** What `convertValue` returns for a value that does not fit its kind. */
export const NO_FIT: unique symbol = Symbol('no fit');

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n;

/**
 * The converters without a result object (the hot path): the column value, or `NO_FIT`. Same rules as
 * `toUtf8` … `toTimestamp`.
 */
export function convertValue(kind: PropertyKind, raw: unknown): unknown {
  switch (kind) {
    case 'utf8':
      return typeof raw === 'string' ? raw : NO_FIT;
    case 'int64':
      if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : NO_FIT;
      if (typeof raw === 'bigint') return raw >= INT64_MIN && raw < INT64_MAX ? raw : NO_FIT;
      return NO_FIT;
    case 'float64':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : NO_FIT;
    case 'bool':
      return typeof raw === 'boolean' ? raw : NO_FIT;
    case 'timestamp': {
      const ms = parseLenientDatetime(raw);
      return ms === null ? NO_FIT : ms;
    }
  }
}

/** The converter of a kind, as one table (the visitor): kind → (raw) → result. */
export const CONVERTERS: Readonly<Record<PropertyKind, (raw: unknown) => ConvertResult<unknown>>> = Object.freeze({
  utf8: toUtf8,
  int64: toInt64,
  float64: toFloat64,
  bool: toBool,
  timestamp: toTimestamp,
});

export function arrowTypeOf(kind: PropertyKind): DataType {
  switch (kind) {
    case 'utf8':
      return new Utf8();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'timestamp':
      return timestampMsUtc();
  }
}

// ---- the standard-property tables ----

function stripped(property: string): string {
  return property.startsWith('$') ? property.slice(1) : property;
}

function props(kind: PropertyKind, names: readonly string[], rename: Readonly<Record<string, string>> = {}): StandardProperty[] {
  return names.map((property) => ({ property, column: rename[property] ?? stripped(property), kind }));
}

/** Event properties with a known type (mixpanel-api-notes.md §7.1, §7.2). `time`, `distinct_id`, `$insert_id`, `mp_processing_time_ms` are core columns. */
export const EVENT_PROPERTIES: readonly StandardProperty[] = Object.freeze([
  ...props('utf8', [
    '$city',
    '$region',
    'mp_country_code',
    '$mp_api_endpoint',
    '$device_id',
    '$user_id',
    'mp_lib',
    '$lib_version',
    'mp_sent_by_lib_version',
    '$os',
    '$os_version',
    '$browser',
    '$device',
    '$current_url',
    '$referrer',
    '$referring_domain',
    '$initial_referrer',
    '$initial_referring_domain',
    '$search_engine',
    'mp_keyword',
    'utm_source',
    'utm_medium',
    'utm_campaign',
    'utm_content',
    'utm_term',
    '$app_version_string',
    '$app_build_number',
    '$manufacturer',
    '$model',
    '$brand',
    '$carrier',
    '$radio',
    '$bluetooth_version',
  ]),
  ...props('int64', ['$mp_api_timestamp_ms', '$mp_event_size', '$screen_height', '$screen_width', '$screen_dpi']),
  ...props('float64', ['$browser_version', '$duration']),
  ...props('bool', ['$import', '$had_persisted_distinct_id', '$wifi', '$bluetooth_enabled', '$has_nfc', '$has_telephone'], { $import: 'is_import' }),
]);

/** User-profile properties with a known type (mixpanel-api-notes.md §7.3). `$distinct_id` is the engage key. */
export const PEOPLE_PROPERTIES: readonly StandardProperty[] = Object.freeze([
  ...props('utf8', [
    '$email',
    '$first_name',
    '$last_name',
    '$name',
    '$phone',
    '$avatar',
    '$city',
    '$region',
    '$country_code',
    '$timezone',
    '$geo_source',
    '$os',
    '$browser',
    '$initial_referrer',
    '$initial_referring_domain',
    'initial_utm_source',
    'initial_utm_medium',
    'initial_utm_campaign',
    'initial_utm_content',
    'initial_utm_term',
    '$android_lib_version',
    '$android_os',
    '$android_os_version',
    '$android_app_version',
    '$android_app_version_code',
    '$android_manufacturer',
    '$android_brand',
    '$android_model',
    '$ios_lib_version',
    '$swift_lib_version',
    '$ios_version',
    '$ios_app_release',
    '$ios_app_version',
    '$ios_device_model',
    '$lib_version',
  ]),
  ...props('float64', ['$browser_version']),
  ...props('timestamp', ['$created', '$last_seen', '$mp_first_event_time']),
]);

/** A standard-property table ready for lookups. */
export interface PropertyTable {
  readonly properties: readonly StandardProperty[];
  /** property name → index in `properties`. */
  readonly index: ReadonlyMap<string, number>;
  /** Arrow fields (nullable) in `properties` order. */
  readonly fields: readonly Field[];
}

/**
 * Build a lookup table. Throws TypeError on a duplicate property, a duplicate column, or a column that clashes
 * with one of `reservedColumns` (the record kind's core columns): checked once, at module load.
 */
export function propertyTable(properties: readonly StandardProperty[], reservedColumns: readonly string[]): PropertyTable {
  const index = new Map<string, number>();
  const columns = new Set(reservedColumns);
  properties.forEach((p, i) => {
    if (index.has(p.property)) throw new TypeError(`standard property ${p.property} declared twice`);
    if (columns.has(p.column)) throw new TypeError(`standard property ${p.property}: column ${p.column} clashes`);
    if (!/^[a-z][a-z0-9_]*$/.test(p.column)) throw new TypeError(`standard property ${p.property}: column ${p.column} is not snake_case`);
    index.set(p.property, i);
    columns.add(p.column);
  });
  return Object.freeze({
    properties,
    index,
    fields: Object.freeze(properties.map((p) => new Field(p.column, arrowTypeOf(p.kind), true))),
  });
}

export type CustomEntry = readonly [string, string | null];

export interface SplitResult {
  /** One value per standard property (table order), null when absent or when it did not fit. */
  readonly values: unknown[];
  /** Every other property, and every misfit, as [name, JSON text]; source order kept. */
  readonly custom: CustomEntry[];
  /** Names of standard properties whose value did not fit their type (kept raw in `custom`). */
  readonly misfits: string[];
}

/** Where `splitPropertiesInto` appends custom entries: parallel key and JSON-text arrays (flat, batch-wide). */
export interface CustomSink {
  readonly keys: string[];
  readonly values: string[];
}

/**
 * Split one record's properties into typed standard columns and `custom_properties`, writing the typed values
 * into `columns[i][row]` and appending every other property (and every misfit) to `custom` as [name, JSON text],
 * in source order. No per-row allocation. Keys in `skip` are ignored (the caller maps them to core columns).
 * A standard property whose value is `null` stays in `custom_properties` as `null` (so "present but null"
 * survives). `plainJson`: the record holds no bigint or LosslessNumber (parsed by `JSON.parse`), so
 * `JSON.stringify` is exact. Returns the number of misfits; their names are appended to `misfits` when given.
 */
export function splitPropertiesInto(
  props: Readonly<Record<string, unknown>>,
  table: PropertyTable,
  skip: ReadonlySet<string> | undefined,
  columns: unknown[][],
  row: number,
  custom: CustomSink,
  misfits?: string[],
  plainJson = false,
): number {
  let misfitCount = 0;
  const { index, properties } = table;
  for (const key of Object.keys(props)) {
    if (skip !== undefined && skip.has(key)) continue;
    const value = props[key];
    const i = index.get(key);
    if (i !== undefined && value !== null && value !== undefined) {
      const converted = convertValue(properties[i]!.kind, value);
      if (converted !== NO_FIT) {
        columns[i]![row] = converted;
        continue;
      }
      misfitCount++;
      misfits?.push(key);
    }
    custom.keys.push(key);
    custom.values.push(plainJson || typeof value === 'string' ? (JSON.stringify(value) ?? 'null') : stringifyJson(value));
  }
  return misfitCount;
}

/** Split one record (engage, groups): typed values per standard property, custom entries, misfit names. */
export function splitProperties(props: Readonly<Record<string, unknown>>, table: PropertyTable, skip?: ReadonlySet<string>): SplitResult {
  const columns = table.properties.map(() => [null] as unknown[]);
  const sink: CustomSink = { keys: [], values: [] };
  const misfits: string[] = [];
  splitPropertiesInto(props, table, skip, columns, 0, sink, misfits);
  return { values: columns.map((c) => c[0] ?? null), custom: sink.keys.map((k, i) => [k, sink.values[i]!] as const), misfits };
}

/** Core columns of the events table (no standard property may take these names). */
export const EVENT_CORE_COLUMNS: readonly string[] = Object.freeze([
  'dedupe_key',
  'event',
  'insert_id',
  'insert_id_missing',
  'distinct_id',
  'time',
  'time_raw',
  'time_flag',
  'event_date',
  'mp_processing_time_ms',
  'custom_properties',
  'properties',
]);

export const EVENT_PROPERTY_TABLE: PropertyTable = propertyTable(EVENT_PROPERTIES, EVENT_CORE_COLUMNS);

/** Core columns an engage-like table keeps for itself. */
export const PEOPLE_CORE_COLUMNS: readonly string[] = Object.freeze(['distinct_id', 'custom_properties', 'properties']);

export const PEOPLE_PROPERTY_TABLE: PropertyTable = propertyTable(PEOPLE_PROPERTIES, PEOPLE_CORE_COLUMNS);
