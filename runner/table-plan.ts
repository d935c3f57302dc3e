/**
 * What a table run writes: ingestion type, keys, sequence columns, partition column and the schemas, from the
 * source's metadata and the spec's overrides; and the check that a cdc table's columns have not changed in a
 * way that would make a merge rewrite existing rows without some of their values.
 */
import { Schema, Type, type DataType, type Field } from 'apache-arrow';
import { ConfigError, keyDerivationProblems, withTableMetadata, type LakeflowSource, type TableMetadata } from '../connector-spec/index.js';
import type { Snapshot } from '../lakehouse/index.js';
import { scd2Schema } from './cdc-history.js';
import type { TableSpec } from './pipeline-spec.js';

export interface Plan {
  readonly ingestion: TableMetadata['ingestionType'];
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  readonly scd2: boolean;
  readonly partitionBy?: string;
  readonly cursorField?: string;
  readonly snapshotGroupBy?: string;
  /** The source's `keyDerivedFrom`, when the table's keys are the source's own and the column can be ranged (cdc merges skip files by it). */
  readonly keyDerivedFrom?: NonNullable<TableMetadata['keyDerivedFrom']>;
  /** Facts for `--full-refresh`: the oldest partition value a read from the start covers. */
  readonly freshReadFrom?: TableMetadata['freshReadFrom'];
  /** Schema of the source batches, with the effective table metadata. */
  readonly tableSchema: Schema;
  /** Schema of the table's rows (tableSchema, plus __start_at/__end_at for SCD2). */
  readonly outputSchema: Schema;
}

export function scdTypeOf(p: Plan): 'SCD_TYPE_1' | 'SCD_TYPE_2' | 'APPEND_ONLY' {
  return p.scd2 ? 'SCD_TYPE_2' : p.ingestion === 'append' ? 'APPEND_ONLY' : 'SCD_TYPE_1';
}

export async function planTable(source: LakeflowSource, spec: TableSpec): Promise<Plan> {
  const opts = { tableOptions: spec.tableOptions };
  const meta = await source.readTableMetadata(spec.sourceTable, opts);
  const schema = await source.getSchema(spec.sourceTable, opts);
  const ingestion = spec.scdType === 'APPEND_ONLY' ? 'append' : meta.ingestionType;
  const keys = spec.primaryKeys ?? meta.primaryKeys;
  const sequenceBy = spec.sequenceBy ?? meta.sequenceBy ?? (meta.cursorField !== undefined ? [meta.cursorField] : []);
  const at = `${spec.path}.table_configuration`;
  if (ingestion === 'cdc' && keys.length === 0) {
    throw new ConfigError(`${at}.primary_keys: ${spec.sourceTable} is cdc but has no primary keys; set primary_keys or scd_type APPEND_ONLY`, { code: 'RUNNER_NO_KEYS', context: { table: spec.destinationTable } });
  }
  if (ingestion === 'cdc' && sequenceBy.length === 0) {
    throw new ConfigError(`${at}.sequence_by: ${spec.sourceTable} is cdc but has no cursor field; set sequence_by`, { code: 'RUNNER_NO_SEQUENCE', context: { table: spec.destinationTable } });
  }
  const tableSchema = withTableMetadata(schema, {
    primaryKeys: keys,
    ingestionType: ingestion,
    ...(meta.cursorField !== undefined ? { cursorField: meta.cursorField } : {}),
    ...(sequenceBy.length > 0 ? { sequenceBy } : {}),
    ...(meta.partitionBy !== undefined ? { partitionBy: meta.partitionBy } : {}),
  });
  const scd2 = spec.scdType === 'SCD_TYPE_2' && ingestion === 'cdc';
  const keyDerivedFrom = ingestion === 'cdc' && !scd2 ? usableKeyDerivation(meta, keys, schema) : undefined;
  return {
    ingestion,
    keys,
    sequenceBy,
    scd2,
    tableSchema,
    outputSchema: scd2 ? scd2Schema(tableSchema, sequenceBy) : tableSchema,
    ...(meta.partitionBy !== undefined ? { partitionBy: meta.partitionBy } : {}),
    ...(meta.cursorField !== undefined ? { cursorField: meta.cursorField } : {}),
    ...(meta.snapshotGroupBy !== undefined ? { snapshotGroupBy: meta.snapshotGroupBy } : {}),
    ...(meta.freshReadFrom !== undefined ? { freshReadFrom: meta.freshReadFrom } : {}),
    ...(keyDerivedFrom !== undefined ? { keyDerivedFrom } : {}),
  };
}

