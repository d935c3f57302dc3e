/**
 * Joins and leaves of a snapshot vs the previous one (for example cohort members per cohort_id): compares the
 * primary-key sets of the replaced live files and the new files, grouped by a column.
 */
import type { Schema } from 'apache-arrow';
import { META_SNAPSHOT_GROUP_BY } from '../connector-spec/index.js';
import type { AddFile, DeltaTable } from '../lakehouse/index.js';
import { cellOf, keyString } from './arrow-rows.js';
import type { SnapshotDiff } from './report.js';

export { META_SNAPSHOT_GROUP_BY };

/** The grouping column: declared in the schema metadata, else the first of two or more primary keys. */
export function snapshotGroupColumn(schema: Schema, keys: readonly string[]): string | null {
  const declared = schema.metadata.get(META_SNAPSHOT_GROUP_BY);
  if (declared !== undefined && schema.fields.some((f) => f.name === declared)) return declared;
  return keys.length >= 2 ? keys[0]! : null;
}

async function keysByGroup(table: DeltaTable, files: readonly AddFile[], keys: readonly string[], group: string | null, schema: Schema): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const columns = [...new Set([...keys, ...(group === null ? [] : [group])])];
  const projected = schema.select(columns);
  for (const file of files) {
    for await (const part of table.readDataFile(file, { columns, schema: projected })) {
      const kv = keys.map((k) => part.getChild(k));
      const gv = group === null ? null : part.getChild(group);
      if (kv.some((v) => v === null)) continue;
      for (let r = 0; r < part.numRows; r++) {
        const g = gv ? String(cellOf(gv, r)) : '';
        let set = out.get(g);
        if (!set) out.set(g, (set = new Set()));
        set.add(keyString(kv.map((v) => cellOf(v!, r))));
      }
    }
  }
  return out;
}

export async function diffSnapshots(table: DeltaTable, previous: readonly AddFile[], next: readonly AddFile[], keys: readonly string[], group: string | null, schema: Schema): Promise<SnapshotDiff> {
  const before = await keysByGroup(table, previous, keys, group, schema);
  const after = await keysByGroup(table, next, keys, group, schema);
  const groups: Record<string, { added: number; removed: number }> = {};
  let added = 0;
  let removed = 0;
  for (const g of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(g) ?? new Set<string>();
    const a = after.get(g) ?? new Set<string>();
    let joins = 0;
    let leaves = 0;
    for (const k of a) if (!b.has(k)) joins++;
    for (const k of b) if (!a.has(k)) leaves++;
    added += joins;
    removed += leaves;
    if (group !== null && (joins > 0 || leaves > 0)) groups[g] = { added: joins, removed: leaves };
  }
  return { groupBy: group, added, removed, groups };
}
