/**
 * End to end through the real CLI (a child process) against the emulator over loopback, Parquet read back by
 * DuckDB: all four tables land, counts match what the emulator holds, custom properties are lossless, the
 * second run adds exactly what arrived, and bad configuration fails with one line naming the fix.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Mixpanel from 'mixpanel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorJson, type IngestEvent } from '../emulator/index.js';
import { parseJsonLossless, stringifyJson } from '../sources/mixpanel/json.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'mixpanel-lakeflow.js');
const DAY = 86_400_000;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: readonly string[], env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeFlags, CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Custom properties of every JSON type, including a 19-digit integer JS numbers cannot hold. */
function customProperties(i: number): Record<string, EmulatorJson> {
  return {
    plan: i % 3 === 0 ? 'pro' : 'free',
    n_items: i,
    price: i + 0.25,
    is_trial: i % 2 === 0,
    coupon: null,
    tags: ['a', String(i), i % 5],
    meta: { depth: { level: i % 4 }, label: `é😀${i}` },
    big_id: 3928097563762691601n + BigInt(i),
  };
}

function seedEvents(count: number, now: number): IngestEvent[] {
  const events: IngestEvent[] = [];
  for (let i = 0; i < count; i++) {
    events.push({
      event: i % 4 === 0 ? 'Signed up' : 'Viewed page',
      properties: {
        time: now - Math.floor(((i * 7919) % 1000) / 1000 * 2.5 * DAY) - 60_000,
        distinct_id: `user-${i % 97}`,
        $insert_id: `e2e-${i.toString(36)}`,
        ...customProperties(i),
      },
    });
  }
  return events;
}

