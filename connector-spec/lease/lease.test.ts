/**
 * The lease on the real file system, with an injected process identity: every takeover rule and its negative,
 * waiting (and what a waiting run says), the heartbeat, a lost lease, release, and contenders racing for a stale
 * lock (exactly one wins).
 */
import { mkdtemp, readFile, rm, rename, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../errors.js';
import type { Logger } from '../types.js';
import { acquireLease, leaseMsFromEnv, parseLeaseSeconds, type AcquireLeaseOptions, type Lease } from './lease.js';
import { formatLeaseRecord, newLeaseRecord, parseHolder, type LeaseRecord } from './lease-record.js';
import type { ProcessIdentity, ProcessIdentitySource, ProcessStatus } from './process-identity.js';

let dir: string;
let file: string;
const leases: Lease[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lease-'));
  file = path.join(dir, '.lock');
});
afterEach(async () => {
  for (const l of leases.splice(0)) await l.release();
  await rm(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const LEASE = 60_000;

/** This process, as a pod: pid 1 in its namespace (containers reuse pids), host pod-a. */
const ME: ProcessIdentity = { pid: 1, startTime: 'proc:9000', hostname: 'pod-a', bootId: 'boot-1', pidNamespace: 'pid:[222]' };

/** A fake host: what each pid is now. */
function host(self: ProcessIdentity, pids: Record<number, ProcessStatus> = {}): ProcessIdentitySource & { probes: number } {
  const source = {
    probes: 0,
    self: async () => self,
    inspect: async (pid: number): Promise<ProcessStatus> => {
      source.probes++;
      if (pid === self.pid) return { kind: 'running', startTime: self.startTime };
      return pids[pid] ?? { kind: 'absent' };
    },
  };
  return source;
}

function captureLogger(): Logger & { lines: { level: string; msg: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) => void lines.push({ level, msg, fields: { ...fields } });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function writeHolder(who: Partial<ProcessIdentity>, options: { owner?: string; atMs?: number; leaseMs?: number } = {}): Promise<LeaseRecord> {
  const self: ProcessIdentity = { pid: 14, startTime: 'proc:5000', hostname: 'pod-a', bootId: 'boot-1', pidNamespace: 'pid:[111]', ...who };
  const record = newLeaseRecord({ owner: options.owner ?? 'holder-run', self, nowMs: options.atMs ?? T0, leaseMs: options.leaseMs ?? LEASE });
  await writeFile(file, formatLeaseRecord(record));
  return record;
}

async function take(options: AcquireLeaseOptions): Promise<Lease> {
  const lease = await acquireLease(file, { now: () => T0 + 1000, leaseMs: LEASE, ...options });
  leases.push(lease);
  return lease;
}

async function lockOwner(): Promise<string | undefined> {
  const holder = parseHolder(await readFile(file, 'utf8'));
  return holder.kind === 'lease' ? holder.record.owner : undefined;
}

async function refused(options: AcquireLeaseOptions): Promise<TransientError> {
  const error = await take(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransientError);
  return error as TransientError;
}

describe('taking a free lock', () => {
  it('writes the whole lease record: owner, host, boot id, pid, start time, acquired, heartbeat and expiry', async () => {
    const lease = await take({ identity: host(ME), owner: 'run-1' });
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text)).toEqual({
      format: 1,
      owner: 'run-1',
      hostname: 'pod-a',
      bootId: 'boot-1',
      pid: 1,
      startTime: 'proc:9000',
      pidNamespace: 'pid:[222]',
      acquiredAt: '2026-12-01T10:00:01.000Z',
      heartbeatAt: '2026-12-01T10:00:01.000Z',
      expiresAt: '2026-12-01T10:01:01.000Z',
      leaseMs: LEASE,
    });
    expect(lease.record.owner).toBe('run-1');
    expect(lease.tookOverFrom).toBeUndefined();
  });
});

describe('takeover rules: a holder on this host', () => {
  it('a live owner on this host is never taken over, even with its lease long expired', async () => {
    const before = await writeHolder({ pid: 14 }, { atMs: T0 - 10 * LEASE });
    const identity = host(ME, { 14: { kind: 'running', startTime: 'proc:5000' } });
    const error = await refused({ identity, now: () => T0 + 100 * LEASE });
    expect(error.code).toBe('LEASE_HELD');
    expect(error.message).toContain('pid 14 on pod-a');
    expect(error.message).toContain('its process is running on this host, so it is not taken over before it exits');
    expect(identity.probes).toBeGreaterThan(0);
    expect(await readFile(file, 'utf8')).toBe(formatLeaseRecord(before));
  });

  it.each([
    ['process is not running', { kind: 'absent' } as const],
    ['process has exited (zombie, not reaped)', { kind: 'zombie' } as const],
    ['pid reused by another process (start time differs)', { kind: 'running', startTime: 'proc:7777' } as const],
  ])('takes over at once when the owner is provably gone: %s', async (reason, status) => {
    await writeHolder({ pid: 14 });
    const logger = captureLogger();
    const lease = await take({ identity: host(ME, { 14: status }), owner: 'me', logger });
    expect(await lockOwner()).toBe('me');
    expect(lease.tookOverFrom).toMatchObject({ reason, holder: { pid: 14, host: 'pod-a', run: 'holder-run' } });
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'taking over a stale lock', fields: expect.objectContaining({ reason, stalePid: 14 }) }));
  });

  it('a restarted container: the lock names our own pid (1) with another start time, so it is taken over at once', async () => {
    await writeHolder({ pid: ME.pid, startTime: 'proc:100', pidNamespace: 'pid:[111]' });
    const lease = await take({ identity: host(ME), owner: 'me' });
    expect(lease.tookOverFrom?.reason).toBe('pid reused by another process (start time differs)');
  });

  it('our own pid and start time is this very process: held (a second lease in the same process waits)', async () => {
    const first = await take({ identity: host(ME), owner: 'first' });
    const error = await refused({ identity: host(ME), owner: 'second' });
    expect(error.message).toContain('its process is running on this host');
    expect(await lockOwner()).toBe(first.record.owner);
  });

  it('no start time on either side (no /proc, no ps): a live pid holds, our own pid without our lease is an earlier process', async () => {
    const bare: ProcessIdentity = { pid: 1, hostname: 'pod-a' };
    await writeHolder({ pid: 14, startTime: undefined, bootId: undefined, pidNamespace: undefined });
    await refused({ identity: host(bare, { 14: { kind: 'running' } }) });
    await writeHolder({ pid: 1, startTime: undefined, bootId: undefined, pidNamespace: undefined });
    const lease = await take({ identity: host(bare), owner: 'me' });
    expect(lease.tookOverFrom?.reason).toBe('left by an earlier process with this pid');
  });

  it('the same boot and pid namespace is this host even under another hostname: a live owner holds', async () => {
    await writeHolder({ pid: 14, hostname: 'renamed', pidNamespace: ME.pidNamespace }, { atMs: T0 - 10 * LEASE });
    const error = await refused({ identity: host(ME, { 14: { kind: 'running', startTime: 'proc:5000' } }) });
    expect(error.message).toContain('its process is running on this host');
  });

  it('same hostname, another boot id: the machine rebooted, so the holder is gone even if its pid runs again', async () => {
    await writeHolder({ pid: 14, bootId: 'boot-0' });
    const lease = await take({ identity: host(ME, { 14: { kind: 'running', startTime: 'proc:5000' } }) });
    expect(lease.tookOverFrom?.reason).toBe('host rebooted since (boot id differs)');
  });
});

