/**
 * `pipeline_spec.json` in the Lakeflow shape (lakeflow-notes.md §2.1): unknown keys are rejected with
 * their JSON path; malformed JSON, duplicate keys and YAML with file:line:column (a UTF-8 BOM is accepted); a
 * destination table name must be safe as a folder and a warehouse identifier and not reserved
 * (`connector-spec/reserved-tables.ts`); every message names the fix.
 * Reserved `table_configuration` keys (`scd_type`, `primary_keys`, `sequence_by`) drive the runner;
 * every other key becomes a string table option for the source.
 */
import { basename } from 'node:path';
import { ConfigError, tableNameProblem, type LakeflowSource, type TableOptions } from '../connector-spec/index.js';
import { lineColumn, looksLikeYaml, scanJson } from './spec-json.js';

export type ScdType = 'SCD_TYPE_1' | 'SCD_TYPE_2' | 'APPEND_ONLY';
export const SCD_TYPES: readonly ScdType[] = ['SCD_TYPE_1', 'SCD_TYPE_2', 'APPEND_ONLY'];
export const RESERVED_TABLE_KEYS = ['scd_type', 'primary_keys', 'sequence_by', 'every'] as const;

export interface TableSpec {
  readonly sourceTable: string;
  /** Folder name under the lakehouse; defaults to `sourceTable`. */
  readonly destinationTable: string;
  readonly scdType?: ScdType;
  readonly primaryKeys?: readonly string[];
  readonly sequenceBy?: readonly string[];
  /** `every`: a run skips the table until this long after it last ran (snapshot and report tables: Mixpanel's budgets). */
  readonly everyMs?: number;
  /** Non-reserved `table_configuration` keys, as strings, for the source. */
  readonly tableOptions: TableOptions;
  /** JSON path of this entry in the spec, for messages (`objects[0].table`). */
  readonly path: string;
}

export interface PipelineSpec {
  readonly file: string;
  readonly connectionName: string;
  readonly objects: readonly TableSpec[];
}

const TOP_KEYS = ['connection_name', 'objects'];
const OBJECT_KEYS = ['table'];
const TABLE_KEYS = ['source_table', 'destination_table', 'table_configuration'];
const UNSUPPORTED_TABLE_KEYS = new Set(['destination_catalog', 'destination_schema']);

function fail(file: string, path: string, message: string, code: string): never {
  throw new ConfigError(`${file}: ${path === '' ? '' : `${path}: `}${message}`, { code, context: { path: path === '' ? '$' : path } });
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** "did you mean X?" for the closest candidate, else the list of valid names. */
export function suggest(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const a = name.toLowerCase();
    const b = c.toLowerCase();
    // Also compare with the candidate's prefix, so a truncated or misspelt start still finds it.
    const d = Math.min(levenshtein(a, b), a.length >= 4 ? levenshtein(a, b.slice(0, a.length + 1)) : Infinity);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const list = candidates.length === 0 ? '(none)' : candidates.join(', ');
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3))) return `did you mean ${best}? valid: ${list}`;
  return `valid: ${list}`;
}

/**
 * The spec's JSON: a UTF-8 byte order mark is dropped (positions are then counted as an editor shows them),
 * syntax errors and duplicate keys at any depth are reported with file:line:column, and a YAML file is named as
 * such. Only a clean text reaches `JSON.parse`.
 */
function parseJson(text: string, file: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const problem = scanJson(body);
  if (problem === undefined) return JSON.parse(body) as unknown;
  const { line, column } = lineColumn(body, problem.offset);
  const at = `${file}:${line}:${column}`;
  if (problem.kind === 'duplicate') {
    const first = lineColumn(body, problem.firstOffset);
    throw new ConfigError(
      `${at}: ${problem.path}: duplicate key (first at line ${first.line}, column ${first.column}); JSON would silently keep only the last one, so merge the two or remove one`,
      { code: 'SPEC_DUPLICATE_KEY', context: { path: problem.path } },
    );
  }
  if (looksLikeYaml(body)) {
    throw new ConfigError(
      `${at}: this looks like YAML; ${basename(file)} must be JSON: rewrite it as { "connection_name": "...", "objects": [ { "table": { "source_table": "..." } } ] }`,
      { code: 'SPEC_NOT_JSON', context: { path: at } },
    );
  }
  throw new ConfigError(`${at}: invalid JSON (${problem.reason}); fix the syntax at that position`, {
    code: 'SPEC_INVALID_JSON',
    context: { path: at },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function checkKeys(file: string, path: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const at = path === '' ? key : `${path}.${key}`;
    if (UNSUPPORTED_TABLE_KEYS.has(key) && allowed === TABLE_KEYS) {
      fail(file, at, `not supported by the local runner (tables land in <lakehouse>/<destination_table>); remove it`, 'SPEC_UNSUPPORTED_KEY');
    }
    fail(file, at, `unknown key; ${suggest(key, allowed)}`, 'SPEC_UNKNOWN_KEY');
  }
}

function requireString(file: string, path: string, value: unknown): string {
  if (value === undefined) fail(file, path, 'missing; add it (a non-empty string)', 'SPEC_MISSING_KEY');
  if (typeof value !== 'string' || value.trim() === '') {
    fail(file, path, `expected a non-empty string, got ${typeName(value)}; set it to a string`, 'SPEC_BAD_VALUE');
  }
  return value;
}

function columnList(file: string, path: string, value: unknown, single: boolean): string[] {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        fail(file, path, 'a string starting with [ must be a JSON list of column names; write a JSON array instead', 'SPEC_BAD_VALUE');
      }
      return columnList(file, path, parsed, single);
    }
    if (trimmed === '') fail(file, path, 'empty column name; name a column', 'SPEC_BAD_VALUE');
    return [trimmed];
  }
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    return (value as string[]).map((v) => v.trim());
  }
  fail(file, path, `expected ${single ? 'a column name or ' : ''}a non-empty list of column names, got ${typeName(value)}; for example ["id"]`, 'SPEC_BAD_VALUE');
}

