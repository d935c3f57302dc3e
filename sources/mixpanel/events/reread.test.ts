/**
 * rereadCursor for events: which slices a repair puts in front of the cursor (pure), and, against the emulator,
 * that reading from it brings back every event of the lost dates exactly once and then goes on as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordBatch } from 'apache-arrow';
import { cursorsEqual, type Cursor, type LakeflowSource } from '../../../connector-spec/index.js';
import { NO_RATE_LIMITS, startEmulator, type Emulator, type IngestEvent } from '../../../emulator/index.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../index.js';
import { eventsCursor, parseEventsCursor, slice } from './cursor.js';
import { rereadEventsCursor } from './reread.js';

const W = Date.UTC(2026, 10, 20, 12);

describe('rereadEventsCursor (pure)', () => {
  const done = eventsCursor('2026-11-01', W, '2026-11-20', null);

  it('puts full-day slices of the lost dates (consecutive ones joined, window_days at most) in front; watermark and max_date_read stay', () => {
    const next = parseEventsCursor(rereadEventsCursor({ cursor: done as unknown as Cursor, dates: ['2026-11-12', '2026-11-05', '2026-11-06', '2026-11-07', '2026-11-12'], zone: 'UTC', windowDays: 2 }) ?? null);
    expect(next).toEqual(eventsCursor('2026-11-01', W, '2026-11-20', { upper_ms: W, slices: [slice('2026-11-05', '2026-11-06', null), slice('2026-11-07', '2026-11-07', null), slice('2026-11-12', '2026-11-12', null)] }));
  });

  it('keeps a plan in progress after the re-read slices, under its upper bound', () => {
    const pending = eventsCursor('2026-11-01', W, '2026-11-20', { upper_ms: W + 3_600_000, slices: [slice('2026-11-15', '2026-11-20', W)] });
    const next = parseEventsCursor(rereadEventsCursor({ cursor: pending as unknown as Cursor, dates: ['2026-11-16'], zone: 'UTC', windowDays: 30 }) ?? null);
    expect(next?.pending).toEqual({ upper_ms: W + 3_600_000, slices: [slice('2026-11-16', '2026-11-16', null), slice('2026-11-15', '2026-11-20', W)] });
    expect(next?.watermark_ms).toBe(W);
  });

  it('legacy projects read the zone dates around a UTC date; dates before start_date or never read are left out', () => {
    const next = parseEventsCursor(rereadEventsCursor({ cursor: done as unknown as Cursor, dates: ['2026-11-01', '2026-11-10'], zone: 'America/Los_Angeles', windowDays: 30 }) ?? null);
    expect(next?.pending?.slices).toEqual([slice('2026-11-01', '2026-11-02', null), slice('2026-11-09', '2026-11-11', null)]);
    expect(rereadEventsCursor({ cursor: done as unknown as Cursor, dates: ['2026-10-20', '2026-12-01', 'not-a-date'], zone: 'UTC', windowDays: 30 })).toBeUndefined();
  });

  it('a start cursor needs no re-read cursor (a read from the start covers every date)', () => {
    expect(rereadEventsCursor({ cursor: null, dates: ['2026-11-05'], zone: 'UTC', windowDays: 30 })).toBeUndefined();
  });
});

const DAY = 86_400_000;

async function readAll(source: LakeflowSource, from: Cursor): Promise<{ ids: string[]; cursor: Cursor; calls: number }> {
  const ids: string[] = [];
  let cursor = from;
  for (let calls = 1; ; calls++) {
    const generator = source.readTable('events', cursor, { tableOptions: { safety_lag: '0', window_days: '1' } });
    let step = await generator.next();
    let rows = 0;
    while (!step.done) {
      const batch = step.value as RecordBatch;
      const column = batch.getChild('insert_id')!;
      for (let i = 0; i < batch.numRows; i++) ids.push(String(column.get(i)));
      rows += batch.numRows;
      step = await generator.next();
    }
    if (cursorsEqual(step.value, cursor) && rows === 0) return { ids, cursor, calls };
    cursor = step.value;
  }
}

describe('rereadCursor against the emulator', () => {
  let emulator: Emulator;
  const now = Date.now();
  const dateOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 3, limits: NO_RATE_LIMITS });
    const events: IngestEvent[] = [];
    for (let i = 0; i < 240; i++) {
      events.push({ event: 'Viewed', properties: { time: now - 60_000 - Math.floor((i / 240) * 3 * DAY), distinct_id: `u${i % 7}`, $insert_id: `rr-${i}` } });
    }
    // Half processed long ago, half processed shortly before the first read: both must come back.
    emulator.data.importEvents(events.slice(0, 120), { processingTimeMs: now - 2 * DAY });
    emulator.data.importEvents(events.slice(120), { processingTimeMs: now - 30_000 });
  });

  afterAll(async () => {
    await emulator?.close();
  });

  it('reads every event of the lost dates (whatever their processing time) once, then continues: new events only', async () => {
    const env = { MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_BASE_URL: emulator.url, MIXPANEL_HISTORICAL_DAYS: '4', MIXPANEL_PARSE_WORKERS: '0' };
    const first = createMixpanelSource(mixpanelConfigFromEnv(env));
    const all = await readAll(first, null);
    await first.close?.();
    expect(new Set(all.ids).size).toBe(240);

    const lost = [dateOf(now - 2 * DAY), dateOf(now - DAY)];
    const expected = emulator.data.exportEvents({ fromDate: lost[0]!, toDate: lost[1]! }).map((e) => String(e.properties['$insert_id'])).sort();
    expect(expected.length).toBeGreaterThan(0);
    emulator.data.importEvents([{ event: 'Late', properties: { time: now - 3 * DAY, distinct_id: 'late', $insert_id: 'rr-late' } }], { processingTimeMs: Date.now() });

    const second = createMixpanelSource(mixpanelConfigFromEnv(env));
    const cursor = second.rereadCursor!('events', all.cursor, { column: 'event_date', values: lost }, { tableOptions: { safety_lag: '0', window_days: '1' } });
    expect(cursor).toBeDefined();
    const again = await readAll(second, cursor!);
    await second.close?.();
    // The lost dates in full, plus what arrived since the watermark (the late event), nothing else.
    expect(again.ids.filter((id) => id !== 'rr-late').sort()).toEqual(expected);
    expect(again.ids.filter((id) => id === 'rr-late')).toHaveLength(1);
    expect(parseEventsCursor(again.cursor)?.pending).toBeNull();
    expect(second.rereadCursor!('events', all.cursor, { column: 'distinct_id', values: ['x'] })).toBeUndefined();
  });
});