describe('takeover rules: a holder on another host', () => {
  it('waits while its lease is current and takes it once expired (heartbeat-at + lease < now)', async () => {
    const holder = await writeHolder({ pid: 1, hostname: 'pod-b', bootId: 'boot-2', pidNamespace: 'pid:[333]' }, { atMs: T0 });
    // Its pid means nothing here: even though pid 1 (we) runs, only the clock decides.
    const identity = host(ME);
    const error = await refused({ identity, now: () => Date.parse(holder.expiresAt) });
    expect(error.message).toContain(`its lease expires at ${holder.expiresAt} unless renewed (its lease is current (holder on another host))`);
    expect(error.context).toMatchObject({ holderHost: 'pod-b', holderPid: 1, holderRun: 'holder-run', leaseExpiresAt: holder.expiresAt });
    expect(identity.probes).toBe(0);
    const lease = await take({ identity, now: () => Date.parse(holder.expiresAt) + 1, owner: 'me' });
    expect(lease.tookOverFrom?.reason).toBe('lease expired (holder on another host)');
    expect(await lockOwner()).toBe('me');
  });

  it('a renewed lease holds again: only the heartbeat time counts, not when it was acquired', async () => {
    const old = await writeHolder({ hostname: 'pod-b', bootId: 'boot-2' }, { atMs: T0 - 10 * LEASE });
    const renewed = { ...old, heartbeatAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + LEASE).toISOString() };
    await writeFile(file, formatLeaseRecord(renewed));
    await refused({ identity: host(ME), now: () => T0 + LEASE - 1 });
  });
});

