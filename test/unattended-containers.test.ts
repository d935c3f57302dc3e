/**
 * The container scenarios of issue 18 (Acceptance) with the real runner: the real CLI against the emulator, each
 * run as pid 1 of its own pid namespace (`unshare --pid --fork --mount-proc`, as Docker and Kubernetes start a
 * container, so pid numbers repeat from 1 in every new one):
 * - a run SIGKILLed mid-call, then a restarted one in a new namespace (the same pid 1) takes the lock at once
 *   (its start time differs) and completes;
 * - a run "from another host" (its own UTS namespace named pod-b) asks while a run with a 3 s lease holds the lock:
 *   it waits (the holder's heartbeat keeps the lease current), the holder is SIGKILLed, and it takes the lock only
 *   once the lease has expired, then completes;
 * - two runs started at once: one holds the lock, the other waits for it, and both complete.
 * After each step the events table, read by DuckDB through the Delta log, holds every distinct event at most once
 * (a SIGKILLed run leaves a committed prefix) and, once a run completed, every event exactly once.
 * Where the machine refuses `unshare`, the namespace scenarios are skipped with the reason; the lease rules are
 * also covered with injected identities in connector-spec/lease/lease.test.ts and runner/lock.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseRecord } from '../connector-spec/index.js';
import { exited, pidNamespaceSupport, startInPidNamespace, type NamespacedProcess } from '../connector-spec/lease/testing/processes.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { lockFile } from '../runner/lock.js';
import { CLI, REPO_ROOT } from '../runner/testing/cli-child.js';
import { MINUTE, logLines, readEventsTable, runArgs, seedEvents, startCli } from './helpers/unattended.js';

const namespaces = pidNamespaceSupport();
const uts = ((): { readonly ok: true } | { readonly ok: false; readonly reason: string } => {
  if (!namespaces.ok) return namespaces;
  const r = spawnSync('unshare', ['--uts', 'hostname', 'pod-probe'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true } : { ok: false, reason: `unshare --uts not permitted: ${(r.stderr ?? r.error?.message ?? '').trim()}` };
})();

const SPEC = { connection_name: 'unattended', objects: [{ table: { source_table: 'events', table_configuration: { window_days: '1' } } }, { table: { source_table: 'engage' } }] };

let emulator: Emulator;
let dir: string;
let ids: string[];
let env: Record<string, string>;
let specFile: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  emulator = await startEmulator({ profiles: 50, seed: 17 });
  const now = Date.now();
  ids = seedEvents(emulator, { prefix: 'pod', count: 300, newestMs: now - 30 * MINUTE, days: 4, processingTimeMs: now - 20 * MINUTE });
  dir = await mkdtemp(path.join(os.tmpdir(), 'unattended-containers-'));
  specFile = path.join(dir, 'pipeline_spec.json');
  await writeFile(specFile, JSON.stringify(SPEC));
  env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '4' };
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A CLI run as pid 1 of a new pid namespace (optionally in its own UTS namespace with another hostname). */
interface PodRun {
  readonly ns: NamespacedProcess;
  stderr(): string;
  /** Exit code of the run (unshare exits with its child's status). */
  code(): Promise<number | null>;
}

function podRun(extra: readonly string[] = [], options: { readonly hostname?: string } = {}): PodRun {
  const cli = [process.execPath, CLI, ...runArgs(dir, specFile, extra)];
  const [command, args] = options.hostname === undefined ? [cli[0]!, cli.slice(1)] : ['unshare', ['--uts', 'sh', '-c', `hostname ${options.hostname} && exec "$0" "$@"`, ...cli]];
  const ns = startInPidNamespace(command, args, { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '', MIXPANEL_LAKEFLOW_FROM_SOURCE: '1', ...env } });
  let err = '';
  ns.child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  cleanups.push(async () => {
    if (ns.child.exitCode === null && ns.child.signalCode === null) ns.child.kill('SIGKILL');
    await exited(ns.child);
  });
  return { ns, stderr: () => err, code: async () => (await exited(ns.child)).code };
}

