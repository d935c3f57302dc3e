/** The runner's state-folder lock: a lease at <state>/.lock, RUNNER_LOCKED naming holder and expiry, waiting. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientError, type LeaseRecord, type ProcessIdentitySource } from '../connector-spec/index.js';
import { acquireLock, lockFile, lockLeaseMsFromEnv, type HeldLock } from './lock.js';
import { captureLogger } from './testing/harness.js';

let state: string;
const held: HeldLock[] = [];
beforeEach(async () => {
  state = await mkdtemp(path.join(os.tmpdir(), 'runner-lock-'));
});
afterEach(async () => {
  for (const l of held.splice(0)) await l.release();
  await rm(state, { recursive: true, force: true });
});

const onDisk = async (): Promise<LeaseRecord> => JSON.parse(await readFile(lockFile(state), 'utf8')) as LeaseRecord;

async function lockedError(promise: Promise<HeldLock>): Promise<TransientError> {
  const error = await promise.then(
    (l) => {
      held.push(l);
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransientError);
  return error as TransientError;
}

describe('acquireLock', () => {
  it('writes the lease at <state>/.lock with the run id as owner, and release() removes it', async () => {
    const lock = await acquireLock(state, captureLogger(), { runId: 'run-42', leaseMs: 90_000 });
    expect(lock.file).toBe(path.join(state, '.lock'));
    const record = await onDisk();
    expect(record).toMatchObject({ format: 1, owner: 'run-42', pid: process.pid, hostname: os.hostname(), leaseMs: 90_000 });
    expect(Date.parse(record.expiresAt) - Date.parse(record.heartbeatAt)).toBe(90_000);
    expect(lock.record).toEqual(record);
    expect(lock.lost.aborted).toBe(false);
    await lock.release();
    await expect(readFile(lockFile(state))).rejects.toThrow(/ENOENT/);
  });

  it('a second run fails at once by default with RUNNER_LOCKED naming the holder, its lease and that the next run continues', async () => {
    const first = await acquireLock(state, captureLogger(), { runId: 'run-1' });
    held.push(first);
    const error = await lockedError(acquireLock(state, captureLogger(), { runId: 'run-2' }));
    expect(error.code).toBe('RUNNER_LOCKED');
    expect(error.message).toContain(`another run holds ${lockFile(state)} (pid ${process.pid} on ${os.hostname()}, started ${first.record.acquiredAt}, run run-1); wait for it to finish`);
    expect(error.message).toContain('its process is running on this host, so it is not taken over before it exits');
    expect(error.message).toContain(`its lease runs to ${first.record.expiresAt}`);
    expect(error.message).toContain('this run does not wait (--max-wait 0)');
    expect(error.message).toContain('the next scheduled run will continue');
    expect(error.context).toMatchObject({ pid: process.pid, run: 'run-1', leaseExpiresAt: first.record.expiresAt });
  });

  it('with waitMs, says who holds it and proceeds once the holder releases', async () => {
    const first = await acquireLock(state, captureLogger(), { runId: 'run-1' });
    const logger = captureLogger();
    const second = acquireLock(state, logger, { runId: 'run-2', waitMs: 60_000, pollMs: 5 });
    while (!logger.lines.some((l) => l.msg === 'waiting for the lock')) await new Promise((r) => setTimeout(r, 5));
    await first.release();
    const lock = await second;
    held.push(lock);
    expect((await onDisk()).owner).toBe('run-2');
    expect(logger.lines.filter((l) => l.msg === 'waiting for the lock').map((l) => l.fields)).toEqual([
      expect.objectContaining({ holderRun: 'run-1', holderPid: process.pid, holderHost: os.hostname(), leaseExpiresAt: first.record.expiresAt }),
    ]);
  });

  it('gives up at its deadline, saying how long it waited', async () => {
    held.push(await acquireLock(state, captureLogger(), { runId: 'run-1' }));
    let clock = Date.parse('2026-12-01T00:00:00Z');
    const error = await lockedError(acquireLock(state, captureLogger(), { waitMs: 120_000, pollMs: 1, now: () => (clock += 10_000) }));
    expect(error.code).toBe('RUNNER_LOCKED');
    expect(error.message).toMatch(/this run waited 1[23]0 s \(--max-wait 120 s\); the next scheduled run will continue/);
  });

  it('takes over the lock of a run SIGKILLed in a container whose restart got the same pid (injected identity)', async () => {
    const restarted: ProcessIdentitySource = {
      self: async () => ({ pid: 14, startTime: 'proc:900', hostname: 'pod-a', bootId: 'b', pidNamespace: 'pid:[2]' }),
      inspect: async (pid) => (pid === 14 ? { kind: 'running', startTime: 'proc:900' } : { kind: 'absent' }),
    };
    const crashed: ProcessIdentitySource = {
      self: async () => ({ pid: 14, startTime: 'proc:100', hostname: 'pod-a', bootId: 'b', pidNamespace: 'pid:[1]' }),
      inspect: async () => ({ kind: 'absent' }),
    };
    const old = await acquireLock(state, captureLogger(), { identity: crashed, runId: 'crashed' });
    held.push(old); // never released by its process (it "died"); afterEach stops its heartbeat
    const logger = captureLogger();
    const lock = await acquireLock(state, logger, { identity: restarted, runId: 'restarted' });
    held.push(lock);
    expect((await onDisk()).owner).toBe('restarted');
    expect(logger.lines.find((l) => l.msg === 'taking over a stale lock')?.fields).toMatchObject({ stalePid: 14, staleRun: 'crashed', reason: 'pid reused by another process (start time differs)' });
  });
});

describe('lockLeaseMsFromEnv', () => {
  it('reads LAKEFLOW_LOCK_LEASE_SECONDS and rejects a bad value naming the variable', () => {
    expect(lockLeaseMsFromEnv({ LAKEFLOW_LOCK_LEASE_SECONDS: '45' })).toBe(45_000);
    expect(lockLeaseMsFromEnv({})).toBeUndefined();
    expect(() => lockLeaseMsFromEnv({ LAKEFLOW_LOCK_LEASE_SECONDS: '-1' })).toThrow(expect.objectContaining({ code: 'LOCK_LEASE_INVALID', message: expect.stringContaining('LAKEFLOW_LOCK_LEASE_SECONDS=-1') }));
  });
});
