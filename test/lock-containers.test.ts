/**
 * Locks under a scheduler and in containers, with real processes (issue 18, Acceptance):
 * - a run holding the runner lock is SIGKILLed inside its own pid namespace (`unshare --pid --fork --mount-proc`,
 *   as Docker and Kubernetes start a container); the restarted run, in a new namespace where the same pid numbers
 *   repeat, takes the lock at once;
 * - a run from another host takes it once the dead holder's lease has expired, and not before;
 * - a SIGKILLed proxy that nobody reaped (a zombie still answers kill(pid, 0)) does not block the proxy's restart;
 * - two runs started at once: one holds the lock, the other waits and proceeds, or gives up at its deadline.
 * Without permission for `unshare`, the namespace tests are skipped (saying so); the injected-identity tests in
 * connector-spec/lease/lease.test.ts and runner/lock.test.ts cover the same rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemIdentity, type LeaseRecord, type ProcessIdentitySource } from '../connector-spec/index.js';
import { exited, pidNamespaceSupport, procState, readLines, startInPidNamespace, type LineReader, type NamespacedProcess } from '../connector-spec/lease/testing/processes.js';
import { LOCK_NAME as SPOOL_LOCK, SpoolWriter } from '../proxy/spool.js';
import { acquireLock, lockFile } from '../runner/lock.js';
import { captureLogger } from '../runner/testing/harness.js';

const ROOT = path.join(import.meta.dirname, '..');
const HOLDER = path.join(ROOT, 'test', 'helpers', 'lock-holder.ts');
const PROXY_CHILD = path.join(ROOT, 'proxy', 'child.ts');
const namespaces = pidNamespaceSupport();
const linux = process.platform === 'linux';

interface HolderOptions {
  readonly kind: 'runner' | 'spool';
  readonly dir: string;
  readonly waitMs?: number;
  readonly leaseMs?: number;
  readonly hostname?: string;
}

interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A lock-holder process (plain, or pid 1 of its own pid namespace). */
interface Holder {
  readonly out: LineReader;
  held(): Promise<LeaseRecord>;
  logs(): LogLine[];
  release(): Promise<void>;
}

let dir: string;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lock-containers-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function killOnCleanup(child: ChildProcess): void {
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  });
}

function holderFrom(out: LineReader, send: (line: string) => void): Holder {
  return {
    out,
    async held() {
      return JSON.parse((await out.waitFor(/^HELD (.*)$/))[1]!) as LeaseRecord;
    },
    logs: () => out.lines.filter((l) => l.startsWith('LOG ')).map((l) => JSON.parse(l.slice(4)) as LogLine),
    async release() {
      send('release');
      await out.waitFor(/^RELEASED$/);
    },
  };
}

/** A lock holder as pid 1 of a new pid namespace: a container start. */
function holderInNamespace(options: HolderOptions): Holder & { readonly ns: NamespacedProcess } {
  const ns = startInPidNamespace(process.execPath, ['--import', 'tsx', HOLDER, JSON.stringify(options)], { cwd: ROOT });
  killOnCleanup(ns.child);
  return { ...holderFrom(ns.out, (l) => ns.send(l)), ns };
}

function plainHolder(options: HolderOptions): Holder & { readonly child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, JSON.stringify(options)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  killOnCleanup(child);
  return { ...holderFrom(readLines(child), (l) => child.stdin.write(`${l}\n`)), child };
}

const readLease = async (file: string): Promise<LeaseRecord> => JSON.parse(await readFile(file, 'utf8')) as LeaseRecord;

/** This machine, but named pod-b: a run scheduled on another host. */
const otherHost: ProcessIdentitySource = { inspect: (pid) => systemIdentity.inspect(pid), self: async () => ({ ...(await systemIdentity.self()), hostname: 'pod-b', bootId: 'boot-of-pod-b' }) };

