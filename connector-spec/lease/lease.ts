/**
 * A lock that never needs a person after a crash: a lease file that names its holder (owner id, host, boot id,
 * pid, process start time), is renewed by a heartbeat, and is taken over by the rules in takeover-rules.ts.
 *
 * ```ts
 * const lease = await acquireLease(path.join(stateDir, '.lock'), { waitMs: 5 * 60_000, logger, signal });
 * try { ...; if (lease.lost.aborted) stop(); } finally { await lease.release(); }
 * ```
 *
 * Free: the record is put in place with put-if-absent (hard link), so of two runs exactly one wins.
 * Held by a live owner: poll until it is released, provably gone or expired, up to `waitMs`; say once (and on a
 * change of holder) who holds it and when its lease expires; at the deadline throw `heldError(...)` (a
 * TransientError). Stale: take it over without a race. The contenders first claim the stale version
 * (put-if-absent of `<file>.takeover-<hash of that exact file>-<n>`), so one of them, and only one, checks that
 * the file is still that version, removes it and puts its own record in place. A claim whose claimant died is
 * itself stale (same rules), and the next contender claims `<n + 1>`.
 *
 * The heartbeat (an unref'd timer, every lease/3) rewrites the record with a new expiry only while the file still
 * names us; if another process took the lock over (our heartbeat stalled for a whole lease and a run on another
 * host took it), `lost` aborts. `release()` removes the file only if it still names us.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, TransientError } from '../errors.js';
import type { Logger } from '../types.js';
import { fsyncDir, isErrno, isTempOf, putIfAbsent, readSnapshot, replaceIf, sameSnapshot, type LockSnapshot } from './lease-file.js';
import { formatLeaseRecord, newLeaseRecord, parseHolder, renewedRecord, type Holder, type LeaseRecord } from './lease-record.js';
import { systemIdentity, type ProcessIdentity, type ProcessIdentitySource } from './process-identity.js';
import { judgeHolder, judgeLocalHolder, type HeldReason, type StaleReason, type Verdict } from './takeover-rules.js';

/** Two minutes: a crashed holder on another host blocks the lock at most this long. */
export const DEFAULT_LEASE_MS = 120_000;
/** Environment variable for the lease length in seconds (the CLI reads it; library code never does). */
export const LEASE_ENV = 'LAKEFLOW_LOCK_LEASE_SECONDS';
const MIN_LEASE_SECONDS = 3;
const MAX_LEASE_SECONDS = 86_400;
const MAX_CLAIMS = 8;

/** Who holds (or held) a lock file. */
export interface HolderFields {
  /** The holder's owner id (the run id when its caller passed one); absent for files of earlier versions. */
  readonly run?: string | undefined;
  readonly host?: string | undefined;
  readonly pid?: number | undefined;
  /** When it took the lock (ISO). */
  readonly since?: string | undefined;
  /** When its lease runs out unless renewed (ISO). */
  readonly leaseExpiresAt?: string | undefined;
}

/** Who holds a lock and why it is not taken over, as a waiting run reports it. */
export interface LeaseHolderInfo extends HolderFields {
  readonly why: HeldReason;
}

export interface LeaseHeld {
  readonly file: string;
  readonly holder: LeaseHolderInfo;
  readonly waitedMs: number;
  readonly waitMs: number;
}

export interface AcquireLeaseOptions {
  /** How long to wait for a live holder (the run's --max-wait). 0 (default): fail at once. */
  readonly waitMs?: number;
  /**
   * Also wait out the lease of a holder that may already be dead but cannot be proven so (another host, or an
   * unreadable file), even past `waitMs`; a holder that renews meanwhile is alive, and the wait ends at
   * `waitMs`. For servers (the proxy) that would otherwise restart in a loop until the lease expires.
   */
  readonly awaitForeignExpiry?: boolean;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Lease length (default 2 minutes); the heartbeat renews it every third of it. */
  readonly leaseMs?: number;
  readonly heartbeatMs?: number;
  /** How often a waiting run looks again (default lease/20, between 50 ms and 1 s). */
  readonly pollMs?: number;
  /** Process identity and probe; tests inject one to play pid reuse, zombies and host moves. */
  readonly identity?: ProcessIdentitySource;
  readonly now?: () => number;
  /** Owner id written into the lease (default: a random UUID). */
  readonly owner?: string;
  /** The error thrown when `waitMs` runs out (default: TransientError LEASE_HELD). */
  readonly heldError?: (held: LeaseHeld) => Error;
}

