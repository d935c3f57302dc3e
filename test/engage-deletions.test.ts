/**
 * Deleted profiles get deletion markers at the next full refresh however many profiles there are: the runner
 * hands the source the table's live rows (`ReadOptions.liveRows`), so nothing depends on the ids fitting in the
 * cursor. `deletion_tracking_limit` is set far below the profile count to prove it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../connector-spec/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { parsePipelineSpec, runPipeline } from '../runner/index.js';
import { createMixpanelSource } from '../sources/mixpanel/index.js';
import { committedCursor } from '../runner/testing/duckdb.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const HOUR = 3_600_000;
const PROFILES = 40;

describe('engage deletion markers beyond the cursor limit', () => {
  let emulator: Emulator;
  let dir: string;
  let duck: Duck;
  let clock = Date.UTC(2026, 10, 20, 12, 0, 0);

  beforeAll(async () => {
    emulator = await startEmulator({ now: () => clock, profiles: PROFILES, seed: 11 });
    dir = await mkdtemp(join(tmpdir(), 'mixpanel-lakeflow-deletions-'));
    duck = await openDuck();
  });

  afterAll(async () => {
    duck?.close();
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function runOnce(): Promise<void> {
    const spec = parsePipelineSpec(
      JSON.stringify({
        connection_name: 'deletions',
        objects: [{ table: { source_table: 'engage', table_configuration: { full_refresh_every: '1h', deletion_tracking_limit: '5' } } }],
      }),
      'spec.json',
    );
    const source = createMixpanelSource(
      { auth: { kind: 'api_secret', secret: emulator.project.apiSecret }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 30, baseUrl: emulator.url },
      { now: () => clock },
    );
    try {
      const report = await runPipeline({ spec, source, lakehouse: join(dir, 'lh'), stateDir: join(dir, 'st'), env: {}, logger: SILENT });
      expect(report.tables.map((t) => [t.table, t.status, t.error?.message])).toEqual([['engage', 'ok', undefined]]);
    } finally {
      await source.close?.();
    }
  }

  it('marks every profile deleted upstream, and keeps no id list in the cursor', async () => {
    expect.hasAssertions();
    await runOnce();
    let scan = await tableScan(join(dir, 'lh'), 'engage');
    expect(await duck.scalar(`SELECT count(*) FROM ${scan}`)).toBe(BigInt(PROFILES));

    const gone = emulator.data.listProfiles().slice(0, 3).map((p) => p.distinctId).sort();
    for (const id of gone) emulator.data.deleteProfile(id);
    clock += 2 * HOUR;
    await runOnce();
    scan = await tableScan(join(dir, 'lh'), 'engage'); // the live files of the new table version

    expect(await duck.scalar(`SELECT count(*) FROM ${scan}`)).toBe(BigInt(PROFILES));
    const marked = await duck.all(`SELECT distinct_id FROM ${scan} WHERE _deleted_at IS NOT NULL ORDER BY distinct_id`);
    expect(marked.map((r) => r.distinct_id)).toEqual(gone);
    expect(await duck.scalar(`SELECT count(*) FROM ${scan} WHERE _deleted_at IS NULL`)).toBe(BigInt(PROFILES - gone.length));

    const cursor = (await committedCursor(join(dir, 'lh'), 'engage')) as { known_ids: unknown };
    expect(cursor.known_ids).toBeNull();
  });
});
