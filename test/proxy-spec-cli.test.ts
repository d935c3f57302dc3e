/**
 * README's proxy command, as printed: `MIXPANEL_PROXY_SPOOL=./spool mixpanel-lakeflow run --source mixpanel_proxy
 * --spec proxy_spec.json` runs the shipped spec through the real CLI (a child process) over a spool the proxy wrote,
 * and DuckDB reads the three tables back.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { rawRequest } from '../emulator/test-helpers.js';
import { startProxy } from '../proxy/index.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'mixpanel-lakeflow.js');

let dir: string;
let emulator: Emulator;
let duck: Duck;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proxy-spec-cli-'));
  emulator = await startEmulator();
  duck = await openDuck();
});

afterAll(async () => {
  duck?.close();
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('mixpanel-lakeflow run --source mixpanel_proxy --spec proxy_spec.json', () => {
  it('lands what the proxy spooled in proxy_events, proxy_profile_updates and proxy_group_updates', async () => {
    expect.hasAssertions();
    const spool = join(dir, 'spool');
    const proxy = await startProxy({ spoolDir: spool, port: 0, host: '127.0.0.1', upstream: emulator.url });
    try {
      const token = emulator.project.token;
      const send = (endpoint: string, records: unknown) =>
        rawRequest(`${proxy.url}/${endpoint}/?verbose=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) });
      expect((await send('track', [{ event: 'A', properties: { token, distinct_id: 'u', $insert_id: 'a1', time: Math.floor(Date.now() / 1000) } }])).status).toBe(200);
      expect((await send('engage', [{ $token: token, $distinct_id: 'u', $set: { plan: 'pro' } }])).status).toBe(200);
      expect((await send('groups', [{ $token: token, $group_key: 'company', $group_id: 'acme', $set: { seats: 3 } }])).status).toBe(200);
    } finally {
      await proxy.close();
    }
    const lake = join(dir, 'lakehouse');
    // execFile rejects on a non-zero exit code.
    await run(process.execPath, [CLI, 'run', '--source', 'mixpanel_proxy', '--spec', 'proxy_spec.json', '--lakehouse', lake, '--state', join(dir, 'state'), '--log-format', 'json'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', MIXPANEL_PROXY_SPOOL: spool },
      timeout: 120_000,
    });
    for (const table of ['proxy_events', 'proxy_profile_updates', 'proxy_group_updates']) {
      expect(await duck.scalar(`SELECT count(*)::INT FROM ${await tableScan(lake, table)} WHERE upstream_accepted`), table).toBe(1);
    }
  });
});
