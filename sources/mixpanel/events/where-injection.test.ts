/**
 * The `where` table option against an injection corpus, end to end: an invalid expression is a ConfigError before
 * any call (the emulator's log stays empty); a valid one, however it is written, reaches the export as one
 * parenthesised term AND-ed with the processing-time bounds, so the emulator returns only the intended rows: no
 * row past the watermark, and a second run re-reads nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type Cursor } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator, type IngestEvent } from '../../../emulator/index.js';
import { driveTable, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

interface Seed {
  readonly id: string;
  readonly os: string | undefined;
  /** Minutes before T0 the event was processed (negative: processed after T0 − safety_lag, past the watermark). */
  readonly processedAgo: number;
  readonly extra?: Record<string, string>;
}

/** Processed well before the run (inside the bounds) or 5 minutes before it (past U = T0 − 10 minutes). */
const SEEDS: readonly Seed[] = [
  { id: 'ios-1', os: 'iOS', processedAgo: 120 },
  { id: 'ios-late', os: 'iOS', processedAgo: 5 },
  { id: 'android-1', os: 'Android', processedAgo: 90 },
  { id: 'android-late', os: 'Android', processedAgo: 4 },
  { id: 'none-1', os: undefined, processedAgo: 60 },
  { id: 'quote-1', os: 'iOS") or (true', processedAgo: 30 },
  { id: 'unicode-1', os: 'Linux', processedAgo: 45, extra: { 名前: '値 🙂' } },
];

function seed(em: Emulator): void {
  for (const s of SEEDS) {
    const event: IngestEvent = {
      event: 'Open',
      properties: { time: T0 - 3 * HOUR, distinct_id: `u-${s.id}`, $insert_id: s.id, ...(s.os === undefined ? {} : { $os: s.os }), ...s.extra },
    };
    em.data.importEvents([event], { processingTimeMs: T0 - s.processedAgo * MINUTE });
  }
}

function ids(rows: readonly Row[]): string[] {
  return rows.map((r) => String(r['insert_id'])).sort();
}

/** The seeds inside the bounds (processed at or before T0 − 10 minutes) that `keep` selects. */
function expected(keep: (s: Seed) => boolean): string[] {
  return SEEDS.filter((s) => s.processedAgo >= 10 && keep(s))
    .map((s) => s.id)
    .sort();
}

/** Valid expressions, however written, and the rows they must select. */
const VALID: readonly (readonly [string, (s: Seed) => boolean])[] = [
  ['properties["$os"] == "iOS"', (s) => s.os === 'iOS'],
  ['properties["$os"] == "iOS" or true', () => true],
  ['true or properties["$os"] == "iOS"', () => true],
  ['properties["$os"] == "iOS\\") or (true"', (s) => s.os === 'iOS") or (true'],
  ["properties[\"$os\"] == 'iOS\") or (true'", (s) => s.os === 'iOS") or (true'],
  ['not defined(properties["$os"]) or properties["$os"] in ["Android"]', (s) => s.os === undefined || s.os === 'Android'],
  ['properties["名前"] == "値 🙂"', (s) => s.extra?.['名前'] === '値 🙂'],
  ['((((properties["$os"] == "Android"))))', (s) => s.os === 'Android'],
  ['properties["mp_processing_time_ms"] > 0 OR properties["$os"] == "x"', () => true],
];

/** Invalid expressions: each must fail before any call, naming the option. */
const INVALID: readonly string[] = [
  'properties["$os"] == "iOS") or (true',
  'properties["$os"] == "iOS")) or ((true',
  'true) or (true',
  ') or (',
  'properties["$os"] == "iOS" /* ) or (true */',
  'properties["$os"] == "iOS" -- ) or (true',
  'properties["$os"] == "iOS\\") or (true',
  'properties["$os"] == "iOS" or properties["mp_processing_time_ms"] > 0) and (true',
  `properties["$os"] in [${Array.from({ length: 2000 }, (_, i) => `"os-${i}"`).join(', ')}]`,
  'properties["$os"] == "iOS"\n) or (true',
];

describe('events where: an injection corpus against the emulator', () => {
  it('returns only the intended rows for every valid expression: none past the watermark, nothing re-read by the next run', async () => {
    expect.hasAssertions();
    let clock = T0;
    emulator = await startEmulator({ now: () => clock, limits: NO_LIMITS });
    seed(emulator);
    for (const [where, keep] of VALID) {
      clock = T0;
      emulator.log.clear();
      const tableOptions = { where, start_date: '2024-06-09' };
      const run1 = await driveTable(emulatorSource(emulator, { now: () => clock }), 'events', null, { tableOptions });
      expect(ids(run1.rows), where).toEqual(expected(keep));
      const sent = emulator.log.forRoute('export').map((e) => e.params['where'] ?? '');
      expect(sent.length, where).toBeGreaterThan(0);
      for (const w of sent) expect(w, where).toMatch(/^\(.*\) and properties\["mp_processing_time_ms"\] <= \d+$/);
      clock = T0 + HOUR;
      const run2 = await driveTable(emulatorSource(emulator, { now: () => clock }), 'events', run1.cursor, { tableOptions });
      // An hour later the two events processed past the first run's watermark are inside the bounds: the next run
      // reads exactly those the filter selects, and nothing the first run read.
      const late = SEEDS.filter((s) => s.processedAgo < 10 && keep(s)).map((s) => s.id).sort();
      expect(ids(run2.rows), where).toEqual(late);
    }
  });

  it('rejects every invalid expression with a ConfigError naming table_configuration.where, the position and the fix, before any call', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    seed(emulator);
    const source = emulatorSource(emulator, { now: () => T0 });
    for (const where of INVALID) {
      const tableOptions = { where };
      for (const attempt of [
        () => source.readTable('events', null as Cursor, { tableOptions }),
        () => source.getSchema('events', { tableOptions }),
        () => source.readTableMetadata('events', { tableOptions }),
      ]) {
        let error: unknown;
        try {
          await attempt();
        } catch (e) {
          error = e;
        }
        expect(error, where).toBeInstanceOf(ConfigError);
        expect((error as Error).message, where).toMatch(/^table_configuration\.where of events is not a valid Mixpanel segmentation expression: .* at character \d+/);
      }
    }
    expect(emulator.log.forRoute('export')).toEqual([]);
  });
});