describe('mixpanel-lakeflow run (CLI, emulator, DuckDB)', () => {
  let emulator: Emulator;
  let dir: string;
  let duck: Duck;
  let env: Record<string, string>;
  let specPath: string;
  const seeded = 1_500;
  const startedAt = Date.now();

  beforeAll(async () => {
    emulator = await startEmulator({ profiles: 150, cohorts: 3, seed: 7 });
    emulator.data.importEvents(seedEvents(seeded, startedAt), { processingTimeMs: startedAt - 30 * 60_000 });
    dir = await mkdtemp(join(tmpdir(), 'mixpanel-lakeflow-e2e-'));
    duck = await openDuck();
    specPath = join(dir, 'pipeline_spec.json');
    await writeFile(
      specPath,
      JSON.stringify({
        connection_name: 'mixpanel_e2e',
        objects: [
          { table: { source_table: 'events', table_configuration: { safety_lag: '0', lookback_days: '5' } } },
          { table: { source_table: 'engage' } },
          { table: { source_table: 'cohorts' } },
          { table: { source_table: 'cohort_members' } },
        ],
      }),
    );
    env = {
      MIXPANEL_BASE_URL: emulator.url,
      MIXPANEL_API_SECRET: emulator.project.apiSecret,
      MIXPANEL_HISTORICAL_DAYS: '3',
    };
  });

  afterAll(async () => {
    duck?.close();
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const lakehouse = (): string => join(dir, 'lakehouse');
  const runArgs = (): string[] => ['run', '--spec', specPath, '--lakehouse', lakehouse(), '--state', join(dir, 'state'), '--log-format', 'json'];
  const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

  it('lands all four tables with the counts the emulator holds and lossless custom properties', async () => {
    // Node flags a worker thread rejects (a heap cap, as users set) must not reach the Parquet encoder's worker.
    const result = await cli(runArgs(), env, ['--max-old-space-size=512', '--max-semi-space-size=8']);
    expect(result.stderr + result.stdout).not.toContain(emulator.project.apiSecret);
    expect(result.code, result.stderr).toBe(0);

    const expectedEvents = emulator.data.countDistinctInsertIds({ fromDate: utcDate(startedAt - 3 * DAY), toDate: utcDate(Date.now()) });
    expect(expectedEvents).toBe(seeded);
    const counts = await duck.all(`SELECT count(*) AS n, count(DISTINCT insert_id) AS ids, count(DISTINCT dedupe_key) AS keys FROM ${await tableScan(lakehouse(), 'events')}`);
    expect(counts[0]).toEqual({ n: BigInt(seeded), ids: BigInt(seeded), keys: BigInt(seeded) });

    const profiles = emulator.data.listProfiles().length;
    expect(profiles).toBe(150);
    expect(await duck.scalar(`SELECT count(*) FROM ${await tableScan(lakehouse(), 'engage')}`)).toBe(BigInt(profiles));
    expect(await duck.scalar(`SELECT count(DISTINCT distinct_id) FROM ${await tableScan(lakehouse(), 'engage')}`)).toBe(BigInt(profiles));

    const cohorts = emulator.data.listCohorts();
    expect(await duck.scalar(`SELECT count(*) FROM ${await tableScan(lakehouse(), 'cohorts')}`)).toBe(BigInt(cohorts.length));
    const members = cohorts.reduce((sum, c) => sum + emulator.data.getCohortMembers(c.id).length, 0);
    expect(members).toBeGreaterThan(0);
    expect(await duck.scalar(`SELECT count(*) FROM ${await tableScan(lakehouse(), 'cohort_members')}`)).toBe(BigInt(members));

    // Every custom property value is the JSON text of the value sent, and parses back to it.
    const rows = await duck.all(`SELECT insert_id, CAST(to_json(custom_properties) AS VARCHAR) AS props FROM ${await tableScan(lakehouse(), 'events')}`);
    expect(rows).toHaveLength(seeded);
    for (const row of rows) {
      const i = Number.parseInt(String(row.insert_id).slice('e2e-'.length), 36);
      const map = JSON.parse(String(row.props)) as Record<string, string>;
      for (const [key, sent] of Object.entries(customProperties(i))) {
        expect(map[key], `${String(row.insert_id)}.${key}`).toBe(stringifyJson(sent));
        expect(parseJsonLossless(map[key]!)).toEqual(sent);
      }
    }
  });

  it('a second run adds exactly the events that arrived since, and changes nothing else', async () => {
    const before = await duck.all(`SELECT dedupe_key, md5(CAST(to_json(e) AS VARCHAR)) AS h FROM ${await tableScan(lakehouse(), 'events')} e`);
    // The official node SDK over plain HTTP: `port` is honoured at runtime but missing from its typings.
    const config: Partial<Mixpanel.InitConfig> & { port: number } = { host: new URL(emulator.url).hostname, port: Number(new URL(emulator.url).port), protocol: 'http' };
    const mixpanel = Mixpanel.init(emulator.project.token, config);
    const fresh = 25;
    for (let i = 0; i < fresh; i++) {
      await new Promise<void>((resolve, reject) => {
        mixpanel.track('Purchased', { distinct_id: `buyer-${i}`, $insert_id: `e2e-new-${i}`, amount: i * 1.5 }, (err) => (err ? reject(err) : resolve()));
      });
    }
    const result = await cli(runArgs(), env);
    expect(result.code, result.stderr).toBe(0);
    const after = await duck.all(`SELECT dedupe_key, md5(CAST(to_json(e) AS VARCHAR)) AS h FROM ${await tableScan(lakehouse(), 'events')} e`);
    expect(after).toHaveLength(before.length + fresh);
    const afterByKey = new Map(after.map((r) => [String(r.dedupe_key), String(r.h)]));
    for (const row of before) expect(afterByKey.get(String(row.dedupe_key))).toBe(String(row.h));
    const added = await duck.all(`SELECT insert_id FROM ${await tableScan(lakehouse(), 'events')} WHERE insert_id LIKE 'e2e-new-%' ORDER BY insert_id`);
    expect(added).toHaveLength(fresh);
  });

  it('names the missing credential variable in one line and exits 2', async () => {
    const result = await cli(runArgs(), {});
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('MIXPANEL_API_SECRET');
  });

  it('names an unknown table and lists the valid ones', async () => {
    const bad = join(dir, 'bad_table.json');
    await writeFile(bad, JSON.stringify({ connection_name: 'x', objects: [{ table: { source_table: 'evnets' } }] }));
    const result = await cli(['run', '--spec', bad, '--lakehouse', lakehouse(), '--state', join(dir, 'state-bad')], env);
    expect(result.code).toBe(2);
    const line = result.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('evnets');
    for (const table of ['events', 'engage', 'cohorts', 'cohort_members']) expect(line).toContain(table);
  });

  it('points at the line and column of malformed JSON in the spec', async () => {
    const bad = join(dir, 'bad_json.json');
    await writeFile(bad, '{\n  "connection_name": "x",\n  "objects": [ { "table": { "source_table": "events" } ]\n}\n');
    const result = await cli(['run', '--spec', bad, '--lakehouse', lakehouse(), '--state', join(dir, 'state-bad')], env);
    expect(result.code).toBe(2);
    const line = result.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/bad_json\.json:3:\d+/);
  });
});
