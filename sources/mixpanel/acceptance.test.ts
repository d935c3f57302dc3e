/**
 * The connector acceptance suite for every Mixpanel table, against the emulator on loopback with data in
 * every table. One clock drives the emulator and the source; `addData` seeds through the emulator's data API
 * and then moves the clock an hour, so the next source (the next trigger) can see what was added. `expected` is
 * the ground truth: the keys the emulator holds for each table (testing/emulator-truth.ts).
 */
import { afterAll } from 'vitest';
import type { Cursor } from '../../connector-spec/index.js';
import { describeConnectorAcceptance } from '../../connector-spec/acceptance/index.js';
import { NO_RATE_LIMITS, startEmulator, type IngestEvent } from '../../emulator/index.js';
import { createMixpanelSource } from './index.js';
import { digestOf } from './profiles/window-digest.js';
import { GROUP_COLUMNS } from './profiles/schema.js';
import { EVENT_PROPERTIES, PEOPLE_PROPERTIES, type StandardProperty } from './properties.js';
import { emulatorConfig, FAST_LIMITS } from './testing/emulator-source.js';
import { emulatorTruth } from './testing/emulator-truth.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;
const DATA_GROUP = 7;
const GROUP_KEY = 'company_id';
const HISTORICAL_DAYS = 6;

let clock = T0;
const now = (): number => clock;
const emulator = await startEmulator({ now, seed: 8, eventsPerDay: 24, days: 5, profiles: 12, cohorts: 3, limits: NO_RATE_LIMITS });
afterAll(async () => {
  await emulator.close();
});

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

/** One value for every standard property, so "every column is populated" checks each property's mapping. */
function everyProperty(list: readonly StandardProperty[], atMs: number): Record<string, string | number | boolean> {
  const sample = { utf8: 'acceptance', int64: 42, float64: 1.5, bool: true, timestamp: iso(atMs) } as const;
  return Object.fromEntries(list.map((p) => [p.property, sample[p.kind]]));
}

// Generated data fills the common columns; one wide record per table fills the rest.
emulator.data.importEvents(
  [{ event: 'Wide', properties: { ...everyProperty(EVENT_PROPERTIES, T0 - 3 * HOUR), time: T0 - 3 * HOUR, distinct_id: 'wide', $insert_id: 'wide-1' } }],
  { processingTimeMs: T0 - 2 * HOUR },
);
emulator.data.setProfile('wide', { ...everyProperty(PEOPLE_PROPERTIES, T0 - 4 * HOUR), $last_seen: iso(T0 - 4 * HOUR) }, { ignoreTime: true });
emulator.data.setGroupProfiles(DATA_GROUP, [
  { distinctId: 'acme', properties: { ...everyProperty(GROUP_COLUMNS, T0 - 30 * HOUR), $name: 'Acme', seats: 12 } },
  { distinctId: 'beta', properties: { $name: 'Beta', $last_seen: iso(T0 - 5 * HOUR) } },
]);
emulator.data.addCohort({ name: 'Companies', dataGroupId: DATA_GROUP, members: ['acme'] });

let added = 0;
let lastEvent: IngestEvent | undefined;

async function addData(table: string): Promise<void> {
  added++;
  const d = emulator.data;
  if (table === 'events') {
    const event: IngestEvent = { event: 'Acceptance', properties: { time: clock - 60_000, distinct_id: `acc-${added}`, $insert_id: `acceptance-${added}`, plan: 'pro' } };
    // With a re-sent copy of the event the last addData added (same dedupe key, processed now): the next trigger
    // reads that key again, which the keyDerivedFrom check compares.
    d.importEvents(lastEvent === undefined ? [event] : [event, lastEvent]);
    lastEvent = event;
  } else if (table === 'engage') {
    d.setProfile(`acceptance-user-${added}`, { $name: `Acceptance ${added}`, $email: `a${added}@example.com` });
  } else if (table === 'cohorts') {
    d.addCohort({ name: `Acceptance ${added}`, description: 'added by the acceptance suite' });
  } else if (table === 'cohort_members') {
    d.addCohort({ name: `Acceptance members ${added}`, members: d.listProfiles().slice(0, 2).map((p) => p.distinctId) });
  } else if (table === 'groups') {
    d.setGroupProfiles(DATA_GROUP, [{ distinctId: `group-${added}`, properties: { $name: `Group ${added}`, $last_seen: iso(clock) } }]);
  } else {
    throw new TypeError(`addData: no seeding for table ${table}`);
  }
  clock += HOUR; // the next source starts later and sees the new data
}

function futureCursor(table: string, last: Cursor): Cursor {
  const c = (last ?? {}) as Record<string, unknown>;
  if (table === 'events') return { ...c, watermark_ms: (typeof c.watermark_ms === 'number' ? c.watermark_ms : clock) + YEAR } as Cursor;
  // Profile tables: a last_seen beyond every profile, with the digest of the (empty) window above it.
  return { ...c, last_seen_ms: (typeof c.last_seen_ms === 'number' ? c.last_seen_ms : clock) + YEAR, window_digest: digestOf([]) } as Cursor;
}

const { username, secret } = emulator.project.serviceAccount;

describeConnectorAcceptance({
  name: 'mixpanel',
  // funnels, annotations and revenue run the same suite in sources/mixpanel/reports/acceptance.test.ts.
  tables: ['events', 'engage', 'cohorts', 'cohort_members', 'groups'],
  config: emulatorConfig(emulator, { historicalDays: HISTORICAL_DAYS }),
  createSource: (config, env) => createMixpanelSource(config, { now, logger: env.logger, limits: FAST_LIMITS }),
  tableOptions: {
    events: { window_days: '2' },
    groups: { data_group_id: String(DATA_GROUP), group_key: GROUP_KEY },
  },
  secrets: [secret, `${username}:${secret}`, emulator.project.apiSecret],
  addData,
  expected: emulatorTruth({ data: emulator.data, now, historicalDays: HISTORICAL_DAYS, groups: { dataGroupId: DATA_GROUP, groupKey: GROUP_KEY } }),
  futureCursor,
  allowNullColumns: {
    events: [{ column: 'time_flag', reason: 'set only for legacy local-time projects at a DST edge (events/legacy-time.test.ts covers it)' }],
    engage: [{ column: '_deleted_at', reason: 'set only on deletion markers of a full refresh (full_refresh_every; tables/engage.test.ts covers it)' }],
    groups: [{ column: '_deleted_at', reason: 'set only on deletion markers of a full refresh (full_refresh_every; the profile read groups shares with engage, covered in tables/engage.test.ts)' }],
  },
  skip: [],
});
