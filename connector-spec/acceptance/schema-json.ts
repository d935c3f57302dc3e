/** An Arrow schema as plain JSON (fields recursively, metadata sorted): for snapshots and comparisons. */
import type { DataType, Field, Schema } from 'apache-arrow';

export interface FieldJson {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  readonly children?: readonly FieldJson[];
}

export interface SchemaJson {
  readonly fields: readonly FieldJson[];
  readonly metadata: Readonly<Record<string, string>>;
}

export function fieldJson(field: Field): FieldJson {
  const children = (field.type as DataType).children as Field[] | undefined;
  return {
    name: field.name,
    type: String(field.type),
    nullable: field.nullable,
    ...(children && children.length > 0 ? { children: children.map(fieldJson) } : {}),
  };
}

export function schemaJson(schema: Schema): SchemaJson {
  const metadata: Record<string, string> = {};
  for (const key of [...schema.metadata.keys()].sort()) metadata[key] = schema.metadata.get(key) ?? '';
  return { fields: schema.fields.map(fieldJson), metadata };
}

/** Human-readable differences between two field lists ("note: type Utf8 → Int64", "+ added", "- removed"). */
export function diffFields(expected: readonly FieldJson[], actual: readonly FieldJson[]): string[] {
  const out: string[] = [];
  const byName = new Map(actual.map((f) => [f.name, f]));
  const expectedNames = new Set(expected.map((f) => f.name));
  for (const e of expected) {
    const a = byName.get(e.name);
    if (a === undefined) {
      out.push(`- ${e.name} removed`);
      continue;
    }
    if (e.type !== a.type) out.push(`${e.name}: type ${e.type} → ${a.type}`);
    if (e.nullable !== a.nullable) out.push(`${e.name}: nullable ${e.nullable} → ${a.nullable}`);
    if (JSON.stringify(e.children ?? []) !== JSON.stringify(a.children ?? [])) {
      out.push(`${e.name}: children ${JSON.stringify(e.children ?? [])} → ${JSON.stringify(a.children ?? [])}`);
    }
  }
  for (const a of actual) if (!expectedNames.has(a.name)) out.push(`+ ${a.name} added (${a.type})`);
  if (out.length === 0 && JSON.stringify(expected.map((f) => f.name)) !== JSON.stringify(actual.map((f) => f.name))) {
    out.push(`field order ${expected.map((f) => f.name).join(',')} → ${actual.map((f) => f.name).join(',')}`);
  }
  return out;
}

export function diffMetadata(expected: Readonly<Record<string, string>>, actual: Readonly<Record<string, string>>): string[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return keys
    .filter((k) => expected[k] !== actual[k])
    .map((k) => `metadata ${k}: ${JSON.stringify(expected[k] ?? null)} → ${JSON.stringify(actual[k] ?? null)}`);
}
