import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, cursorsEqual } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import type { MixpanelClient } from '../client-types.js';
import { driveToConvergence, readOnce, testContext } from '../profiles/testing-driver.js';
import { serviceAccountConfig, testClient } from '../profiles/testing-setup.js';
import { groups } from './groups.js';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const HOUR = 3_600_000;
const DATA_GROUP = '-1405123841946871899';
const BIG_GROUP_ID = '1234567890123456789';

let emulator: Emulator | undefined;
let client: MixpanelClient | undefined;

afterEach(async () => {
  await client?.close();
  await emulator?.close();
});

describe('groups table', () => {
  it('reads group profiles of one data group with exact ids, incrementally', async () => {
    expect.hasAssertions();
    let clock = T0;
    const emu = await startEmulator({ now: () => clock, limits: { queryPerHour: Infinity } });
    emulator = emu;
    const config = serviceAccountConfig(emu);
    client = testClient(config);
    const ctx = (runStart: number) => testContext('groups', config, client!, runStart);
    emu.data.setGroupProfiles(Number(DATA_GROUP), [
      { distinctId: BIG_GROUP_ID, properties: { $name: 'Acme', $last_seen: '2026-01-09T10:00:00', seats: 12 } },
      { distinctId: 'g2', properties: { $name: 'Beta', $last_seen: '2026-01-09T11:00:00' } },
    ]);
    const options = { data_group_id: DATA_GROUP, group_key: 'company_id' };
    const run1 = await driveToConvergence(groups, ctx(T0), null, options);
    expect(run1.rows.map((r) => [r.group_key, r.group_id, r.name, r.last_seen])).toEqual([
      ['company_id', BIG_GROUP_ID, 'Acme', Date.UTC(2026, 0, 9, 10)],
      ['company_id', 'g2', 'Beta', Date.UTC(2026, 0, 9, 11)],
    ]);
    expect((run1.rows[0]!.custom_properties as { toJSON(): Record<string, string> }).toJSON()).toEqual({ seats: '12' });
    // The data group id is sent verbatim (19 digits, negative), never through a float.
    for (const entry of emu.log.forRoute('engage')) expect(entry.params.data_group_id).toBe(DATA_GROUP);

    clock = T0 + HOUR;
    emu.data.setGroupProfiles(Number(DATA_GROUP), [{ distinctId: 'g2', properties: { $name: 'Beta 2', $last_seen: '2026-01-10T12:30:00' } }]);
    emu.log.clear();
    const run2 = await driveToConvergence(groups, ctx(T0 + HOUR), run1.cursor, options);
    expect(run2.rows.map((r) => [r.group_id, r.name])).toEqual([['g2', 'Beta 2']]);
    expect(emu.log.forRoute('engage')[0]!.params.where).toMatch(/^properties\["\$last_seen"\] > "2026-01-09T10:50:00"$/);
    expect(cursorsEqual(run2.calls.at(-1)!.cursor, run2.cursor)).toBe(true);
  });

  it('requires a well-formed data_group_id', async () => {
    expect.hasAssertions();
    const emu = await startEmulator({});
    emulator = emu;
    const config = serviceAccountConfig(emu);
    client = testClient(config);
    const ctx = testContext('groups', config, client, T0);
    expect(() => groups.read(ctx, null, {})).toThrow(ConfigError);
    expect(() => groups.read(ctx, null, { data_group_id: '12.5' })).toThrow(/data_group_id "12.5"/);
    await expect(readOnce(groups, ctx, null, { data_group_id: '7' })).resolves.toMatchObject({ rows: [] });
  });
});
