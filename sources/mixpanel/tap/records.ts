/**
 * Arrow rows → Singer RECORD objects, and the stream's JSON schema. Pure apart from the naming map it fills.
 * Timestamps become ISO 8601 strings (UTC, ms), Int64 stays exact (bigint beyond 2^53, written as digits),
 * `custom_properties` (JSON text per key) is parsed back losslessly and, with `denest_properties`, put at the
 * root under its output name; without it, kept as one object with the raw Mixpanel keys (as the tap does).
 * Null values are left out, except primary keys.
 */
import { Type, type DataType, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import type { TableMetadata } from '../../../connector-spec/index.js';
import { parseJsonLossless } from '../json.js';
import { JSON_COLUMN_META } from '../reports/values.js';
import type { TapSettings } from './config.js';
import type { NamingMap } from './naming.js';
import { CUSTOM_COLUMN, propertyOfColumn } from './streams.js';

export type JsonSchema = Record<string, unknown>;

type Kind = 'plain' | 'int' | 'timestamp' | 'json' | 'custom';

interface ColumnPlan {
  readonly column: string;
  readonly out: string;
  readonly kind: Kind;
  readonly field: Field;
}

const ANY_TYPE = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];

function kindOf(field: Field): Kind {
  if (field.name === CUSTOM_COLUMN && field.type.typeId === Type.Map) return 'custom';
  if (field.type.typeId === Type.Timestamp) return 'timestamp';
  if (field.type.typeId === Type.Int) return 'int';
  if (field.type.typeId === Type.Utf8 && field.metadata.get(JSON_COLUMN_META) === 'true') return 'json';
  return 'plain';
}

function jsonType(type: DataType, nullable: boolean): JsonSchema {
  const n = (t: string): string[] => (nullable ? ['null', t] : [t]);
  switch (type.typeId) {
    case Type.Int:
      return { type: n('integer') };
    case Type.Float:
      return { type: n('number') };
    case Type.Bool:
      return { type: n('boolean') };
    case Type.Timestamp:
      return { type: n('string'), format: 'date-time' };
    case Type.Map:
      return { type: n('object'), additionalProperties: true };
    default:
      return { type: n('string') };
  }
}

function int(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  return value;
}

function timestamp(value: unknown): string {
  const ms = typeof value === 'bigint' ? Number(value) : (value as number);
  return new Date(ms).toISOString();
}

function entriesOf(value: unknown): [string, string | null][] {
  if (value === null || value === undefined) return [];
  const obj = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): unknown }).toJSON() : value;
  return Object.entries(obj as Record<string, string | null>);
}

function parsed(text: string | null): unknown {
  if (text === null) return null;
  try {
    return parseJsonLossless(text);
  } catch {
    return text;
  }
}

export interface SerializerOptions {
  readonly table: string;
  readonly schema: Schema;
  readonly metadata: TableMetadata;
  readonly naming: NamingMap;
  readonly settings: TapSettings;
  /** Output names declared in the catalog (select_properties_by_default=false flattens only these). */
  readonly declared?: ReadonlySet<string> | undefined;
  /** Output names deselected in the catalog (`selected: false`): left out of records. */
  readonly excluded?: ReadonlySet<string> | undefined;
}

export class StreamSerializer {
  readonly #o: SerializerOptions;
  readonly #plan: readonly ColumnPlan[];
  readonly #keys: ReadonlySet<string>;
  /** Output names of denested custom properties, in first-seen order. */
  readonly #custom = new Set<string>();
  readonly #customOut: string;

  constructor(options: SerializerOptions) {
    this.#o = options;
    const { naming, table } = options;
    this.#plan = options.schema.fields.map((field) => {
      const property = propertyOfColumn(table, field.name);
      const out = property === undefined ? naming.column(field.name) : naming.property(property);
      return { column: field.name, out, kind: kindOf(field), field };
    });
    this.#customOut = this.#plan.find((p) => p.kind === 'custom')?.out ?? CUSTOM_COLUMN;
    this.#keys = new Set(options.metadata.primaryKeys);
    for (const [, out] of naming.propertyEntries()) if (!this.#plan.some((p) => p.out === out)) this.#custom.add(out);
  }

  /** Output names of the primary keys and the replication key. */
  keyProperties(): string[] {
    return this.#o.metadata.primaryKeys.map((k) => this.#plan.find((p) => p.column === k)?.out ?? k);
  }

  bookmarkProperties(): string[] {
    const c = this.#o.metadata.cursorField;
    return c === undefined ? [] : [this.#plan.find((p) => p.column === c)?.out ?? c];
  }

  /** The JSON schema of the stream as it stands (declared columns plus every denested property seen so far). */
  jsonSchema(): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const denest = this.#o.settings.denestProperties;
    for (const p of this.#plan) {
      if (this.#o.excluded?.has(p.out)) continue;
      if (p.kind === 'json') properties[p.out] = { type: p.field.nullable ? ANY_TYPE : ANY_TYPE.slice(1) };
      else properties[p.out] = jsonType(p.field.type, p.field.nullable);
    }
    if (denest) for (const out of this.#custom) if (!this.#o.excluded?.has(out)) properties[out] ??= { type: ANY_TYPE };
    return { type: 'object', properties, additionalProperties: denest };
  }

  #flatten(out: string): boolean {
    if (!this.#o.settings.denestProperties || this.#o.excluded?.has(out)) return false;
    return this.#o.settings.selectPropertiesByDefault || (this.#o.declared?.has(out) ?? false);
  }

  /** The records of one batch, in row order. */
  *records(batch: RecordBatch): Generator<Record<string, unknown>> {
    const vectors = this.#plan.map((p) => batch.getChild(p.column));
    const { naming } = this.#o;
    for (let i = 0; i < batch.numRows; i++) {
      const record: Record<string, unknown> = {};
      let rest: Record<string, unknown> | undefined;
      this.#plan.forEach((p, c) => {
        const value: unknown = vectors[c]?.get(i);
        if (p.kind === 'custom') {
          for (const [raw, text] of entriesOf(value)) {
            const out = naming.property(raw);
            if (this.#flatten(out)) {
              this.#custom.add(out);
              record[out] = parsed(text);
            } else {
              (rest ??= {})[raw] = parsed(text);
            }
          }
          return;
        }
        if (this.#o.excluded?.has(p.out)) return;
        if (value === null || value === undefined) {
          if (this.#keys.has(p.column)) record[p.out] = null;
          return;
        }
        record[p.out] = p.kind === 'int' ? int(value) : p.kind === 'timestamp' ? timestamp(value) : p.kind === 'json' ? parsed(value as string) : value;
      });
      if (rest !== undefined && !this.#o.excluded?.has(this.#customOut)) record[this.#customOut] = rest;
      yield record;
    }
  }
}
