/**
 * Deletions found against the host's table: keys that are live in the destination (no `_deleted_at`) but that a
 * complete scan did not return. This scales with the table (the host streams its rows) where the cursor's
 * `known_ids` list cannot (bounded by `deletion_tracking_limit`).
 */
import type { LiveRows } from '../../../connector-spec/index.js';

/**
 * @param keyColumns the table's primary key columns (`distinct_id`, or `group_key`, `group_id`)
 * @param keyPrefix values of the leading key columns this scan covers (`[]`, or `[group_key]`)
 * @param seen ids (the last key column) the scan returned (a `Set`, or the scan's compact `DeliveredIds`)
 * @returns the deleted ids, sorted
 */
export async function deletedIdsFromLiveRows(liveRows: LiveRows, keyColumns: readonly string[], keyPrefix: readonly string[], seen: { has(id: string): boolean }): Promise<string[]> {
  const deleted: string[] = [];
  for await (const row of liveRows([...keyColumns, '_deleted_at'])) {
    if (row[keyColumns.length] !== null) continue;
    if (!keyPrefix.every((value, i) => row[i] === value)) continue;
    const id = row[keyColumns.length - 1];
    if (typeof id === 'string' && !seen.has(id)) deleted.push(id);
  }
  return deleted.sort();
}