/** Wait until the emulator has received `n` export requests (the last one may be held in flight). */
async function exportsRequested(n: number, stderr: () => string): Promise<void> {
  const until = Date.now() + 60_000;
  while (emulator.log.forRoute('export').length < n) {
    if (Date.now() > until) throw new Error(`the run never made ${n} export requests; stderr:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readLease = async (): Promise<LeaseRecord> => JSON.parse(await readFile(lockFile(path.join(dir, 'state')), 'utf8')) as LeaseRecord;

async function expectCommittedPrefix(): Promise<number> {
  const events = await readEventsTable(path.join(dir, 'lakehouse'));
  expect(events.distinctKeys).toBe(events.rows);
  expect(new Set(events.insertIds).size).toBe(events.rows);
  for (const id of events.insertIds) expect(ids).toContain(id);
  return events.rows;
}

async function expectEveryEventOnce(): Promise<void> {
  const events = await readEventsTable(path.join(dir, 'lakehouse'));
  expect(events.insertIds).toEqual([...ids].sort());
  expect(events.distinctKeys).toBe(ids.length);
  expect(events.rows).toBe(ids.length);
}

/** SIGKILL a run in its namespace while the emulator holds its second export; returns the lease it left. */
async function killMidRun(extra: readonly string[] = []): Promise<LeaseRecord> {
  const held = emulator.faults.add({ route: 'export', action: { kind: 'slow-headers', delayMs: 60_000 }, nth: 2 });
  const first = podRun(extra);
  await exportsRequested(2, first.stderr);
  const lease = await readLease();
  await first.ns.kill();
  held.remove();
  expect((await readLease()).owner).toBe(lease.owner); // SIGKILL left the lock behind
  expect(await expectCommittedPrefix()).toBeLessThan(ids.length);
  return lease;
}

describe.skipIf(!namespaces.ok)(`the real runner in pid namespaces${namespaces.ok ? '' : ` (skipped: ${namespaces.reason})`}`, () => {
  it('a run SIGKILLed in its namespace; the restarted one (same pid 1, new namespace) takes the lock at once and completes', async () => {
    expect.hasAssertions();
    const crashed = await killMidRun();
    expect(crashed.pid).toBe(1); // pid 1 of its namespace, as a container's main process

    const restarted = podRun();
    expect(await restarted.code(), restarted.stderr()).toBe(0);
    const logs = logLines(restarted.stderr());
    expect(logs.filter((l) => l.msg === 'waiting for the lock')).toEqual([]);
    expect(logs.find((l) => l.msg === 'taking over a stale lock')).toMatchObject({ reason: 'pid reused by another process (start time differs)', stalePid: 1, staleRun: crashed.owner });
    await expectEveryEventOnce();
  });

  it.skipIf(!uts.ok)(`a run from another host waits while the lease is current and takes the lock once the SIGKILLed run’s lease expired${uts.ok ? '' : ` (skipped: ${uts.reason})`}`, async () => {
    expect.hasAssertions();
    const held = emulator.faults.add({ route: 'export', action: { kind: 'slow-headers', delayMs: 60_000 }, nth: 2 });
    const first = podRun(['--lock-lease', '3']);
    await exportsRequested(2, first.stderr);
    const holder = await readLease();
    expect(holder.hostname).toBe(os.hostname());

    // pod-b asks while the holder lives (its heartbeat renews the 3 s lease): it waits, naming the holder.
    const other = podRun([], { hostname: 'pod-b' });
    const until = Date.now() + 60_000;
    while (!logLines(other.stderr()).some((l) => l.msg === 'waiting for the lock')) {
      if (Date.now() > until) throw new Error(`pod-b never waited; stderr:\n${other.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(logLines(other.stderr()).find((l) => l.msg === 'waiting for the lock')).toMatchObject({ holderRun: holder.owner, holderHost: os.hostname(), holderPid: 1, heldBecause: 'its lease is current (holder on another host)' });

    await first.ns.kill();
    held.remove();
    const left = await readLease(); // the killed run's last heartbeat, unless pod-b already took over
    expect(await other.code(), other.stderr()).toBe(0);
    const takeover = logLines(other.stderr()).find((l) => l.msg === 'taking over a stale lock');
    expect(takeover).toMatchObject({ reason: 'lease expired (holder on another host)', staleRun: holder.owner, staleHost: os.hostname() });
    if (left.owner === holder.owner) expect(Date.parse(String(takeover!['time']))).toBeGreaterThan(Date.parse(left.expiresAt)); // not before
    expect(Date.parse(String(takeover!['staleLeaseExpiresAt']))).toBeLessThan(Date.parse(String(takeover!['time'])));
    await expectEveryEventOnce();
  });
});

describe('two runs started at once', () => {
  it('one holds the lock, the other says who holds it, waits, and both complete with every event once', async () => {
    expect.hasAssertions();
    // The first export is held 3 s: whichever run takes the lock is surely still running when the other asks.
    emulator.faults.add({ route: 'export', action: { kind: 'slow-headers', delayMs: 3_000 }, nth: 1 });
    const runs = [startCli(runArgs(dir, specFile), env), startCli(runArgs(dir, specFile), env)];
    const results = await Promise.all(runs.map((r) => r.exited));
    expect(results.map((r) => r.code), runs.map((r) => r.stderr()).join('\n')).toEqual([0, 0]);
    const logs = runs.map((r) => logLines(r.stderr()));
    const runIds = logs.map((l) => l.find((x) => x.msg === 'run started')?.['runId']);
    const waited = logs.map((l) => l.find((x) => x.msg === 'waiting for the lock'));
    const waiter = waited.findIndex((w) => w !== undefined);
    expect(waiter).not.toBe(-1);
    expect(waited.filter((w) => w !== undefined)).toHaveLength(1);
    expect(waited[waiter]).toMatchObject({ holderRun: runIds[1 - waiter], holderPid: runs[1 - waiter]!.child.pid });
    await expectEveryEventOnce();
  });
});