export interface Lease {
  readonly file: string;
  /** The record as last written (the heartbeat updates it). */
  readonly record: LeaseRecord;
  /** Set when this lease replaced a stale holder. */
  readonly tookOverFrom?: { readonly holder: HolderFields; readonly reason: StaleReason } | undefined;
  /** Aborts (reason: a TransientError LEASE_LOST) if another process took the lock over. */
  readonly lost: AbortSignal;
  /** Renew now (the heartbeat calls this); false once the lease is lost or released. */
  renew(): Promise<boolean>;
  /** Stop the heartbeat and remove the file if it still names us. Idempotent. */
  release(): Promise<void>;
}

/** Owner ids of the leases this process holds (a lease with our pid and no start time is ours only if listed). */
const heldHere = new Set<string>();

/** Parse a lease length in seconds from a flag or the environment; `source` names it in the error. */
export function parseLeaseSeconds(value: string, source: string): number {
  const seconds = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < MIN_LEASE_SECONDS || seconds > MAX_LEASE_SECONDS) {
    throw new ConfigError(`${source}=${value}: expected a lease length in seconds between ${MIN_LEASE_SECONDS} and ${MAX_LEASE_SECONDS} (default ${DEFAULT_LEASE_MS / 1000})`, {
      code: 'LOCK_LEASE_INVALID',
    });
  }
  return Math.round(seconds * 1000);
}

/** The lease length from `LAKEFLOW_LOCK_LEASE_SECONDS`, in ms; undefined when unset. */
export function leaseMsFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const value = env[LEASE_ENV];
  return value === undefined || value === '' ? undefined : parseLeaseSeconds(value, LEASE_ENV);
}

export function describeHolder(holder: LeaseHolderInfo): string {
  const parts = [holder.pid !== undefined ? `pid ${holder.pid} on ${holder.host ?? 'this host'}` : 'an unreadable lock file'];
  if (holder.since !== undefined) parts.push(`started ${holder.since}`);
  if (holder.run !== undefined) parts.push(`run ${holder.run}`);
  return parts.join(', ');
}

export function describeExpiry(holder: LeaseHolderInfo): string {
  if (holder.why === 'its process is running on this host') {
    return `its process is running on this host, so it is not taken over before it exits${holder.leaseExpiresAt !== undefined ? ` (its lease runs to ${holder.leaseExpiresAt} and is renewed while it runs)` : ''}`;
  }
  if (holder.why === 'another process is taking it over') return 'it was stale and another process is taking it over right now';
  return `its lease expires at ${holder.leaseExpiresAt ?? 'an unknown time'} unless renewed (${holder.why})`;
}

function defaultHeldError(held: LeaseHeld): Error {
  const { holder } = held;
  return new TransientError(
    `${held.file} is held (${describeHolder(holder)}); ${describeExpiry(holder)}; gave up after waiting ${Math.round(held.waitedMs / 1000)} s; try again later`,
    { code: 'LEASE_HELD', context: { path: held.file, holderPid: holder.pid, holderHost: holder.host, holderRun: holder.run, leaseExpiresAt: holder.leaseExpiresAt } },
  );
}

function holderFields(holder: Holder, snap: LockSnapshot, leaseMs: number): HolderFields {
  if (holder.kind === 'lease') {
    const r = holder.record;
    return { run: r.owner, host: r.hostname, pid: r.pid, since: r.acquiredAt, leaseExpiresAt: r.expiresAt };
  }
  // Files without an expiry expire a lease after they were last written.
  const leaseExpiresAt = new Date(snap.mtimeMs + leaseMs).toISOString();
  if (holder.kind === 'legacy') return { host: holder.hostname, pid: holder.pid, since: holder.startedAt, leaseExpiresAt };
  return { leaseExpiresAt };
}

function holderKey(holder: Holder, snap: LockSnapshot): string {
  if (holder.kind === 'lease') return `lease:${holder.record.owner}`;
  if (holder.kind === 'legacy') return `legacy:${holder.pid}:${holder.startedAt ?? ''}`;
  return `unreadable:${snap.ino}`;
}

function ownerOf(snap: LockSnapshot | undefined): string | undefined {
  if (snap === undefined) return undefined;
  const holder = parseHolder(snap.text);
  return holder.kind === 'lease' ? holder.record.owner : undefined;
}

interface Judge {
  readonly self: ProcessIdentity;
  readonly identity: ProcessIdentitySource;
  readonly now: () => number;
  readonly leaseMs: number;
}