/**
 * The source's `keyDerivedFrom` when it holds for this table: its keys are the source's `primaryKeys` (an override
 * makes other rows equal), and it names an integer or timestamp column with a positive integer `granularity`. Anything else is
 * not used (the merge then reads every candidate file's keys, as without it).
 */
function usableKeyDerivation(meta: TableMetadata, keys: readonly string[], schema: Schema): TableMetadata['keyDerivedFrom'] {
  const derived = meta.keyDerivedFrom;
  if (derived === undefined) return undefined;
  if (keys.length !== meta.primaryKeys.length || keys.some((k, i) => k !== meta.primaryKeys[i])) return undefined;
  return keyDerivationProblems(derived, schema).length === 0 ? derived : undefined;
}

/** A column's type as the table format keeps it (a timestamp's unit and a map's child names are the writer's business). */
function storedType(type: DataType): string {
  switch (type.typeId) {
    case Type.Timestamp:
      return 'timestamp';
    case Type.Date:
      return 'date';
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    case Type.Map: {
      const entries = type.children[0]?.type.children ?? [];
      return `map<${entries.map((f: Field) => storedType(f.type)).join(',')}>`;
    }
    default:
      return String(type);
  }
}

export type SchemaChange =
  | { readonly kind: 'same' }
  | { readonly kind: 'added'; readonly columns: readonly string[] }
  | { readonly kind: 'incompatible'; readonly detail: string };

/**
 * How the planned row schema differs from the table's: the same, only added nullable columns (old rows read
 * null there), or a change a merge must not make (a removed column, another type, or nullable → required).
 * A required column becoming nullable is the same table.
 */
export function compareSchemas(table: Schema, planned: Schema): SchemaChange {
  const before = new Map(table.fields.map((f) => [f.name, f]));
  const after = new Map(planned.fields.map((f) => [f.name, f]));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  const added = [...after.keys()].filter((n) => !before.has(n));
  const changed = [...after.values()].filter((f) => {
    const old = before.get(f.name);
    return old !== undefined && (storedType(old.type) !== storedType(f.type) || (old.nullable && !f.nullable));
  });
  if (removed.length === 0 && changed.length === 0) {
    if (added.length === 0) return { kind: 'same' };
    if (added.every((n) => after.get(n)!.nullable)) return { kind: 'added', columns: added };
  }
  const describe = (f: Field): string => `${storedType(f.type)}${f.nullable ? '' : ' NOT NULL'}`;
  const parts = [
    removed.length > 0 ? `removed ${removed.join(', ')}` : '',
    added.length > 0 ? `added ${added.join(', ')}` : '',
    changed.length > 0 ? `changed ${changed.map((f) => `${f.name} ${describe(before.get(f.name)!)} → ${describe(f)}`).join(', ')}` : '',
  ].filter((s) => s !== '');
  return { kind: 'incompatible', detail: parts.join('; ') };
}

/**
 * A cdc merge rewrites existing rows in the *planned* schema: a removed or retyped column would silently lose
 * their values. Refuse, naming the columns and the fix. Snapshot tables (replaced whole) and append tables
 * (never rewritten) may change freely: their commit records the new schema.
 */
export function checkSchema(p: Plan, snapshot: Snapshot, spec: TableSpec): SchemaChange {
  const change = compareSchemas(snapshot.metadata.schema, p.outputSchema);
  if (change.kind === 'incompatible' && p.ingestion === 'cdc') {
    const table = spec.destinationTable;
    throw new ConfigError(
      `${spec.path}: the columns of ${table} changed since its last commit (${change.detail}); merging would rewrite existing rows without them. ` +
        `Restore the previous table options, or rebuild the table with: mixpanel-lakeflow run --full-refresh ${table}`,
      { code: 'RUNNER_SCHEMA_CHANGED', context: { table } },
    );
  }
  return change;
}
