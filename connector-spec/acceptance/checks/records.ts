/**
 * Record checks on the cached full read: T6 (records exist, batches conform to getSchema, non-nullable fields
 * non-null, no all-null record, primary keys non-null) and T9 (every column populated by some record).
 */
import { Type, makeVector, type Data, type Field, type RecordBatch } from 'apache-arrow';
import type { TableContext } from '../context.js';
import { fail, notApplicable, preview } from '../failures.js';
import { diffFields, fieldJson } from '../schema-json.js';
import { requireRecords, type TableCheck } from './check.js';

export const readsRecords: TableCheck = {
  id: 'reads records',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'anything');
  },
};

export const batchesMatchSchema: TableCheck = {
  id: 'batches match the schema',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    const batches = sequence.calls.flatMap((c) => c.batches);
    if (batches.length === 0) fail(`${ctx.name}: cannot check batches: the full read yielded none. Seed data or skip with a reason`);
    const expected = (await ctx.schema()).fields.map(fieldJson);
    batches.forEach((batch, i) => {
      const diff = diffFields(expected, batch.schema.fields.map(fieldJson));
      if (diff.length > 0) fail(`${ctx.name}: batch ${i}'s schema differs from getSchema: ${preview(diff)}`);
      batch.schema.fields.forEach((field, j) => {
        const child = batch.getChildAt(j);
        if (child === null || String(child.type) !== String(field.type) || child.length !== batch.numRows) {
          fail(`${ctx.name}: batch ${i} column ${field.name} holds ${child === null ? 'no data' : `${String(child.type)} × ${child.length}`}, not its declared ${String(field.type)} × ${batch.numRows}`);
        }
      });
    });
  },
};

/** Nulls found in non-nullable positions, as "path (count)". Struct children count only under valid parents. */
function nullViolations(field: Field, data: Data, path: string, parentValid?: (i: number) => boolean): string[] {
  const vector = makeVector(data);
  const out: string[] = [];
  if (!field.nullable) {
    let count = 0;
    for (let i = 0; i < data.length; i++) if ((parentValid === undefined || parentValid(i)) && !vector.isValid(i)) count++;
    if (count > 0) out.push(`${path} (${count} null${count > 1 ? 's' : ''})`);
  }
  const children = (field.type.children as Field[] | null | undefined) ?? [];
  if (children.length === 0) return out;
  if (field.type.typeId === Type.Struct) {
    const valid = (i: number): boolean => (parentValid === undefined || parentValid(i)) && vector.isValid(i);
    children.forEach((child, j) => {
      const childData = data.children[j];
      if (childData) out.push(...nullViolations(child, childData, `${path}.${child.name}`, valid));
    });
  } else {
    // Map and List: the child holds the entries of valid rows only.
    children.forEach((child, j) => {
      const childData = data.children[j];
      if (childData) out.push(...nullViolations(child, childData, `${path}.${child.name}`));
    });
  }
  return out;
}

export const nonNullableNonNull: TableCheck = {
  id: 'non-nullable fields are non-null',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'non-nullable fields');
    const schema = await ctx.schema();
    const violations: string[] = [];
    sequence.calls.forEach((call, c) =>
      call.batches.forEach((batch: RecordBatch, b) => {
        for (const field of schema.fields) {
          const index = batch.schema.fields.findIndex((f) => f.name === field.name);
          const vector = index < 0 ? null : batch.getChildAt(index);
          if (vector === null) continue; // a missing column is the schema check's verdict
          for (const data of vector.data) violations.push(...nullViolations(field, data, `call ${c + 1} batch ${b + 1} ${field.name}`));
        }
      }),
    );
    if (violations.length > 0) fail(`${ctx.name}: nulls in non-nullable fields: ${preview(violations)}`);
  },
};

export const noAllNullRecord: TableCheck = {
  id: 'no all-null record',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'all-null records');
    const names = (await ctx.schema()).fields.map((f) => f.name);
    const index = sequence.rows.findIndex((row) => names.every((n) => row[n] === null || row[n] === undefined));
    if (index >= 0) fail(`${ctx.name}: record ${index + 1} of the full read has every column null`);
  },
};

export const primaryKeysNonNull: TableCheck = {
  id: 'primary keys are non-null',
  scope: 'table',
  async run(ctx: TableContext) {
    const { primaryKeys } = await ctx.metadata();
    if (primaryKeys.length === 0) notApplicable('the table has no primary keys (append)');
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'primary keys');
    const bad: string[] = [];
    sequence.rows.forEach((row, i) => {
      const nulls = primaryKeys.filter((k) => row[k] === null || row[k] === undefined);
      if (nulls.length > 0) bad.push(`record ${i + 1}: ${nulls.join(', ')}`);
    });
    if (bad.length > 0) fail(`${ctx.name}: null primary key values: ${preview(bad)}`);
  },
};

export const everyColumnPopulated: TableCheck = {
  id: 'every column is populated',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'column population');
    const names = (await ctx.schema()).fields.map((f) => f.name);
    const allowed = ctx.run.options.allowNullColumns?.[ctx.name] ?? [];
    const badAllow = allowed.filter((a) => a.reason.trim() === '' || !names.includes(a.column));
    if (badAllow.length > 0) {
      fail(`${ctx.name}: allowNullColumns entries need a reason and an existing column: ${preview(badAllow.map((a) => a.column))}`);
    }
    const allowedNames = new Set(allowed.map((a) => a.column));
    const empty = names.filter((n) => !allowedNames.has(n) && sequence.rows.every((row) => row[n] === null || row[n] === undefined));
    if (empty.length > 0) {
      fail(`${ctx.name}: no record populates ${preview(empty)}; seed data that fills them, or list them in allowNullColumns with a reason`);
    }
  },
};