async function judge(snap: LockSnapshot, holder: Holder, j: Judge): Promise<Exclude<Verdict, { kind: 'probe' }>> {
  const verdict = judgeHolder({ holder, mtimeMs: snap.mtimeMs, self: j.self, nowMs: j.now(), leaseMs: j.leaseMs });
  if (verdict.kind !== 'probe') return verdict;
  const status = await j.identity.inspect(verdict.pid);
  const result = judgeLocalHolder({ holder, status, self: j.self, heldByThisProcess: holder.kind === 'lease' && heldHere.has(holder.record.owner) });
  return result.kind === 'probe' ? { kind: 'held', reason: 'its process is running on this host', expiresAtMs: undefined } : result;
}

type TakeoverResult = 'won' | 'lost' | 'busy';

/** Replace the stale version `snap` of `file` with `text`; exactly one contender for that version wins. */
async function takeOver(file: string, snap: LockSnapshot, text: string, claimText: string, j: Judge): Promise<TakeoverResult> {
  const version = createHash('sha256').update(`${snap.ino}:${snap.text}`).digest('hex').slice(0, 16);
  let claim: string | undefined;
  for (let n = 0; n < MAX_CLAIMS && claim === undefined; n++) {
    const name = `${file}.takeover-${version}-${n}`;
    if (await putIfAbsent(name, claimText)) {
      claim = name;
      break;
    }
    const other = await readSnapshot(name);
    if (other === undefined) return 'lost'; // a winner cleaned the claims up: the lock has a new holder
    const verdict = await judge(other, parseHolder(other.text), j);
    if (verdict.kind !== 'stale') return 'busy'; // a live contender is taking it over
  }
  if (claim === undefined) return 'busy';
  try {
    if (!sameSnapshot(await readSnapshot(file), snap)) return 'lost';
    try {
      await fs.unlink(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 'lost';
      throw error;
    }
    return (await putIfAbsent(file, text)) ? 'won' : 'lost';
  } finally {
    await fs.rm(claim, { force: true });
  }
}

/**
 * Remove claims and temp files that crashed contenders left next to `file`. Claims go at once (the version they
 * claim is gone now that we hold the lock); temp files once a lease old by the real clock (they are real files).
 */
async function sweepLeftovers(file: string, leaseMs: number): Promise<void> {
  const nowMs = Date.now();
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    if (name.startsWith(`${base}.takeover-`) && /-[0-9a-f]{16}-\d+$/.test(name)) {
      await fs.rm(full, { force: true });
    } else if (isTempOf(file, name)) {
      try {
        const stat = await fs.stat(full);
        if (nowMs - stat.mtimeMs > leaseMs) await fs.rm(full, { force: true });
      } catch {
        // gone already
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function acquireLease(file: string, options: AcquireLeaseOptions = {}): Promise<Lease> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new ConfigError(`lease length ${leaseMs} ms: expected a positive whole number of milliseconds`, { code: 'LOCK_LEASE_INVALID' });
  const waitMs = Math.max(0, options.waitMs ?? 0);
  const now = options.now ?? Date.now;
  const identity = options.identity ?? systemIdentity;
  const pollMs = options.pollMs ?? Math.min(1000, Math.max(50, Math.floor(leaseMs / 20)));
  const logger = options.logger;
  const owner = options.owner ?? randomUUID();
  const heldError = options.heldError ?? defaultHeldError;

  await fs.mkdir(path.dirname(file), { recursive: true });
  const self = await identity.self();
  const j: Judge = { self, identity, now, leaseMs };
  const startedMs = now();
  let deadlineMs = startedMs + waitMs;
  let extendedForExpiry = false;
  let loggedKey: string | undefined;

  for (;;) {
    options.signal?.throwIfAborted();
    const record = newLeaseRecord({ owner, self, nowMs: now(), leaseMs });
    if (await putIfAbsent(file, formatLeaseRecord(record))) return startLease(file, record, undefined, options, now, leaseMs);

    const snap = await readSnapshot(file);
    if (snap === undefined) continue; // released in between: try again at once
    const holder = parseHolder(snap.text);
    const verdict = await judge(snap, holder, j);
    if (verdict.kind === 'stale') {
      // Stamped now, after the judgement: a lease taken over never starts before the old one ended.
      const fresh = newLeaseRecord({ owner, self, nowMs: now(), leaseMs });
      const result = await takeOver(file, snap, formatLeaseRecord(fresh), formatLeaseRecord(fresh), j);
      const stale = holderFields(holder, snap, leaseMs);
      if (result === 'won') {
        logger?.warn('taking over a stale lock', {
          path: file,
          reason: verdict.reason,
          stalePid: stale.pid,
          staleHost: stale.host,
          staleRun: stale.run,
          staleStartedAt: stale.since,
          staleLeaseExpiresAt: stale.leaseExpiresAt,
        });
        return startLease(file, fresh, { holder: stale, reason: verdict.reason }, options, now, leaseMs);
      }
      if (result === 'lost') continue; // another contender took it: look at the new holder
      // 'busy': another process is taking the stale lock over right now (a matter of milliseconds).
      const t = now();
      if (t >= deadlineMs) throw heldError({ file, holder: { ...stale, why: 'another process is taking it over' }, waitedMs: t - startedMs, waitMs });
      await sleep(Math.min(pollMs, 20, deadlineMs - t), options.signal);
      continue;
    }

    const info: LeaseHolderInfo = { ...holderFields(holder, snap, leaseMs), why: verdict.reason };
    if (options.awaitForeignExpiry && !extendedForExpiry && verdict.expiresAtMs !== undefined) {
      deadlineMs = Math.max(deadlineMs, verdict.expiresAtMs + pollMs);
      extendedForExpiry = true;
    }
    const t = now();
    if (t >= deadlineMs) {
      // Its lease ran out while we looked: judge it again rather than give up on a holder that just expired.
      if (verdict.expiresAtMs !== undefined && t > verdict.expiresAtMs) continue;
      throw heldError({ file, holder: info, waitedMs: t - startedMs, waitMs });
    }
    const key = holderKey(holder, snap);
    if (key !== loggedKey) {
      loggedKey = key;
      logger?.info('waiting for the lock', {
        path: file,
        holderRun: info.run,
        holderHost: info.host,
        holderPid: info.pid,
        holderSince: info.since,
        leaseExpiresAt: info.leaseExpiresAt,
        heldBecause: info.why,
        giveUpAt: new Date(deadlineMs).toISOString(),
      });
    }
    const untilExpiry = verdict.expiresAtMs === undefined ? Infinity : verdict.expiresAtMs - t + 1;
    await sleep(Math.min(pollMs, deadlineMs - t, untilExpiry), options.signal);
  }
}

function startLease(
  file: string,
  first: LeaseRecord,
  tookOverFrom: Lease['tookOverFrom'],
  options: AcquireLeaseOptions,
  now: () => number,
  leaseMs: number,
): Lease {
  heldHere.add(first.owner);
  void sweepLeftovers(file, leaseMs).catch(() => undefined);
  const lostController = new AbortController();
  let current = first;
  let done = false;
  let chain: Promise<unknown> = Promise.resolve();

  const stillOurs = async (): Promise<boolean> => ownerOf(await readSnapshot(file)) === first.owner;

  const markLost = (why: string): void => {
    if (done) return;
    done = true;
    clearInterval(timer);
    heldHere.delete(first.owner);
    const error = new TransientError(`lost the lock ${file}: ${why}; another process took it over after this one's lease ran out (its heartbeat stalled for a whole lease); stop and let the next scheduled run continue`, {
      code: 'LEASE_LOST',
      context: { path: file },
    });
    options.logger?.error('lost the lock', { path: file, reason: why, run: first.owner });
    lostController.abort(error);
  };

  const renewOnce = async (): Promise<boolean> => {
    if (done) return false;
    const next = renewedRecord(current, now());
    const written = await replaceIf(file, formatLeaseRecord(next), stillOurs);
    if (done) return false;
    if (!written) {
      markLost('the lock file names another holder, or is gone');
      return false;
    }
    current = next;
    return true;
  };

  const renew = (): Promise<boolean> => {
    const run = chain.then(renewOnce, renewOnce);
    chain = run.catch(() => undefined);
    return run;
  };

  const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(leaseMs / 3));
  const timer = setInterval(() => {
    renew().catch((error: unknown) => {
      options.logger?.warn('lock heartbeat failed; retrying at the next beat', { path: file, error: error instanceof Error ? error.message : String(error) });
    });
  }, heartbeatMs);
  timer.unref();

  return {
    file,
    get record() {
      return current;
    },
    tookOverFrom,
    lost: lostController.signal,
    renew,
    async release() {
      if (done) return;
      done = true;
      clearInterval(timer);
      await chain;
      heldHere.delete(first.owner);
      if (await stillOurs()) {
        await fs.rm(file, { force: true });
        await fsyncDir(path.dirname(file));
      }
    },
  };
}
