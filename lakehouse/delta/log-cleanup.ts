/**
 * Metadata cleanup (the protocol's steps): the cutoff commit is the newest one older than
 * `delta.logRetentionDuration` (default 30 days); the cutoff checkpoint is the newest complete, readable
 * checkpoint at or before it. Commit, checkpoint and checksum files below the cutoff checkpoint are deleted,
 * oldest first, except the newest commit of every application (`commitInfo.mixpanelLakeflow.appId`): that
 * file holds its cursor. Nothing is deleted without a readable checkpoint to cover it, and nothing when the
 * retention property cannot be read.
 */
import { checkpointActions } from './checkpoint-read.js';
import { listLog, mapLimit, type TableContext } from './log-files.js';
import { lakeflowAppId, type DeltaSnapshot } from './snapshot.js';
import { commitFile, type LogFileName } from './paths.js';
import { logRetention } from './table-properties.js';

export interface CleanupResult {
  /** Store paths deleted, oldest first. */
  readonly deleted: readonly string[];
  /** The checkpoint version everything deleted was below (undefined: nothing to do). */
  readonly cutoffCheckpoint?: number;
  /** Commit versions kept below the cutoff because they hold an application's newest cursor. */
  readonly kept: readonly number[];
}

const NOTHING: CleanupResult = { deleted: [], kept: [] };

/**
 * Versions below `cutoff` that hold an application's newest commit. A txn replayed from a JSON commit names its
 * version; one from a checkpoint does not, so the commits about to be deleted are read newest first until each
 * such application is found (finding an older commit of an application whose newest one is kept anyway only
 * keeps one file too many).
 */
async function cursorCommits(ctx: TableContext, snapshot: DeltaSnapshot, cutoff: number, candidates: readonly { readonly name: LogFileName }[]): Promise<Set<number>> {
  const commits = candidates
    .map(({ name }) => (name.kind === 'commit' ? name.version : -1))
    .filter((v) => v >= 0)
    .sort((a, b) => b - a);
  const present = new Set(commits);
  const keep = new Set<number>();
  const pending = new Set<string>();
  for (const appId of snapshot.txns.keys()) {
    const version = snapshot.state.txnCommitVersions.get(appId);
    if (version !== undefined && version >= cutoff) continue;
    // Known and still there: keep it. Unknown (from a checkpoint) or already gone: look for the newest one left.
    if (version !== undefined && present.has(version)) keep.add(version);
    else pending.add(appId);
  }
  const decoder = new TextDecoder();
  for (const version of commits) {
    if (pending.size === 0) break;
    const bytes = await ctx.store.read(commitFile(ctx.root, version));
    if (!bytes) continue;
    const appId = lakeflowAppId(decoder.decode(bytes));
    if (appId !== undefined && pending.delete(appId)) keep.add(version);
  }
  return keep;
}

export async function cleanupLog(ctx: TableContext, snapshot: DeltaSnapshot, now: number): Promise<CleanupResult> {
  const retention = logRetention(snapshot.metadata.configuration);
  if (retention.ms === undefined) {
    ctx.logger?.warn('delta.logRetentionDuration is not an interval this writer reads; log files are kept', { table: ctx.display, value: retention.text });
    return NOTHING;
  }
  const cutoffTime = now - retention.ms;
  const listing = await listLog(ctx);
  let cutoffCommit = -1;
  for (const [version, object] of listing.commits) {
    if (object.modifiedMs <= cutoffTime && version > cutoffCommit && version <= snapshot.version) cutoffCommit = version;
  }
  if (cutoffCommit < 0) return NOTHING;
  const checkpoint = listing.checkpoints.find((c) => c.version <= cutoffCommit);
  if (!checkpoint || checkpoint.version === 0) return NOTHING;
  const cutoff = checkpoint.version;
  const candidates = listing.entries.filter(({ name }) => {
    switch (name.kind) {
      case 'commit':
      case 'checkpoint':
      case 'uuid-checkpoint':
      case 'crc':
        return name.version < cutoff;
      case 'compacted':
        return name.version <= cutoff;
      default:
        return false;
    }
  });
  if (candidates.length === 0) return { deleted: [], cutoffCheckpoint: cutoff, kept: [] };

  // The cutoff checkpoint must be readable before anything behind it goes.
  try {
    const parts: Uint8Array[] = [];
    for (const file of checkpoint.files) {
      const bytes = await ctx.store.read(file.path);
      if (!bytes) return NOTHING;
      parts.push(bytes);
    }
    const actions = await checkpointActions(parts);
    if (!actions.some((a) => a.kind === 'protocol') || !actions.some((a) => a.kind === 'metaData')) return NOTHING;
  } catch (error) {
    ctx.logger?.warn('Delta log cleanup skipped: the checkpoint it would rely on is unreadable', {
      table: ctx.display,
      version: cutoff,
      error: error instanceof Error ? error.message : String(error),
    });
    return NOTHING;
  }

  const protectedVersions = await cursorCommits(ctx, snapshot, cutoff, candidates);
  const doomed = candidates
    .filter(({ name }) => !(name.kind === 'commit' && protectedVersions.has(name.version)))
    .sort((a, b) => ('version' in a.name ? a.name.version : 0) - ('version' in b.name ? b.name.version : 0));
  await mapLimit(doomed, 8, async ({ object }) => ctx.store.delete(object.path));
  const kept = [...protectedVersions].filter((v) => v < cutoff).sort((a, b) => a - b);
  return { deleted: doomed.map(({ object }) => object.path), cutoffCheckpoint: cutoff, kept };
}