describe('takeover rules: files of earlier versions and unreadable files', () => {
  const legacy = (pid: number, hostname?: string) => JSON.stringify({ pid, startedAt: '2026-11-23T01:02:03.000Z', ...(hostname ? { hostname } : {}) });

  it('an old-format lock naming our own pid is an earlier process (container restart): taken over', async () => {
    await writeFile(file, legacy(ME.pid, 'pod-a'));
    const lease = await take({ identity: host(ME, {}) });
    expect(lease.tookOverFrom).toMatchObject({ reason: 'left by an earlier process with this pid', holder: { pid: 1, since: '2026-11-23T01:02:03.000Z' } });
  });

  it('an old-format lock of a live pid holds; of a dead pid or a zombie it is taken; the spool format (no host) is this host', async () => {
    await writeFile(file, legacy(14, 'pod-a'));
    const error = await refused({ identity: host(ME, { 14: { kind: 'running', startTime: 'proc:1' } }) });
    expect(error.message).toContain('pid 14 on pod-a, started 2026-11-23T01:02:03.000Z');
    expect((await take({ identity: host(ME, { 14: { kind: 'zombie' } }) })).tookOverFrom?.reason).toBe('process has exited (zombie, not reaped)');
    await leases.pop()!.release();
    await writeFile(file, legacy(14));
    await refused({ identity: host(ME, { 14: { kind: 'running' } }) });
    expect((await take({ identity: host(ME) })).tookOverFrom?.reason).toBe('process is not running');
  });

  it('an old-format lock from another host expires a lease after it was written (mtime)', async () => {
    await writeFile(file, legacy(14, 'pod-b'));
    const mtime = new Date(T0);
    await utimes(file, mtime, mtime);
    await refused({ identity: host(ME), now: () => T0 + LEASE - 1 });
    expect((await take({ identity: host(ME), now: () => T0 + LEASE + 1 })).tookOverFrom?.reason).toBe('lease expired (holder on another host)');
  });

  it.each(['', '{"pid":', 'not json', '{"format":1,"owner":"x"}', '{"format":2}'])('an unreadable lock file (%j) waits while recent and is taken once older than the lease', async (text) => {
    await writeFile(file, text);
    const mtime = new Date(T0);
    await utimes(file, mtime, mtime);
    const error = await refused({ identity: host(ME), now: () => T0 + LEASE - 1 });
    expect(error.message).toContain('an unreadable lock file');
    const lease = await take({ identity: host(ME), now: () => T0 + LEASE + 1, owner: 'me' });
    expect(lease.tookOverFrom?.reason).toBe('unreadable lock file older than the lease');
    expect(await lockOwner()).toBe('me');
  });
});

