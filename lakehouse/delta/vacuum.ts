/**
 * VACUUM: delete data files that no snapshot within the retention can still need.
 * - a tombstoned file (`remove`) once it was removed longer than `retentionMs` ago (default 7 days);
 * - an orphan (a file in the table folder the log does not mention: a failed or abandoned write) once it is
 *   older than the retention, Spark's rule, so a concurrent writer's not-yet-committed files are safe.
 * Live files, `_delta_log/` and every other folder or file whose name starts with `_` or `.` are never touched.
 * `dryRun` lists what would go and deletes nothing.
 */
import type { VacuumResult } from '../types.js';
import { mapLimit, type TableContext } from './log-files.js';
import { decodeAddPath, isAbsoluteAddPath } from './paths.js';
import type { DeltaSnapshot } from './snapshot.js';
import { DEFAULT_DELETED_FILE_RETENTION_MS } from './table-properties.js';

export interface VacuumOptions {
  readonly retentionMs?: number;
  readonly now: number;
  readonly dryRun?: boolean;
}

function hidden(relPath: string): boolean {
  return relPath.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.'));
}

export async function vacuumTable(ctx: TableContext, snapshot: DeltaSnapshot, options: VacuumOptions): Promise<VacuumResult> {
  snapshot.assertWritable();
  const retentionMs = options.retentionMs ?? DEFAULT_DELETED_FILE_RETENTION_MS;
  const cutoff = options.now - retentionMs;
  const live = new Set<string>();
  for (const file of snapshot.files) if (!isAbsoluteAddPath(file.path)) live.add(decodeAddPath(file.path));
  const removedAt = new Map<string, number>();
  for (const tombstone of snapshot.tombstones) {
    if (isAbsoluteAddPath(tombstone.path)) continue;
    const path = decodeAddPath(tombstone.path);
    removedAt.set(path, Math.max(removedAt.get(path) ?? 0, tombstone.deletionTimestamp));
  }
  const tablePrefix = ctx.root === '' ? '' : `${ctx.root}/`;
  const doomed: { path: string; size: number }[] = [];
  let retained = 0;
  for await (const object of ctx.store.list(tablePrefix)) {
    const rel = object.path.slice(tablePrefix.length);
    if (hidden(rel) || live.has(rel)) continue;
    const removed = removedAt.get(rel);
    const expired = removed !== undefined ? removed <= cutoff : object.modifiedMs <= cutoff;
    if (expired) doomed.push({ path: object.path, size: object.size });
    else retained++;
  }
  if (!options.dryRun) await mapLimit(doomed, 8, (file) => ctx.store.delete(file.path));
  // Temp files of writes a crash interrupted (invisible to every reader) go by the same age rule.
  for (const leftover of (await ctx.store.sweepInterrupted?.(tablePrefix, cutoff, options.dryRun === true)) ?? []) doomed.push({ path: leftover.path, size: leftover.size });
  ctx.logger?.info(options.dryRun ? 'vacuum (dry run): files that would be deleted' : 'vacuum: deleted files', {
    table: ctx.display,
    files: doomed.length,
    bytes: doomed.reduce((sum, f) => sum + f.size, 0),
    retained,
  });
  return { deleted: doomed.map((f) => f.path.slice(tablePrefix.length)), bytes: doomed.reduce((sum, f) => sum + f.size, 0), retained };
}
