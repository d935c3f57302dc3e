/**
 * Checkpoint a snapshot: the classic Parquet file (atomic put), then `_last_checkpoint` (never moved backwards
 * past a newer checkpoint another writer recorded). Tombstones older than `delta.deletedFileRetentionDuration`
 * (default 7 days) are left out; an unreadable retention keeps them all.
 */
import type { DeltaSnapshot } from './snapshot.js';
import { encodeCheckpoint, lastCheckpointJson } from './checkpoint-write.js';
import { readLastCheckpoint, type TableContext } from './log-files.js';
import { checkpointFile, lastCheckpointFile } from './paths.js';
import { deletedFileRetention } from './table-properties.js';

export interface CheckpointWritten {
  readonly version: number;
  readonly bytes: number;
  readonly actions: number;
}

export async function writeCheckpoint(ctx: TableContext, snapshot: DeltaSnapshot, now: number): Promise<CheckpointWritten> {
  const state = snapshot.state;
  const retention = deletedFileRetention(snapshot.metadata.configuration);
  const expiredBefore = retention.ms === undefined ? undefined : now - retention.ms;
  const written = await encodeCheckpoint({
    protocol: snapshot.protocol,
    metadata: snapshot.metadataAction,
    txns: state.txns,
    files: state.files.values(),
    tombstones: state.unexpiredTombstones(expiredBefore),
  });
  await ctx.store.put(checkpointFile(ctx.root, snapshot.version), written.bytes);
  const current = await readLastCheckpoint(ctx);
  if (!current || current.version <= snapshot.version) {
    await ctx.store.put(lastCheckpointFile(ctx.root), new TextEncoder().encode(lastCheckpointJson(snapshot.version, written)));
  }
  return { version: snapshot.version, bytes: written.bytes.byteLength, actions: written.size };
}