function optionValue(file: string, path: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return JSON.stringify(value);
  fail(file, path, `expected a string, number, boolean or list of strings, got ${typeName(value)}; quote the value`, 'SPEC_BAD_VALUE');
}

function parseTable(file: string, path: string, raw: unknown): TableSpec {
  if (!isObject(raw)) fail(file, path, `expected an object with source_table, got ${typeName(raw)}`, 'SPEC_BAD_VALUE');
  checkKeys(file, path, raw, TABLE_KEYS);
  const sourceTable = requireString(file, `${path}.source_table`, raw['source_table']);
  const destinationTable =
    raw['destination_table'] === undefined ? sourceTable : requireString(file, `${path}.destination_table`, raw['destination_table']);
  const nameProblem = tableNameProblem(destinationTable);
  if (nameProblem !== undefined) {
    const implicit = raw['destination_table'] === undefined;
    fail(
      file,
      implicit ? `${path}.source_table` : `${path}.destination_table`,
      `${JSON.stringify(destinationTable.length > 40 ? `${destinationTable.slice(0, 40)}…` : destinationTable)}${implicit ? ' (the destination table, as destination_table is not set)' : ''} ${nameProblem.message}${implicit ? ' (set destination_table)' : ''}`,
      nameProblem.kind === 'reserved' ? 'SPEC_RESERVED_NAME' : 'SPEC_BAD_NAME',
    );
  }
  const configPath = `${path}.table_configuration`;
  const config = raw['table_configuration'] ?? {};
  if (!isObject(config)) fail(file, configPath, `expected an object, got ${typeName(config)}`, 'SPEC_BAD_VALUE');
  const tableOptions: Record<string, string> = {};
  let scdType: ScdType | undefined;
  let primaryKeys: string[] | undefined;
  let sequenceBy: string[] | undefined;
  let everyMs: number | undefined;
  for (const [key, value] of Object.entries(config)) {
    const at = `${configPath}.${key}`;
    if (key === 'scd_type') {
      const upper = typeof value === 'string' ? value.trim().toUpperCase() : '';
      if (!SCD_TYPES.includes(upper as ScdType)) {
        fail(file, at, `expected one of ${SCD_TYPES.join(', ')}, got ${JSON.stringify(value)}; use one of those`, 'SPEC_BAD_VALUE');
      }
      scdType = upper as ScdType;
    } else if (key === 'primary_keys') {
      primaryKeys = columnList(file, at, value, true);
    } else if (key === 'sequence_by') {
      sequenceBy = columnList(file, at, value, true);
    } else if (key === 'every') {
      everyMs = parseEvery(file, at, value);
    } else if (key === 'cluster_by') {
      fail(file, at, 'cluster_by is a Databricks table property the local runner cannot apply; remove it', 'SPEC_UNSUPPORTED_KEY');
    } else {
      tableOptions[key] = optionValue(file, at, value);
    }
  }
  return {
    sourceTable,
    destinationTable,
    tableOptions,
    path,
    ...(scdType !== undefined ? { scdType } : {}),
    ...(primaryKeys !== undefined ? { primaryKeys } : {}),
    ...(sequenceBy !== undefined ? { sequenceBy } : {}),
    ...(everyMs !== undefined ? { everyMs } : {}),
  };
}

const EVERY_UNITS: Readonly<Record<string, number>> = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** `every`: `"30m"`, `"1h"`, `"6h"`, `"1d"` (at least 1 minute, at most 30 days). */
export function parseEvery(file: string, at: string, value: unknown): number {
  const match = typeof value === 'string' ? /^\s*(\d+)\s*(m|min|h|d)\s*$/.exec(value) : null;
  const ms = match ? Number(match[1]) * EVERY_UNITS[match[2]!]! : Number.NaN;
  if (!Number.isFinite(ms) || ms < 60_000 || ms > 30 * 86_400_000) {
    fail(file, at, `expected an interval such as "15m", "1h", "6h" or "1d" (1 minute to 30 days), got ${JSON.stringify(value)}`, 'SPEC_BAD_VALUE');
  }
  return ms;
}