describe('waiting for a live holder', () => {
  it('fails at once with waitMs 0, saying nothing about waiting', async () => {
    await writeHolder({ pid: 14 });
    const logger = captureLogger();
    await refused({ identity: host(ME, { 14: { kind: 'running', startTime: 'proc:5000' } }), logger, waitMs: 0 });
    expect(logger.lines.filter((l) => l.msg === 'waiting for the lock')).toEqual([]);
  });

  it('says once who holds it and when its lease expires, again when the holder changes, and proceeds once it is released', async () => {
    const a = await writeHolder({ pid: 14 }, { owner: 'run-a' });
    const identity = host(ME, { 14: { kind: 'running', startTime: 'proc:5000' }, 15: { kind: 'running', startTime: 'proc:6000' } });
    const logger = captureLogger();
    const waiting = acquireLease(file, { identity, logger, waitMs: 60_000, pollMs: 5, leaseMs: LEASE, owner: 'me' });
    const polls = async (n: number) => {
      const target = identity.probes + n;
      while (identity.probes < target) await new Promise((r) => setTimeout(r, 2));
    };
    await polls(5);
    // Another run takes over from run-a in one atomic step (as a takeover does): the waiting run names it too.
    const bTemp = `${file}.b`;
    const b = newLeaseRecord({ owner: 'run-b', self: { pid: 15, startTime: 'proc:6000', hostname: 'pod-a', bootId: 'boot-1' }, nowMs: T0, leaseMs: LEASE });
    await writeFile(bTemp, formatLeaseRecord(b));
    await rename(bTemp, file);
    await polls(5);
    await rm(file); // run-b releases
    const lease = await waiting;
    leases.push(lease);
    expect(lease.tookOverFrom).toBeUndefined();
    expect(await lockOwner()).toBe('me');
    const said = logger.lines.filter((l) => l.msg === 'waiting for the lock').map((l) => l.fields);
    expect(said).toEqual([
      expect.objectContaining({ path: file, holderRun: 'run-a', holderHost: 'pod-a', holderPid: 14, holderSince: a.acquiredAt, leaseExpiresAt: a.expiresAt, heldBecause: 'its process is running on this host' }),
      expect.objectContaining({ holderRun: 'run-b', holderPid: 15, leaseExpiresAt: b.expiresAt }),
    ]);
  });

  it('gives up at its deadline with an error naming the holder and its lease expiry', async () => {
    const holder = await writeHolder({ pid: 14 });
    let clock = T0;
    const logger = captureLogger();
    const error = await refused({
      identity: host(ME, { 14: { kind: 'running', startTime: 'proc:5000' } }),
      logger,
      waitMs: 500,
      pollMs: 1,
      now: () => (clock += 50),
    });
    expect(error.code).toBe('LEASE_HELD');
    expect(error.message).toMatch(/gave up after waiting \d+ s/);
    expect(error.message).toContain(holder.expiresAt);
    const said = logger.lines.filter((l) => l.msg === 'waiting for the lock');
    expect(said).toHaveLength(1);
    expect(said[0]!.fields['giveUpAt']).toBe(new Date(T0 + 50 + 500).toISOString());
  });

  it('a holder on another host is taken as soon as its lease expires during the wait', async () => {
    const holder = await writeHolder({ hostname: 'pod-b', bootId: 'boot-2' });
    let clock = T0;
    const lease = await take({ identity: host(ME), waitMs: 10 * LEASE, pollMs: 1, now: () => (clock += 5000) });
    expect(lease.tookOverFrom?.reason).toBe('lease expired (holder on another host)');
    expect(Date.parse(lease.record.acquiredAt)).toBeGreaterThan(Date.parse(holder.expiresAt));
  });

  it('awaitForeignExpiry waits out a lease that is not renewed, past waitMs, but not one that is renewed', async () => {
    const holder = await writeHolder({ hostname: 'pod-b', bootId: 'boot-2' });
    let clock = T0;
    const lease = await take({ identity: host(ME), waitMs: 0, awaitForeignExpiry: true, pollMs: 1, now: () => (clock += 5000) });
    expect(Date.parse(lease.record.acquiredAt)).toBeGreaterThan(Date.parse(holder.expiresAt));
    await lease.release();
    // A renewing holder on another host: the wait ends at the first expiry seen.
    clock = T0;
    await writeHolder({ hostname: 'pod-b', bootId: 'boot-2' });
    const renewing = setInterval(() => {
      const r = newLeaseRecord({ owner: 'holder-run', self: { pid: 14, hostname: 'pod-b', bootId: 'boot-2' }, nowMs: clock, leaseMs: LEASE });
      void writeFile(`${file}.r`, formatLeaseRecord(r)).then(() => rename(`${file}.r`, file)).catch(() => undefined);
    }, 1);
    try {
      const error = await refused({ identity: host(ME), waitMs: 0, awaitForeignExpiry: true, pollMs: 1, now: () => (clock += 500) });
      expect(error.message).toContain('pod-b');
    } finally {
      clearInterval(renewing);
    }
  });

  it('an abort signal stops the wait with its reason', async () => {
    await writeHolder({ pid: 14 });
    const controller = new AbortController();
    const waiting = take({ identity: host(ME, { 14: { kind: 'running', startTime: 'proc:5000' } }), waitMs: 60_000, pollMs: 5, signal: controller.signal });
    const stop = new Error('SIGTERM');
    setTimeout(() => controller.abort(stop), 20);
    await expect(waiting).rejects.toBe(stop);
  });
});

describe('heartbeat, loss and release', () => {
  it('renew() rewrites heartbeat and expiry in place; the timer renews on its own', async () => {
    let clock = T0;
    const lease = await take({ identity: host(ME), now: () => clock, owner: 'me' });
    clock = T0 + 30_000;
    expect(await lease.renew()).toBe(true);
    const after = JSON.parse(await readFile(file, 'utf8')) as LeaseRecord;
    expect(after).toMatchObject({ owner: 'me', acquiredAt: new Date(T0).toISOString(), heartbeatAt: new Date(T0 + 30_000).toISOString(), expiresAt: new Date(T0 + 30_000 + LEASE).toISOString() });
    expect(lease.record).toEqual(after);

    const auto = await acquireLease(path.join(dir, 'other.lock'), { identity: host(ME), leaseMs: 90, heartbeatMs: 10, now: () => (clock += 1000) });
    leases.push(auto);
    const first = auto.record.heartbeatAt;
    while (auto.record.heartbeatAt === first) await new Promise((r) => setTimeout(r, 5));
    const onDisk = JSON.parse(await readFile(path.join(dir, 'other.lock'), 'utf8')) as LeaseRecord;
    expect(Date.parse(onDisk.heartbeatAt)).toBeGreaterThan(Date.parse(first));
  });

  it('a lease taken over by another process is lost: renew() says so, `lost` aborts, release() leaves the new holder alone', async () => {
    const lease = await take({ identity: host(ME), owner: 'me' });
    const theirs = await writeHolder({ hostname: 'pod-b' }, { owner: 'them' });
    expect(await lease.renew()).toBe(false);
    expect(lease.lost.aborted).toBe(true);
    expect(lease.lost.reason).toMatchObject({ code: 'LEASE_LOST' });
    await lease.release();
    expect(await readFile(file, 'utf8')).toBe(formatLeaseRecord(theirs));
  });

  it('release() removes the file only while it names us', async () => {
    const lease = await take({ identity: host(ME), owner: 'me' });
    await lease.release();
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
    await lease.release(); // idempotent
  });
});

