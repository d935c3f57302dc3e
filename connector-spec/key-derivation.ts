/**
 * One rule for `TableMetadata.keyDerivedFrom`: which columns can carry it, and what makes a declaration unusable.
 * The acceptance suite reports the problems; the runner uses a declaration only when there are none; the lakehouse's
 * `ColumnRange` ranges only such columns.
 */
import { Type, type DataType, type Schema } from 'apache-arrow';
import type { TableMetadata } from './types.js';

/** An integer (signed, or narrower than 64 bits) or a timestamp: a column whose Delta stats bound it exactly. */
export function rangeableType(type: DataType): boolean {
  if (type.typeId === Type.Timestamp) return true;
  if (type.typeId !== Type.Int) return false;
  const { bitWidth, isSigned } = type as DataType & { bitWidth: number; isSigned: boolean };
  return bitWidth < 64 || isSigned;
}

/** What is wrong with `derived` against `schema` (empty: it can be used). */
export function keyDerivationProblems(derived: NonNullable<TableMetadata['keyDerivedFrom']>, schema: Schema): string[] {
  const problems: string[] = [];
  const { column, granularity } = derived;
  if (typeof column !== 'string' || column === '') problems.push(`keyDerivedFrom.column must be a column name, got ${JSON.stringify(column)}`);
  else {
    const type = schema.fields.find((f) => f.name === column)?.type;
    if (type === undefined) problems.push(`keyDerivedFrom.column "${column}" is not a field of the schema`);
    else if (!rangeableType(type)) problems.push(`keyDerivedFrom.column "${column}" must be an integer or timestamp column, not ${String(type)}`);
  }
  if (!Number.isSafeInteger(granularity) || granularity < 1) problems.push(`keyDerivedFrom.granularity must be a positive integer, got ${JSON.stringify(granularity)}`);
  return problems;
}
