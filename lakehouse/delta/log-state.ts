/**
 * Log replay (the protocol's Action Reconciliation): the newest protocol and metaData win; live files are keyed
 * by path (one add per path: the newest (path, deletion vector) pair); tombstones by (path, deletion vector);
 * the newest txn version per appId wins. A state is mutable while it is built, then handed to a Snapshot and
 * never changed again (`clone()` first to build the next version from it).
 */
import { dvId, type Action, type AddAction, type MetadataAction, type ProtocolAction, type RemoveAction, type TxnAction } from './actions.js';

export interface TxnState {
  readonly version: number;
  readonly lastUpdated?: number;
}

function fileKey(path: string, dv: string): string {
  return dv === '' ? path : `${path}\u0000${dv}`;
}

export class LogState {
  version = -1;
  protocol: ProtocolAction | undefined;
  metadata: MetadataAction | undefined;
  /** Live files by path. */
  readonly files: Map<string, AddAction>;
  /** Tombstones by (path, dvId). */
  readonly tombstones: Map<string, RemoveAction>;
  readonly txns: Map<string, TxnState>;
  /** For txns replayed from a JSON commit: the table version of that commit (appCommit starts there). */
  readonly txnCommitVersions: Map<string, number>;

  constructor(from?: LogState) {
    this.files = new Map(from?.files);
    this.tombstones = new Map(from?.tombstones);
    this.txns = new Map(from?.txns);
    this.txnCommitVersions = new Map(from?.txnCommitVersions);
    if (from) {
      this.version = from.version;
      this.protocol = from.protocol;
      this.metadata = from.metadata;
    }
  }

  clone(): LogState {
    return new LogState(this);
  }

  addFile(add: AddAction): void {
    this.files.set(add.path, add);
    this.tombstones.delete(fileKey(add.path, dvId(add.deletionVector)));
  }

  removeFile(remove: RemoveAction): void {
    const dv = dvId(remove.deletionVector);
    const live = this.files.get(remove.path);
    if (live && dvId(live.deletionVector) === dv) this.files.delete(remove.path);
    this.tombstones.set(fileKey(remove.path, dv), remove);
  }

  setTxn(txn: TxnAction, commitVersion: number | undefined): void {
    this.txns.set(txn.appId, txn.lastUpdated === undefined ? { version: txn.version } : { version: txn.version, lastUpdated: txn.lastUpdated });
    if (commitVersion === undefined) this.txnCommitVersions.delete(txn.appId);
    else this.txnCommitVersions.set(txn.appId, commitVersion);
  }

  /**
   * Apply one commit (or a checkpoint, with `fromCheckpoint`) at `version`. Actions of one commit never
   * reconcile with each other (the protocol forbids it), so their order inside the commit does not matter.
   */
  apply(actions: readonly Action[], version: number, fromCheckpoint = false): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'add':
          this.addFile(action.add);
          break;
        case 'remove':
          this.removeFile(action.remove);
          break;
        case 'metaData':
          this.metadata = action.metaData;
          break;
        case 'protocol':
          this.protocol = action.protocol;
          break;
        case 'txn':
          this.setTxn(action.txn, fromCheckpoint ? undefined : version);
          break;
        default:
          break;
      }
    }
    this.version = version;
  }

  /** Drop tombstones deleted at or before `expiredBefore` (epoch ms): they leave the next checkpoint. */
  unexpiredTombstones(expiredBefore: number | undefined): RemoveAction[] {
    const out: RemoveAction[] = [];
    for (const remove of this.tombstones.values()) {
      if (expiredBefore === undefined || remove.deletionTimestamp > expiredBefore) out.push(remove);
    }
    return out;
  }
}