describe('contenders racing for a stale lock', () => {
  it('a contender that judged the stale version before another took it over leaves the new holder alone', async () => {
    await writeHolder({ pid: 14 }, { owner: 'dead' });
    // B's probe of the dead pid is held back until A has taken the lock over: B then acts on a stale judgement.
    let aDone!: () => void;
    const aTookOver = new Promise<void>((r) => (aDone = r));
    let bProbing!: () => void;
    const bJudging = new Promise<void>((r) => (bProbing = r));
    const b: ProcessIdentitySource = {
      self: async () => ({ ...ME, pid: 200, startTime: 'proc:200' }),
      inspect: async (pid) => {
        if (pid === 14) {
          bProbing();
          await aTookOver;
          return { kind: 'absent' };
        }
        return pid === 100 ? { kind: 'running', startTime: 'proc:100' } : { kind: 'absent' };
      },
    };
    const bResult = take({ identity: b, owner: 'B' }).then(
      () => 'won',
      (e: unknown) => (e as TransientError).code,
    );
    await bJudging; // B has read the stale file and is probing pid 14
    const a = await take({ identity: host({ ...ME, pid: 100, startTime: 'proc:100' }), owner: 'A' });
    expect(a.tookOverFrom?.reason).toBe('process is not running');
    aDone();
    expect(await bResult).toBe('LEASE_HELD');
    expect(await lockOwner()).toBe('A');
  });

  it('exactly one wins, every time (real concurrent acquisitions on the real file system)', async () => {
    const rounds = 30;
    const contenders = 6;
    for (let round = 0; round < rounds; round++) {
      const stale = newLeaseRecord({ owner: `dead-${round}`, self: { pid: 14, startTime: 'proc:5000', hostname: 'pod-a', bootId: 'boot-1' }, nowMs: T0, leaseMs: LEASE });
      await writeFile(file, formatLeaseRecord(stale));
      // Every contender is a live process on this host (pids 100…105); the stale holder (14) is gone.
      const alive: Record<number, ProcessStatus> = Object.fromEntries(Array.from({ length: contenders }, (_, i) => [100 + i, { kind: 'running', startTime: `proc:${100 + i}` }]));
      const results = await Promise.allSettled(
        Array.from({ length: contenders }, (_, i) =>
          acquireLease(file, { identity: host({ ...ME, pid: 100 + i, startTime: `proc:${100 + i}` }, alive), owner: `c${i}`, leaseMs: LEASE, now: () => T0 + 1000 }),
        ),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<Lease> => r.status === 'fulfilled').map((r) => r.value);
      expect(won, `round ${round}`).toHaveLength(1);
      expect(await lockOwner()).toBe(won[0]!.record.owner);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as TransientError).code).toBe('LEASE_HELD');
      await won[0]!.release();
    }
  });
});

describe('lease length from a flag or the environment', () => {
  it('parses seconds and names the variable and the range when malformed', () => {
    expect(leaseMsFromEnv({})).toBeUndefined();
    expect(leaseMsFromEnv({ LAKEFLOW_LOCK_LEASE_SECONDS: '300' })).toBe(300_000);
    expect(parseLeaseSeconds('10.5', '--lock-lease')).toBe(10_500);
    expect(() => leaseMsFromEnv({ LAKEFLOW_LOCK_LEASE_SECONDS: 'two minutes' })).toThrow(/LAKEFLOW_LOCK_LEASE_SECONDS=two minutes: expected a lease length in seconds between 3 and 86400 \(default 120\)/);
    expect(() => parseLeaseSeconds('0', '--lock-lease')).toThrow(/--lock-lease=0/);
  });
});
