/**
 * Crash safety (A6): the proxy (its own process) is SIGKILLed right after replying 200. After a restart on the
 * same spool and a runner pass, the row is in the lake exactly once; a second pass adds nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { rawRequest } from '../emulator/test-helpers.js';
import { runProxyTables } from '../proxy/testing.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

const ROOT = path.join(import.meta.dirname, '..');

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
}

function spawnProxy(spool: string, upstream: string): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'proxy', 'child.ts'), JSON.stringify({ port: 0, host: '127.0.0.1', spool, upstream })], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve({ process: child, url: m[1]! });
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => reject(new Error(`proxy child exited (${code}) before listening: ${err}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

let emulator: Emulator;
let dir: string;
let duck: Duck;
const children: ChildProcess[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'proxy-crash-'));
  duck = await openDuck();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  duck?.close();
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('proxy crash safety', () => {
  it('a row acknowledged just before SIGKILL is in the lake once after a restart and a runner pass', async () => {
    expect.hasAssertions();
    const spool = path.join(dir, 'spool');
    const first = await spawnProxy(spool, emulator.url);
    children.push(first.process);
    const data = Buffer.from(JSON.stringify({ event: 'Before crash', properties: { token: emulator.project.token, distinct_id: 'c-1', $insert_id: 'crash-1', time: Date.now() / 1000 } })).toString('base64');
    const res = await rawRequest(`${first.url}/track/?verbose=1&ip=1`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `data=${encodeURIComponent(data)}` });
    first.process.kill('SIGKILL'); // right after the reply: no graceful close, no flush
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ status: 1, error: null });
    await killed(first.process);

    const second = await spawnProxy(spool, emulator.url); // takes over the stale lock, opens a new segment
    children.push(second.process);
    const after = Buffer.from(JSON.stringify({ event: 'After restart', properties: { token: emulator.project.token, distinct_id: 'c-1', $insert_id: 'crash-2', time: Date.now() / 1000 } })).toString('base64');
    expect((await rawRequest(`${second.url}/track?data=${encodeURIComponent(after)}`)).status).toBe(200);
    expect((await readdir(spool)).filter((n) => n.startsWith('segment-')).sort()).toEqual(['segment-00000000000000000001.ndjson', 'segment-00000000000000000002.ndjson']);

    const lake = path.join(dir, 'lakehouse');
    const state = path.join(dir, 'state');
    await runProxyTables(spool, lake, state);
    const rows = await duck.all(`SELECT event, insert_id, upstream_status FROM ${await tableScan(lake, 'proxy_events')} ORDER BY received_at`);
    expect(rows).toEqual([
      { event: 'Before crash', insert_id: 'crash-1', upstream_status: 200 },
      { event: 'After restart', insert_id: 'crash-2', upstream_status: 200 },
    ]);
    await runProxyTables(spool, lake, state);
    expect(await duck.scalar(`SELECT count(*) FROM ${await tableScan(lake, 'proxy_events')}`)).toBe(2n);
    second.process.kill('SIGTERM');
    await killed(second.process);
  });
});
