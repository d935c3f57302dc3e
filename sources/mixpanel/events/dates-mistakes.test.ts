/**
 * Operator mistakes with the events dates never cost data: a `start_date` in the future is a ConfigError before
 * any call (it used to leave the table empty for good, exit 0); a changed `start_date`/`end_date` the stored
 * cursor cannot honour is a run warning naming `--full-refresh events` and what it would re-read; and
 * `readTableMetadata` tells the host how far back a fresh read reaches (`freshReadFrom`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, emptyReadStats, type Cursor, type LakeflowSource, type TableOptions } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import { driveTable } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';
import { eventsCursor } from './cursor.js';
import { parseEventsOptions } from './options.js';
import { cursorDriftWarnings, freshRead } from './plan.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 2024-06-10 20:00 UTC: already 2024-06-11 in Tokyo, still 2024-06-10 in Los Angeles. */
const T0 = Date.parse('2024-06-10T20:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function failure(attempt: () => unknown): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Every validation entry point of the source, for one set of table options. */
function entryPoints(source: LakeflowSource, tableOptions: TableOptions): (() => unknown)[] {
  return [
    () => source.getSchema('events', { tableOptions }),
    () => source.readTableMetadata('events', { tableOptions }),
    () => source.readTable('events', null as Cursor, { tableOptions }),
  ];
}

describe('start_date in the future', () => {
  it('is a ConfigError naming table_configuration.start_date at every entry point, before any call', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    const source = emulatorSource(emulator, { now: () => T0 });
    for (const start of ['2099-01-01', '2024-06-11']) {
      for (const attempt of entryPoints(source, { start_date: start })) {
        const error = await failure(attempt);
        expect(error, start).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toMatch(new RegExp(`^table_configuration\\.start_date of events is in the future \\(${start}; today is 2024-06-10 in UTC`));
        expect((error as Error).message).toMatch(/on or before 2024-06-10, or remove start_date/);
      }
    }
    // Today is fine, and so is an end_date in the future.
    for (const attempt of entryPoints(source, { start_date: '2024-06-10', end_date: '2030-01-01' })) expect(await failure(attempt)).toBeUndefined();
    expect(emulator.log.forRoute('export')).toEqual([]);
    await source.close?.();
  });

  it('judges "today" in the zone export dates are read in (a legacy project in Tokyo is already on the 11th)', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    const tokyo = emulatorSource(emulator, { now: () => T0, config: { legacyLocalTime: true, projectTimezone: 'Asia/Tokyo' } });
    expect(await failure(() => tokyo.getSchema('events', { tableOptions: { start_date: '2024-06-11' } }))).toBeUndefined();
    expect(await failure(() => tokyo.getSchema('events', { tableOptions: { start_date: '2024-06-12' } }))).toBeInstanceOf(ConfigError);
    const la = emulatorSource(emulator, { now: () => T0, config: { legacyLocalTime: true, projectTimezone: 'America/Los_Angeles' } });
    expect(((await failure(() => la.getSchema('events', { tableOptions: { start_date: '2024-06-11' } }))) as Error).message).toContain('today is 2024-06-10 in America/Los_Angeles');
    await tokyo.close?.();
    await la.close?.();
  });
});

describe('freshReadFrom: how far back a read from a null cursor reaches', () => {
  it('is start_date, or MIXPANEL_HISTORICAL_DAYS before today (or before end_date), as the event_date partition', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    const source = emulatorSource(emulator, { now: () => T0, config: { historicalDays: 30 } });
    expect((await source.readTableMetadata('events', { tableOptions: { start_date: '2024-01-15' } })).freshReadFrom).toEqual({ column: 'event_date', from: '2024-01-15', reason: 'start_date 2024-01-15' });
    expect((await source.readTableMetadata('events')).freshReadFrom).toEqual({ column: 'event_date', from: '2024-05-11', reason: 'MIXPANEL_HISTORICAL_DAYS=30 before 2024-06-10' });
    expect((await source.readTableMetadata('events', { tableOptions: { end_date: '2024-03-31' } })).freshReadFrom).toEqual({ column: 'event_date', from: '2024-03-01', reason: 'MIXPANEL_HISTORICAL_DAYS=30 before 2024-03-31' });
    // The metadata's other facts are unchanged.
    expect(await source.readTableMetadata('events')).toMatchObject({ primaryKeys: ['dedupe_key'], partitionBy: 'event_date', ingestionType: 'cdc' });
    await source.close?.();
  });

  it('names the UTC partition of local midnight for legacy projects (east of UTC: the day before)', () => {
    const options = parseEventsOptions({ start_date: '2024-06-01' });
    const at = (zone: string): string => freshRead({ options, runStartMs: T0, zone, historicalDays: 30 }).partitionFrom;
    expect(at('UTC')).toBe('2024-06-01');
    expect(at('America/Los_Angeles')).toBe('2024-06-01');
    expect(at('Asia/Tokyo')).toBe('2024-05-31');
  });

  it('matches what a first read really covers: no row before it, every row from it on', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS });
    const times = [Date.parse('2024-06-02T23:59:59Z'), Date.parse('2024-06-03T00:00:00Z'), Date.parse('2024-06-09T12:00:00Z')];
    emulator.data.importEvents(
      times.map((time, i) => ({ event: 'E', properties: { time, distinct_id: `u${i}`, $insert_id: `i${i}` } })),
      { processingTimeMs: T0 - 2 * DAY },
    );
    const source = emulatorSource(emulator, { now: () => T0, config: { historicalDays: 7 } });
    const { freshReadFrom } = await source.readTableMetadata('events');
    expect(freshReadFrom?.from).toBe('2024-06-03');
    const read = await driveTable(source, 'events', null);
    expect(read.rows.map((r) => r['event_date']).sort()).toEqual(['2024-06-03', '2024-06-09']);
    await source.close?.();
  });
});

