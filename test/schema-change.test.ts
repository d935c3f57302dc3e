/**
 * Changing which columns a cdc table has (here: the events `properties` selection) must never rewrite existing
 * rows without their values. The run stops with a configuration error naming the columns and the fix; the table
 * stays as it was; `--full-refresh` rebuilds it with the new columns.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'mixpanel-lakeflow.js');
const HOUR = 3_600_000;

describe('a cdc table whose columns change', () => {
  let emulator: Emulator;
  let dir: string;
  let duck: Duck;
  const now = Date.now();

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.data.importEvents(
      Array.from({ length: 40 }, (_, i) => ({
        event: 'Viewed',
        properties: { time: now - (i + 2) * HOUR, distinct_id: `u${i}`, $insert_id: `sc-${i}`, $os: i % 2 === 0 ? 'Linux' : 'iOS', $browser: 'Chrome' },
      })),
      { processingTimeMs: now - HOUR },
    );
    dir = await mkdtemp(join(tmpdir(), 'mixpanel-lakeflow-schema-'));
    duck = await openDuck();
  });

  afterAll(async () => {
    duck?.close();
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function cli(tableConfiguration: Record<string, string>, extra: string[] = []): Promise<{ code: number; stderr: string }> {
    const spec = join(dir, 'spec.json');
    await writeFile(spec, JSON.stringify({ connection_name: 'x', objects: [{ table: { source_table: 'events', table_configuration: tableConfiguration } }] }));
    const env = { PATH: process.env.PATH ?? '', MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '3' };
    try {
      const r = await run(process.execPath, [CLI, 'run', '--spec', spec, '--lakehouse', join(dir, 'lh'), '--state', join(dir, 'st'), '--log-format', 'json', ...extra], { env });
      return { code: 0, stderr: r.stderr };
    } catch (error) {
      const e = error as { code?: number; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
    }
  }

  const osCounts = async (): Promise<Record<string, unknown>> =>
    (await duck.all(`SELECT count(*) AS n, count(os) AS os FROM ${await tableScan(join(dir, 'lh'), 'events')}`))[0]!;

  it('refuses to merge under a narrower schema, keeps the table intact, rebuilds on --full-refresh, and accepts added columns', async () => {
    expect((await cli({ safety_lag: '0' })).code).toBe(0);
    expect(await osCounts()).toEqual({ n: 40n, os: 40n });

    // A re-sent copy and a new event arrive, then the user narrows the typed columns to $browser only.
    emulator.data.importEvents([
      { event: 'Viewed', properties: { time: now - 2 * HOUR, distinct_id: 'u0', $insert_id: 'sc-0', $os: 'Linux', $browser: 'Chrome' } },
      { event: 'Viewed', properties: { time: now - 2 * HOUR, distinct_id: 'u99', $insert_id: 'sc-99', $os: 'Linux', $browser: 'Chrome' } },
    ]);
    const narrowed = { safety_lag: '0', select_properties_by_default: 'false', properties: '$browser' };
    const refused = await cli(narrowed);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('RUNNER_SCHEMA_CHANGED');
    expect(refused.stderr).toMatch(/removed [^;]*\bos\b/);
    expect(refused.stderr).toContain('--full-refresh events');
    expect(await osCounts()).toEqual({ n: 40n, os: 40n });

    const rebuilt = await cli(narrowed, ['--full-refresh', 'events']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const after = (await duck.all(`SELECT count(*) AS n, count(custom_properties['$os']) AS os_in_map FROM ${await tableScan(join(dir, 'lh'), 'events')}`))[0];
    expect(after).toEqual({ n: 41n, os_in_map: 41n });

    // Widening back only adds nullable columns: allowed, nothing existing is dropped.
    emulator.data.importEvents([{ event: 'Viewed', properties: { time: now - 2 * HOUR, distinct_id: 'u100', $insert_id: 'sc-100', $os: 'iOS', $browser: 'Chrome' } }]);
    const widened = await cli({ safety_lag: '0' });
    expect(widened.code, widened.stderr).toBe(0);
    const final = (await duck.all(`SELECT count(*) AS n, count(os) AS os FROM ${await tableScan(join(dir, 'lh'), 'events')}`))[0];
    expect(final).toEqual({ n: 42n, os: 1n });
  });
});
