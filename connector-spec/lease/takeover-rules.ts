/**
 * The takeover rules: may a lock file be taken over now, and if not, until when does it hold?
 *
 * - The holder is on this host (same hostname, and the same boot id when both are known; or the same boot id and
 *   pid namespace): it is gone, and the lock is taken over at once, when its pid is absent, is a zombie, or runs
 *   a process with another start time (the pid was reused, as in a restarted container). A live owner on this
 *   host is never taken over, whatever its lease says: a stuck heartbeat is not proof.
 * - Same hostname, other boot id: the machine rebooted since, which proves the holder gone.
 * - Another host: its pid means nothing here, so the lock is taken over once its lease has expired
 *   (heartbeat-at + lease < now).
 * - Unreadable file: taken over once it is older (mtime) than a lease.
 *
 * Pure: the caller reads the file, asks the process probe when the verdict says so, and passes the answers in.
 */
import type { Holder } from './lease-record.js';
import type { ProcessIdentity, ProcessStatus } from './process-identity.js';

export type StaleReason =
  | 'process is not running'
  | 'process has exited (zombie, not reaped)'
  | 'pid reused by another process (start time differs)'
  | 'left by an earlier process with this pid'
  | 'host rebooted since (boot id differs)'
  | 'lease expired (holder on another host)'
  | 'unreadable lock file older than the lease';

export type HeldReason =
  /** Its process runs on this host: never taken over while it does. */
  | 'its process is running on this host'
  /** On another host, within its lease. */
  | 'its lease is current (holder on another host)'
  | 'the lock file is unreadable and recent'
  /** Stale, and another contender is replacing it at this moment. */
  | 'another process is taking it over';

export type Verdict =
  | { readonly kind: 'stale'; readonly reason: StaleReason }
  /** `expiresAtMs` undefined: it does not expire while its process runs. */
  | { readonly kind: 'held'; readonly reason: HeldReason; readonly expiresAtMs: number | undefined }
  /** Same host: ask the process probe about `pid`, then call `judgeLocalHolder`. */
  | { readonly kind: 'probe'; readonly pid: number };

export type Locality = 'this-host' | 'rebooted' | 'other-host';

function known(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

export function locality(holder: { readonly hostname?: string | undefined; readonly bootId?: string | undefined; readonly pidNamespace?: string | undefined }, self: ProcessIdentity): Locality {
  const bothBoots = known(holder.bootId) && known(self.bootId);
  // One kernel and one pid namespace: a pid means the same thing to both, whatever the hostnames say.
  if (bothBoots && holder.bootId === self.bootId && known(holder.pidNamespace) && holder.pidNamespace === self.pidNamespace) return 'this-host';
  // The spool's legacy lock names no host: it was always taken on the machine that owns the folder.
  if (holder.hostname === undefined || holder.hostname === self.hostname) return bothBoots && holder.bootId !== self.bootId ? 'rebooted' : 'this-host';
  return 'other-host';
}

export interface JudgeInput {
  readonly holder: Holder;
  /** The lock file's modification time. */
  readonly mtimeMs: number;
  readonly self: ProcessIdentity;
  readonly nowMs: number;
  /** Our lease: the expiry of holders that record none (legacy, unreadable). */
  readonly leaseMs: number;
}

export function judgeHolder(input: JudgeInput): Verdict {
  const { holder, self, nowMs } = input;
  if (holder.kind === 'unreadable') {
    const expiresAtMs = input.mtimeMs + input.leaseMs;
    return nowMs > expiresAtMs ? { kind: 'stale', reason: 'unreadable lock file older than the lease' } : { kind: 'held', reason: 'the lock file is unreadable and recent', expiresAtMs };
  }
  const where = locality(holder.kind === 'lease' ? holder.record : holder, self);
  if (where === 'rebooted') return { kind: 'stale', reason: 'host rebooted since (boot id differs)' };
  if (where === 'other-host') {
    const expiresAtMs = holder.kind === 'lease' ? Date.parse(holder.record.expiresAt) : input.mtimeMs + input.leaseMs;
    return nowMs > expiresAtMs ? { kind: 'stale', reason: 'lease expired (holder on another host)' } : { kind: 'held', reason: 'its lease is current (holder on another host)', expiresAtMs };
  }
  const pid = holder.kind === 'lease' ? holder.record.pid : holder.pid;
  // This version never writes a legacy record, so one that names our own pid is an earlier process's
  // (containers hand out the same pids again after a restart).
  if (holder.kind === 'legacy' && pid === self.pid) return { kind: 'stale', reason: 'left by an earlier process with this pid' };
  return { kind: 'probe', pid };
}

export interface JudgeLocalInput {
  readonly holder: Holder;
  readonly status: ProcessStatus;
  readonly self: ProcessIdentity;
  /** True when this very process holds the lease (the owner id is one of ours). */
  readonly heldByThisProcess: boolean;
}

/** The verdict for a holder on this host, given what its pid is now. */
export function judgeLocalHolder(input: JudgeLocalInput): Verdict {
  const { holder, status, self } = input;
  if (status.kind === 'absent') return { kind: 'stale', reason: 'process is not running' };
  if (status.kind === 'zombie') return { kind: 'stale', reason: 'process has exited (zombie, not reaped)' };
  const recorded = holder.kind === 'lease' ? holder.record.startTime : undefined;
  if (comparable(recorded, status.startTime) && recorded !== status.startTime) return { kind: 'stale', reason: 'pid reused by another process (start time differs)' };
  // No start time to compare (a platform without /proc or ps): our own pid on a lease we do not hold is an
  // earlier process's.
  if (holder.kind === 'lease' && holder.record.pid === self.pid && !comparable(recorded, status.startTime) && !input.heldByThisProcess) {
    return { kind: 'stale', reason: 'left by an earlier process with this pid' };
  }
  return { kind: 'held', reason: 'its process is running on this host', expiresAtMs: undefined };
}

function comparable(a: string | undefined, b: string | undefined): a is string {
  if (!known(a) || !known(b)) return false;
  return a.slice(0, a.indexOf(':') + 1) === b.slice(0, b.indexOf(':') + 1);
}