/** Parse and check `pipeline_spec.json` text. Throws ConfigError naming file:line:column or the JSON path. */
export function parsePipelineSpec(text: string, file: string): PipelineSpec {
  const raw = parseJson(text, file);
  if (!isObject(raw)) fail(file, '', `expected a JSON object with connection_name and objects, got ${typeName(raw)}`, 'SPEC_BAD_VALUE');
  checkKeys(file, '', raw, TOP_KEYS);
  const connectionName = requireString(file, 'connection_name', raw['connection_name']);
  const objects = raw['objects'];
  if (objects === undefined) fail(file, 'objects', 'missing; add a list of { "table": { "source_table": ... } }', 'SPEC_MISSING_KEY');
  if (!Array.isArray(objects) || objects.length === 0) {
    fail(file, 'objects', `expected a non-empty list of { "table": {...} }, got ${typeName(objects)}${Array.isArray(objects) ? ' (empty)' : ''}; add at least one table`, 'SPEC_BAD_VALUE');
  }
  const tables: TableSpec[] = [];
  const destinations = new Map<string, string>();
  objects.forEach((entry: unknown, i: number) => {
    const path = `objects[${i}]`;
    if (!isObject(entry)) fail(file, path, `expected { "table": {...} }, got ${typeName(entry)}`, 'SPEC_BAD_VALUE');
    checkKeys(file, path, entry, OBJECT_KEYS);
    if (entry['table'] === undefined) fail(file, `${path}.table`, 'missing; add { "source_table": ... }', 'SPEC_MISSING_KEY');
    const table = parseTable(file, `${path}.table`, entry['table']);
    const key = table.destinationTable.toLowerCase();
    const first = destinations.get(key);
    if (first !== undefined) {
      const explicit = isObject(entry['table']) && entry['table']['destination_table'] !== undefined;
      fail(
        file,
        `${path}.table.${explicit ? 'destination_table' : 'source_table'}`,
        `destination table "${table.destinationTable}" is already written by ${first} (names are compared ignoring case); set a different destination_table`,
        'SPEC_DUPLICATE_DESTINATION',
      );
    }
    destinations.set(key, `${path}.table`);
    tables.push(table);
  });
  return { file, connectionName, objects: tables };
}

/**
 * Check the spec against what the source offers: each source table exists, each table option is one the
 * table accepts, reserved key columns exist in the schema, and the SCD type fits the ingestion type.
 */
/**
 * A source names an option it rejects as `table_configuration.<option>` (it cannot know where in the spec the table
 * is); say where: `<file>: objects[i].table.table_configuration.<option> …`.
 */
async function inSpecTerms<T>(spec: PipelineSpec, t: TableSpec, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const at = error instanceof ConfigError ? error.context.path : undefined;
    if (!(error instanceof ConfigError) || typeof at !== 'string' || !at.startsWith('table_configuration.')) throw error;
    const full = `${t.path}.${at}`;
    const message = error.message.startsWith(at) ? `${full}${error.message.slice(at.length)}` : `${full}: ${error.message}`;
    throw new ConfigError(`${spec.file}: ${message}`, { code: error.code, context: { ...error.context, path: full }, cause: error });
  }
}

export async function validateSpecAgainstSource(spec: PipelineSpec, source: LakeflowSource): Promise<void> {
  const tables = await source.listTables();
  for (const t of spec.objects) {
    if (!tables.includes(t.sourceTable)) {
      fail(spec.file, `${t.path}.source_table`, `unknown table "${t.sourceTable}" for source ${source.name}; ${suggest(t.sourceTable, tables)}`, 'SPEC_UNKNOWN_TABLE');
    }
    const options = (await source.listTableOptions(t.sourceTable)).map((o) => o.name);
    for (const key of Object.keys(t.tableOptions)) {
      if (!options.includes(key)) {
        fail(
          spec.file,
          `${t.path}.table_configuration.${key}`,
          `unknown table option for ${t.sourceTable}; ${suggest(key, [...options, ...RESERVED_TABLE_KEYS])}`,
          'SPEC_UNKNOWN_OPTION',
        );
      }
    }
    const schema = await inSpecTerms(spec, t, () => source.getSchema(t.sourceTable, { tableOptions: t.tableOptions }));
    const columns = schema.fields.map((f) => f.name);
    for (const [key, list] of [['primary_keys', t.primaryKeys], ['sequence_by', t.sequenceBy]] as const) {
      for (const column of list ?? []) {
        if (!columns.includes(column)) {
          fail(spec.file, `${t.path}.table_configuration.${key}`, `column "${column}" is not in ${t.sourceTable}; ${suggest(column, columns)}`, 'SPEC_UNKNOWN_COLUMN');
        }
      }
    }
    const meta = await inSpecTerms(spec, t, () => source.readTableMetadata(t.sourceTable, { tableOptions: t.tableOptions }));
    if (t.scdType === 'SCD_TYPE_2' && meta.ingestionType !== 'cdc') {
      fail(spec.file, `${t.path}.table_configuration.scd_type`, `SCD_TYPE_2 needs a cdc table but ${t.sourceTable} is ${meta.ingestionType}; remove scd_type`, 'SPEC_BAD_VALUE');
    }
  }
}
