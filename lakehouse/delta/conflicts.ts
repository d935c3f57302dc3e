/**
 * The rules for a lost commit race: after another writer committed version N first, may this commit simply
 * go to N + 1? Not when the winner changed metaData or protocol, moved our `txn`, removed a file we remove, or
 * added or removed data in a partition we read to plan. Pure: the winner's actions in, a reason out.
 */
import type { CommitConflictReason } from '../errors.js';
import type { Action } from './actions.js';
import { decodeAddPath, partitionKey } from './paths.js';

export interface CommitIntent {
  /** Our `txn.appId`, when the commit carries one. */
  readonly appId?: string;
  /** Decoded paths of the files we remove. */
  readonly removePaths: ReadonlySet<string>;
  /** Partition keys (see `partitionKey`) we read to plan; undefined: a blind append. */
  readonly readPartitions?: ReadonlySet<string>;
  /** The table's partition columns as we planned. */
  readonly partitionColumns: readonly string[];
}

export interface Conflict {
  readonly reason: CommitConflictReason;
  readonly detail: string;
}

export function findConflict(winner: readonly Action[], intent: CommitIntent): Conflict | undefined {
  for (const action of winner) {
    if (action.kind === 'metaData') return { reason: 'metadata', detail: `metaData id ${action.metaData.id}` };
  }
  for (const action of winner) {
    if (action.kind === 'protocol') {
      return { reason: 'protocol', detail: `protocol reader ${action.protocol.minReaderVersion} / writer ${action.protocol.minWriterVersion}` };
    }
  }
  for (const action of winner) {
    if (action.kind === 'txn' && intent.appId !== undefined && action.txn.appId === intent.appId) {
      return { reason: 'txn', detail: `txn ${action.txn.appId} version ${action.txn.version}` };
    }
  }
  for (const action of winner) {
    if (action.kind === 'remove' && intent.removePaths.has(decodeAddPath(action.remove.path))) {
      return { reason: 'removed-file', detail: action.remove.path };
    }
  }
  const read = intent.readPartitions;
  if (read && read.size > 0) {
    for (const action of winner) {
      // A rearranging add (dataChange false) brings no new rows; any remove takes rows away from what we read.
      if (action.kind === 'add' && action.add.dataChange) {
        const key = partitionKey(intent.partitionColumns, action.add.partitionValues);
        if (read.has(key)) return { reason: 'partition-changed', detail: `partition '${key}' (added ${action.add.path})` };
      }
      if (action.kind === 'remove') {
        const key = partitionKey(intent.partitionColumns, action.remove.partitionValues ?? {});
        if (read.has(key) || action.remove.partitionValues === undefined) {
          return { reason: 'partition-changed', detail: `partition '${key}' (removed ${action.remove.path})` };
        }
      }
    }
  }
  return undefined;
}
