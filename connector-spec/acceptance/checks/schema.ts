/** Schema and metadata checks: T4 (deterministic, unique names), T5 (metadata valid, keys resolve), bad options. */
import { Type, type Schema } from 'apache-arrow';
import { readTableMetadataFromSchema } from '../../arrow/schema-metadata.js';
import { keyDerivationProblems } from '../../key-derivation.js';
import type { TableMetadata } from '../../types.js';
import type { TableContext } from '../context.js';
import { fail, preview } from '../failures.js';
import { diffFields, diffMetadata, schemaJson } from '../schema-json.js';
import { readTableThrowsOnCall, type TableCheck } from './check.js';

export const schemaDeterministic: TableCheck = {
  id: 'schema is deterministic with unique names',
  scope: 'table',
  async run(ctx: TableContext) {
    const { source } = await ctx.run.newSource();
    const first = await source.getSchema(ctx.name, { tableOptions: ctx.tableOptions });
    if (first.fields.length === 0) fail(`${ctx.name}: getSchema returned a schema without fields`);
    const names = first.fields.map((f) => f.name);
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length > 0) fail(`${ctx.name}: field names are not unique: ${preview([...new Set(dupes)])}`);
    const empty = names.filter((n) => n.trim() === '');
    if (empty.length > 0) fail(`${ctx.name}: a field has an empty name`);
    const second = await source.getSchema(ctx.name, { tableOptions: ctx.tableOptions });
    const a = schemaJson(first);
    const b = schemaJson(second);
    const diff = [...diffFields(a.fields, b.fields), ...diffMetadata(a.metadata, b.metadata)];
    if (diff.length > 0) fail(`${ctx.name}: getSchema returned a different schema on a second call: ${preview(diff)}`);
  },
};

const INGESTION_TYPES = new Set(['cdc', 'snapshot', 'append']);

function metadataProblems(meta: TableMetadata, schema: Schema): string[] {
  const problems: string[] = [];
  const fields = new Map(schema.fields.map((f) => [f.name, f]));
  const resolve = (what: string, column: unknown): void => {
    if (typeof column !== 'string' || column === '') problems.push(`${what} must be a column name, got ${JSON.stringify(column)}`);
    else if (!fields.has(column)) problems.push(`${what} "${column}" is not a field of the schema`);
  };
  if (!INGESTION_TYPES.has(meta.ingestionType)) problems.push(`ingestionType ${JSON.stringify(meta.ingestionType)} is not cdc, snapshot or append`);
  if (!Array.isArray(meta.primaryKeys)) problems.push('primaryKeys must be an array');
  else {
    if (meta.primaryKeys.length === 0 && meta.ingestionType !== 'append') problems.push(`a ${meta.ingestionType} table needs primary keys`);
    meta.primaryKeys.forEach((k) => resolve('primary key', k));
    if (new Set(meta.primaryKeys).size !== meta.primaryKeys.length) problems.push('primaryKeys lists a column twice');
  }
  if (meta.ingestionType === 'cdc' && meta.cursorField === undefined) problems.push('a cdc table needs a cursorField');
  if (meta.cursorField !== undefined) resolve('cursorField', meta.cursorField);
  if (meta.sequenceBy !== undefined) {
    if (meta.sequenceBy.length === 0) problems.push('sequenceBy, when given, must name at least one column');
    meta.sequenceBy.forEach((c) => resolve('sequenceBy column', c));
  }
  if (meta.partitionBy !== undefined) {
    resolve('partitionBy', meta.partitionBy);
    const type = fields.get(meta.partitionBy)?.type.typeId;
    if (type !== undefined && type !== Type.Utf8 && type !== Type.Date) problems.push(`partitionBy "${meta.partitionBy}" must be a Utf8 or Date column`);
  }
  if (meta.keyDerivedFrom !== undefined) problems.push(...keyDerivationProblems(meta.keyDerivedFrom, schema));
  return problems;
}

function normalise(meta: TableMetadata): string {
  return JSON.stringify({
    ingestionType: meta.ingestionType,
    primaryKeys: meta.primaryKeys,
    cursorField: meta.cursorField ?? null,
    sequenceBy: meta.sequenceBy ?? null,
    partitionBy: meta.partitionBy ?? null,
  });
}

export const metadataValid: TableCheck = {
  id: 'metadata is valid and matches the schema',
  scope: 'table',
  async run(ctx: TableContext) {
    const { source } = await ctx.run.newSource();
    const meta = await source.readTableMetadata(ctx.name, { tableOptions: ctx.tableOptions });
    const again = await source.readTableMetadata(ctx.name, { tableOptions: ctx.tableOptions });
    if (normalise(meta) !== normalise(again)) fail(`${ctx.name}: readTableMetadata returned different metadata on a second call`);
    const schema = await ctx.schema();
    const problems = metadataProblems(meta, schema);
    if (problems.length > 0) fail(`${ctx.name}: table metadata is invalid: ${problems.join('; ')}`);
    let fromSchema: TableMetadata;
    try {
      fromSchema = readTableMetadataFromSchema(schema);
    } catch (error) {
      fail(`${ctx.name}: getSchema's schema does not carry the table metadata (build it with withTableMetadata): ${String(error)}`);
    }
    if (normalise(fromSchema) !== normalise(meta)) {
      fail(`${ctx.name}: readTableMetadata ${normalise(meta)} differs from the schema's lakeflow metadata ${normalise(fromSchema)}`);
    }
  },
};

export const DEFAULT_BAD_OPTIONS = { __acceptance_unknown_option__: '1' } as const;

export const badOptionsThrow: TableCheck = {
  id: 'bad table options throw a typed error on call',
  scope: 'table',
  async run(ctx: TableContext) {
    const configured = ctx.run.options.badTableOptions;
    const bad = typeof configured === 'function' ? configured(ctx.name) : (configured ?? DEFAULT_BAD_OPTIONS);
    const tableOptions = { ...ctx.tableOptions, ...bad };
    const { source, logger } = await ctx.run.newSource();
    const problem = await readTableThrowsOnCall(() => source.readTable(ctx.name, null, { tableOptions, logger }));
    if (problem !== undefined) fail(`${ctx.name}: readTable with bad table options ${JSON.stringify(bad)} ${problem}`);
  },
};