describe.skipIf(!namespaces.ok)(`runner lock in pid namespaces${namespaces.ok ? '' : ` (skipped: ${namespaces.reason})`}`, () => {
  it('a run SIGKILLed in its namespace; the restarted one gets the same pid in a new namespace and takes the lock at once', async () => {
    const state = path.join(dir, 'state');
    const first = holderInNamespace({ kind: 'runner', dir: state });
    const crashed = await first.held();
    expect(crashed.pid).not.toBe(await first.ns.hostPid()); // the lock names the pid inside the namespace
    await first.ns.kill();
    expect((await readLease(lockFile(state))).owner).toBe(crashed.owner); // SIGKILL left the lock behind

    // waitMs 0: it either takes the lock at once or fails.
    const restarted = holderInNamespace({ kind: 'runner', dir: state, waitMs: 0 });
    const lease = await restarted.held();
    expect(lease.pid).toBe(crashed.pid); // the same pid number: `kill(pid, 0)` alone would call the dead run alive
    expect(lease.startTime).not.toBe(crashed.startTime);
    expect(restarted.logs()).toContainEqual(
      expect.objectContaining({
        msg: 'taking over a stale lock',
        fields: expect.objectContaining({ reason: 'pid reused by another process (start time differs)', stalePid: crashed.pid, staleRun: crashed.owner }),
      }),
    );
    await restarted.release();
    await expect(readFile(lockFile(state))).rejects.toThrow(/ENOENT/);
  });

  it('a run from another host takes the lock once the SIGKILLed holder’s lease has expired, and not before', async () => {
    const state = path.join(dir, 'state');
    const first = holderInNamespace({ kind: 'runner', dir: state, leaseMs: 3000 });
    await first.held();
    await first.ns.kill();
    const left = await readLease(lockFile(state)); // its last heartbeat
    const expiresAtMs = Date.parse(left.expiresAt);

    // Not before: a run on pod-b a moment before the expiry is refused, naming the holder and the expiry.
    const refused = await acquireLock(state, captureLogger(), { identity: otherHost, now: () => expiresAtMs - 1 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(refused?.code).toBe('RUNNER_LOCKED');
    expect(refused?.message).toContain(`pid ${left.pid} on ${left.hostname}, started ${left.acquiredAt}, run ${left.owner}`);
    expect(refused?.message).toContain(`its lease expires at ${left.expiresAt}`);

    // After: a run on pod-b (its own namespace), willing to wait, takes it once the lease has run out.
    const other = holderInNamespace({ kind: 'runner', dir: state, hostname: 'pod-b', waitMs: 60_000 });
    const lease = await other.held();
    expect(lease.hostname).toBe('pod-b');
    expect(Date.parse(lease.acquiredAt)).toBeGreaterThan(expiresAtMs);
    expect(other.logs()).toContainEqual(expect.objectContaining({ msg: 'taking over a stale lock', fields: expect.objectContaining({ reason: 'lease expired (holder on another host)', staleRun: left.owner }) }));
    await other.release();
  });
});

describe.runIf(linux)('proxy spool lock', () => {
  it('a SIGKILLed proxy that nobody reaped (a zombie) does not block the proxy’s restart', async () => {
    const spool = path.join(dir, 'spool');
    const args = JSON.stringify({ port: 0, host: '127.0.0.1', spool, upstream: 'http://127.0.0.1:9' });
    // sh starts the proxy, prints its pid and becomes `sleep`, which never reaps it.
    const parent = spawn('sh', ['-c', '"$0" --import tsx "$1" "$2" & echo "PID $!"; exec sleep 300', process.execPath, PROXY_CHILD, args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    killOnCleanup(parent);
    const out = readLines(parent);
    const pid = Number((await out.waitFor(/^PID (\d+)$/))[1]);
    await out.waitFor(/^LISTENING /);
    expect((await readLease(path.join(spool, SPOOL_LOCK))).pid).toBe(pid);
    process.kill(pid, 'SIGKILL');
    while (procState(pid) !== 'Z') await new Promise((r) => setTimeout(r, 10));
    expect(() => process.kill(pid, 0)).not.toThrow(); // what the old lock asked: "is it alive?" — yes

    // The restart (here in this process: the proxy opens its spool writer, which takes the lock) is not blocked.
    const logger = captureLogger();
    const restarted = await SpoolWriter.open({ dir: spool, logger });
    cleanups.push(() => restarted.close());
    expect((await readLease(path.join(spool, SPOOL_LOCK))).pid).toBe(process.pid);
    expect(logger.lines.find((l) => l.msg === 'taking over a stale lock')?.fields).toMatchObject({ stalePid: pid, reason: 'process has exited (zombie, not reaped)' });
    expect(procState(pid)).toBe('Z'); // still unreaped: the restart did not wait for it
  });
});

describe('two runs started at once', () => {
  async function bothStarted(a: Holder, b: Holder, second: (h: Holder) => boolean): Promise<[Holder, Holder]> {
    const isHeld = (h: Holder) => h.out.lines.some((l) => l.startsWith('HELD '));
    for (;;) {
      if (isHeld(a) && second(b)) return [a, b];
      if (isHeld(b) && second(a)) return [b, a];
      if ([a, b].every((h) => h.out.lines.some((l) => l.startsWith('ERROR ')))) throw new Error(`neither run took the lock: ${[...a.out.lines, ...b.out.lines].join('\n')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('one holds the lock; the other says who holds it, waits, and proceeds when it is released', async () => {
    const state = path.join(dir, 'state');
    const runs = [plainHolder({ kind: 'runner', dir: state, waitMs: 60_000 }), plainHolder({ kind: 'runner', dir: state, waitMs: 60_000 })] as const;
    const [holder, waiter] = await bothStarted(runs[0], runs[1], (h) => h.logs().some((l) => l.msg === 'waiting for the lock'));
    const held = await holder.held();
    expect(waiter.out.lines.some((l) => l.startsWith('HELD '))).toBe(false);
    expect(waiter.logs().find((l) => l.msg === 'waiting for the lock')?.fields).toMatchObject({
      holderRun: held.owner,
      holderPid: held.pid,
      holderHost: held.hostname,
      holderSince: held.acquiredAt,
      leaseExpiresAt: held.expiresAt,
    });
    await holder.release();
    const next = await waiter.held();
    expect(next.owner).not.toBe(held.owner);
    expect((await readLease(lockFile(state))).owner).toBe(next.owner);
    await waiter.release();
  });

  it('with a short --max-wait, the other gives up at its deadline with RUNNER_LOCKED and leaves the holder alone', async () => {
    const state = path.join(dir, 'state');
    const runs = [plainHolder({ kind: 'runner', dir: state, waitMs: 1500 }), plainHolder({ kind: 'runner', dir: state, waitMs: 1500 })] as const;
    const [holder, loser] = await bothStarted(runs[0], runs[1], (h) => h.out.lines.some((l) => l.startsWith('ERROR ')));
    const held = await holder.held();
    const error = JSON.parse((await loser.out.waitFor(/^ERROR (.*)$/))[1]!) as { code: string; message: string };
    expect(error.code).toBe('RUNNER_LOCKED');
    expect(error.message).toContain(`(pid ${held.pid} on ${held.hostname}, started ${held.acquiredAt}, run ${held.owner})`);
    expect(error.message).toMatch(/this run waited \d+ s \(--max-wait 2 s\); the next scheduled run will continue/);
    expect(loser.logs().filter((l) => l.msg === 'waiting for the lock')).toHaveLength(1);
    expect((await readLease(lockFile(state))).owner).toBe(held.owner);
    await holder.release();
  });
});
