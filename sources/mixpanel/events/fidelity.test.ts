import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type ExportedEvent } from '../../../emulator/index.js';
import { parseJsonLossless } from '../json.js';
import { EVENT_PROPERTIES } from '../properties.js';
import { driveTable, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';
import { EventBatchBuilder } from './builder.js';
import { LegacyClock } from './legacy-time.js';
import { LineSplitter } from './lines.js';
import { rowsOf } from '../testing/driver.js';

const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** Int64 cells come back as bigint; the JSON number they came from was a number when it was a safe integer. */
function jsonNumber(v: unknown): unknown {
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Rebuild an export event's properties from a row: core columns, typed standard columns, custom_properties. */
function reconstruct(row: Row): ExportedEvent {
  const props: Record<string, unknown> = {};
  const custom = (row['custom_properties'] ?? {}) as Record<string, string | null>;
  for (const [k, v] of Object.entries(custom)) props[k] = parseJsonLossless(v ?? 'null');
  if (row['time_raw'] !== null) props['time'] = jsonNumber(row['time_raw']);
  if (row['distinct_id'] !== null) props['distinct_id'] = row['distinct_id'];
  if (row['insert_id'] !== null) props['$insert_id'] = row['insert_id'];
  if (row['mp_processing_time_ms'] !== null) props['mp_processing_time_ms'] = jsonNumber(row['mp_processing_time_ms']);
  for (const p of EVENT_PROPERTIES) if (row[p.column] !== null && row[p.column] !== undefined) props[p.property] = jsonNumber(row[p.column]);
  return { event: row['event'] as string, properties: props as ExportedEvent['properties'] };
}

function sortProps(e: ExportedEvent): ExportedEvent {
  return { event: e.event, properties: Object.fromEntries(Object.entries(e.properties).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

describe('events fidelity', () => {
  it('hostile fixture: every value is recoverable exactly from the row', async () => {
    expect.hasAssertions();
    const T = Date.parse('2024-06-10T12:00:00Z');
    emulator = await startEmulator({ now: () => T, limits: NO_LIMITS });
    emulator.data.addHostileFixtures({ processingTimeMs: T - 60_000 });
    const run = await driveTable(emulatorSource(emulator, { now: () => T, config: { historicalDays: 3 } }), 'events', null, { tableOptions: { safety_lag: '0' } });
    const expected = emulator.data.exportEvents({ fromDate: '2024-06-07', toDate: '2024-06-10' });
    expect(run.rows.length).toBe(expected.length);
    expect(run.rows.length).toBeGreaterThanOrEqual(8);
    const got = run.rows.map(reconstruct).map(sortProps);
    const want = expected.map(sortProps);
    const byKey = (e: ExportedEvent): string => `${String(e.properties['$insert_id'])}|${e.event}|${String(e.properties['time'])}`;
    expect(new Map(got.map((e) => [byKey(e), e]))).toEqual(new Map(want.map((e) => [byKey(e), e])));

    const keys = run.rows.find((r) => r['insert_id'] === 'hostile-keys-1')!;
    expect(keys['event']).toBe('Hostile Keys');
    expect(keys['browser']).toBeNull();
    expect((keys['custom_properties'] as Record<string, string>)['$browser']).toBe('12345');
    expect((keys['custom_properties'] as Record<string, string>)['event']).toBe('"a property named event"');
    const numbers = run.rows.find((r) => r['insert_id'] === 'hostile-numbers-1')!;
    expect((numbers['custom_properties'] as Record<string, string>)['big_id']).toBe('1234567890123456789');
    const noId = run.rows.find((r) => r['event'] === 'Hostile No Insert Id')!;
    expect(noId['insert_id_missing']).toBe(true);
    expect(noId['dedupe_key']).toMatch(/^[0-9a-f]{32}$/);
    for (const row of run.rows) {
      for (const v of Object.values((row['custom_properties'] ?? {}) as Record<string, string>)) expect(v).not.toMatch(/^(True|False|None)$/);
    }
  });

  it('parses raw control characters, U+2028/U+0085 and emoji split across chunks, and dedupes on Mixpanel\'s key', () => {
    const emoji = '😀';
    const lines = [
      `{"event":"A","properties":{"time":1718020800000,"distinct_id":"u1","$insert_id":"i1","$carrier":"x\u0006y","s":"a\u2028b\u0085c ${emoji}","ok":true}}`,
      `{"event":"A","properties":{"time":1718020800999,"distinct_id":"u1","$insert_id":"i1","mp_processing_time_ms":1718020801000}}`,
      `{"event":"A","properties":{"time":1718020801000,"distinct_id":"u1","$insert_id":"i1"}}`,
    ];
    const body = Buffer.from(lines.join('\n') + '\n', 'utf8');
    const cut = body.indexOf(Buffer.from(emoji)) + 2; // inside the 4-byte emoji
    const builder = new EventBatchBuilder(null, 'test');
    const splitter = new LineSplitter(builder);
    splitter.push(body.subarray(0, cut));
    splitter.push(body.subarray(cut, cut + 1));
    splitter.push(body.subarray(cut + 1));
    splitter.finish('test');
    expect(builder.counters.linesRecovered).toBe(1);
    const rows = rowsOf(builder.flush());
    expect(rows).toHaveLength(3);
    expect(rows[0]!['carrier']).toBe('x\u0006y');
    expect((rows[0]!['custom_properties'] as Record<string, string>)['s']).toBe(JSON.stringify(`a\u2028b\u0085c ${emoji}`));
    expect((rows[0]!['custom_properties'] as Record<string, string>)['ok']).toBe('true');
    // Same event, distinct_id, second and $insert_id → same key (a re-sent event); another second → another key.
    expect(rows[1]!['dedupe_key']).toBe(rows[0]!['dedupe_key']);
    expect(rows[2]!['dedupe_key']).not.toBe(rows[0]!['dedupe_key']);
    expect(rows[0]!['time']).toBe(1718020800000);
    expect(rows[0]!['event_date']).toBe('2024-06-10');
  });

  it('legacy US/Pacific rows: gap and overlap flagged, nothing dropped (builder level, raw wall-clock values)', () => {
    const wall = (iso: string): number => Date.parse(`${iso}Z`);
    const line = (id: string, iso: string, procIso: string): string =>
      JSON.stringify({ event: 'E', properties: { time: wall(iso), distinct_id: 'u', $insert_id: id, mp_processing_time_ms: Date.parse(procIso) } });
    const builder = new EventBatchBuilder(new LegacyClock('US/Pacific'), 'legacy');
    const splitter = new LineSplitter(builder);
    splitter.push(
      Buffer.from(
        [
          line('a', '2024-03-10T01:59:59', '2024-03-10T10:00:30Z'),
          line('gap', '2024-03-10T02:30:00', '2024-03-10T10:31:00Z'),
          line('b', '2024-03-10T03:00:00', '2024-03-10T10:01:00Z'),
          line('first', '2024-11-03T01:30:00', '2024-11-03T08:30:10Z'),
          line('second', '2024-11-03T01:30:00', '2024-11-03T09:30:10Z'),
        ].join('\n') + '\n',
      ),
    );
    splitter.finish('legacy');
    const rows = rowsOf(builder.flush());
    expect(rows.map((r) => [r['insert_id'], new Date(r['time'] as number).toISOString(), r['time_flag'], r['event_date']])).toEqual([
      ['a', '2024-03-10T09:59:59.000Z', null, '2024-03-10'],
      ['gap', '2024-03-10T10:30:00.000Z', 'dst_gap', '2024-03-10'],
      ['b', '2024-03-10T10:00:00.000Z', null, '2024-03-10'],
      ['first', '2024-11-03T08:30:00.000Z', 'dst_ambiguous', '2024-11-03'],
      ['second', '2024-11-03T09:30:00.000Z', 'dst_ambiguous', '2024-11-03'],
    ]);
    expect(rows.map((r) => r['time_raw'])).toEqual([wall('2024-03-10T01:59:59'), wall('2024-03-10T02:30:00'), wall('2024-03-10T03:00:00'), wall('2024-11-03T01:30:00'), wall('2024-11-03T01:30:00')].map(BigInt));
  });
});
