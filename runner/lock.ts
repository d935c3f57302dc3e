/**
 * One run per state folder: `<state>/.lock` is a lease (connector-spec/lease): it names the run, host, boot id,
 * pid and process start time, and a heartbeat renews its expiry while the run lives. A lock whose holder is
 * provably gone on this host (pid absent, reused, or a zombie; the host rebooted) is taken over at once, with a
 * warning; one from another host once its lease has expired. A live holder is waited for up to `waitMs` (the
 * run's --max-wait; 0 fails at once) and then the run ends with RUNNER_LOCKED, a TransientError: the next
 * scheduled run continues.
 *
 * With Delta tables, two writers are safe anyway (put-if-absent commits); the lock saves their wasted work.
 */
import path from 'node:path';
import {
  TransientError,
  acquireLease,
  describeExpiry,
  describeHolder,
  leaseMsFromEnv,
  type Lease,
  type LeaseHeld,
  type LeaseRecord,
  type Logger,
  type ProcessIdentitySource,
} from '../connector-spec/index.js';

export const LOCK_NAME = '.lock';

export interface RunnerLockOptions {
  /** Wait this long for a live holder (--max-wait). Default 0: fail at once. */
  readonly waitMs?: number;
  /** Lease length (--lock-lease, LAKEFLOW_LOCK_LEASE_SECONDS through `lockLeaseMsFromEnv`); default 2 minutes. */
  readonly leaseMs?: number;
  /** Stops a wait for the lock (SIGTERM/SIGINT): acquireLock then throws the signal's reason. */
  readonly signal?: AbortSignal;
  /** The run id, written into the lock as its owner (default: a random id). */
  readonly runId?: string;
  /** Tests: injected process identity, clock and poll interval. */
  readonly identity?: ProcessIdentitySource;
  readonly now?: () => number;
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
}

export interface HeldLock {
  readonly file: string;
  /** The lease as last written: owner (run id), host, pid, start time, heartbeat and expiry. */
  readonly record: LeaseRecord;
  /** Aborts if another process took the lock over (this run's heartbeat stalled for a whole lease). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export function lockFile(stateDir: string): string {
  return path.join(stateDir, LOCK_NAME);
}

/** The lease length from the environment (`LAKEFLOW_LOCK_LEASE_SECONDS`), for the CLI; ConfigError when malformed. */
export function lockLeaseMsFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  return leaseMsFromEnv(env);
}

function runnerLockedError(held: LeaseHeld): TransientError {
  const { holder } = held;
  const waited = held.waitMs === 0 ? 'this run does not wait (--max-wait 0)' : `this run waited ${Math.round(held.waitedMs / 1000)} s (--max-wait ${Math.round(held.waitMs / 1000)} s)`;
  return new TransientError(
    `another run holds ${held.file} (${describeHolder(holder)}); wait for it to finish: ${describeExpiry(holder)}; ${waited}; the next scheduled run will continue where the holder stops`,
    {
      code: 'RUNNER_LOCKED',
      context: {
        path: held.file,
        pid: holder.pid,
        host: holder.host,
        run: holder.run,
        startedAt: holder.since,
        leaseExpiresAt: holder.leaseExpiresAt,
        heldBecause: holder.why,
      },
    },
  );
}

export async function acquireLock(stateDir: string, logger: Logger, options: RunnerLockOptions = {}): Promise<HeldLock> {
  const { runId, ...rest } = options;
  const lease: Lease = await acquireLease(lockFile(stateDir), { ...rest, logger, heldError: runnerLockedError, ...(runId !== undefined ? { owner: runId } : {}) });
  return {
    file: lease.file,
    get record() {
      return lease.record;
    },
    lost: lease.lost,
    release: () => lease.release(),
  };
}