describe('a changed start_date or end_date the cursor cannot honour', () => {
  it('warns once per run, naming --full-refresh events and what a full refresh would re-read', async () => {
    expect.hasAssertions();
    let clock = T0;
    emulator = await startEmulator({ now: () => clock, limits: NO_LIMITS });
    emulator.data.importEvents(
      [
        { event: 'May', properties: { time: Date.parse('2024-05-15T10:00:00Z'), distinct_id: 'm', $insert_id: 'may' } },
        { event: 'June', properties: { time: Date.parse('2024-06-05T10:00:00Z'), distinct_id: 'j', $insert_id: 'june' } },
      ],
      { processingTimeMs: T0 - 3 * DAY },
    );
    const source = (): LakeflowSource => emulatorSource(emulator!, { now: () => clock });
    const first = emptyReadStats();
    const run1 = await driveTable(source(), 'events', null, { tableOptions: { start_date: '2024-06-01', window_days: '2' }, stats: first });
    expect(run1.rows.map((r) => r['insert_id'])).toEqual(['june']);
    expect(first.warnings).toEqual([]);

    // The operator corrects start_date to an earlier date: the cursor began at 2024-06-01 and never reads May.
    clock = T0 + HOUR;
    const earlier = emptyReadStats();
    const run2 = await driveTable(source(), 'events', run1.cursor, { tableOptions: { start_date: '2024-05-01', window_days: '2' }, stats: earlier });
    expect(run2.calls).toBeGreaterThan(2);
    expect(run2.rows).toEqual([]);
    expect(earlier.warnings).toEqual([]);
    // Knowingly missing (exit 3 until the full refresh), not information.
    expect(earlier.missing).toEqual([
      'events: start_date 2024-05-01 is before 2024-06-01, the date this table\'s cursor began at: incremental runs never read 2024-05-01..2024-05-31. ' +
        'To load them, a full refresh (--full-refresh events) re-reads 2024-05-01..today (start_date 2024-05-01).',
    ]);

    // A later start_date leaves older rows in the table; a lowered end_date leaves later rows there.
    const later = emptyReadStats();
    await driveTable(source(), 'events', run2.cursor, { tableOptions: { start_date: '2024-06-04', end_date: '2024-06-08' }, stats: later });
    expect(later.warnings).toHaveLength(2);
    expect(later.warnings[0]).toBe(
      'events: start_date 2024-06-04 is after 2024-06-01, the date this table\'s cursor began at: rows from 2024-06-01..2024-06-03 stay in the table. ' +
        'To drop them, a full refresh (--full-refresh events) re-reads 2024-06-04..2024-06-08 (start_date 2024-06-04).',
    );
    expect(later.warnings[1]).toMatch(/^events: end_date 2024-06-08 is before 2024-06-10, the last date already read: rows dated 2024-06-09\.\.2024-06-10 stay in the table .* \(--full-refresh events\) re-reads 2024-06-04\.\.2024-06-08/);
  });

  it('says nothing for a start cursor or unchanged options', () => {
    const options = parseEventsOptions({ start_date: '2024-06-01', end_date: '2024-06-30' });
    const fresh = freshRead({ options, runStartMs: T0, zone: 'UTC', historicalDays: 30 });
    expect(cursorDriftWarnings('events', null, options, fresh)).toEqual([]);
    expect(cursorDriftWarnings('events', eventsCursor('2024-06-01', T0, '2024-06-10', null), options, fresh)).toEqual([]);
    const noStart = parseEventsOptions({});
    expect(cursorDriftWarnings('events', eventsCursor('2024-05-11', T0, '2024-06-10', null), noStart, freshRead({ options: noStart, runStartMs: T0 + 5 * DAY, zone: 'UTC', historicalDays: 30 }))).toEqual([]);
  });
});
