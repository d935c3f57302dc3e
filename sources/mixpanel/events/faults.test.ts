import { afterEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import { driveTable, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';

const T0 = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };
const OPTIONS = { safety_lag: '0' };

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function sorted(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => String(a['dedupe_key']).localeCompare(String(b['dedupe_key'])));
}

async function setup(eventsPerDay: number): Promise<{ emulator: Emulator; clean: Row[] }> {
  const now = (): number => T0;
  emulator = await startEmulator({ now, limits: NO_LIMITS, eventsPerDay, days: 3, seed: 11 });
  const clean = await driveTable(emulatorSource(emulator, { now, config: { historicalDays: 4 } }), 'events', null, { tableOptions: OPTIONS });
  emulator.log.clear();
  return { emulator, clean: sorted(clean.rows) };
}

describe('events slices are atomic (emulator faults)', () => {
  it('"terminated early" after 10k lines: the slice is retried, the table equals a clean read', async () => {
    expect.hasAssertions();
    const { emulator: emu, clean } = await setup(4000);
    expect(clean.length).toBeGreaterThan(10_000);
    const fault = emu.faults.add({ route: 'export', action: { kind: 'terminated-early', afterLines: 10_000 } });
    const run = await driveTable(emulatorSource(emu, { now: () => T0, config: { historicalDays: 4 } }), 'events', null, { tableOptions: OPTIONS });
    expect(fault.fired).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toBeInstanceOf(TransientError);
    expect((run.errors[0] as TransientError).code).toBe('MP_EXPORT_TERMINATED_EARLY');
    expect(sorted(run.rows)).toEqual(clean);
  });

  it('a connection reset at byte N and a cut gzip stream: retried, no duplicate, no loss', async () => {
    expect.hasAssertions();
    const { emulator: emu, clean } = await setup(2000);
    const reset = emu.faults.add({ route: 'export', action: { kind: 'reset', afterBytes: 150_000 } });
    const cut = emu.faults.add({ route: 'export', action: { kind: 'gzip-cut', afterBytes: 60_000 }, nth: 2 });
    const run = await driveTable(emulatorSource(emu, { now: () => T0, config: { historicalDays: 4 } }), 'events', null, { tableOptions: OPTIONS });
    expect(reset.fired).toBe(1);
    expect(cut.fired).toBe(1);
    expect(run.errors.map((e) => (e as TransientError).code)).toEqual(['MP_STREAM_BROKEN', 'MP_STREAM_BROKEN']);
    expect(run.rows.length).toBe(clean.length);
    expect(sorted(run.rows)).toEqual(clean);
  });

  it('a day that times out twice is split into 24 hourly slices whose union equals the day', async () => {
    expect.hasAssertions();
    const { emulator: emu, clean } = await setup(1500);
    const day = '2024-06-09';
    const timeout = emu.faults.add({
      route: 'export',
      action: { kind: 'slow-headers', delayMs: 1_500 },
      times: 2,
      when: (p) => p['from_date'] === day && p['to_date'] === day && !(p['where'] ?? '').includes('$time'),
    });
    const source = emulatorSource(emu, { now: () => T0, config: { historicalDays: 4 }, limits: { headersTimeoutMs: 300, maxRetries: 0 } });
    const run = await driveTable(source, 'events', null, { tableOptions: { ...OPTIONS, window_days: '1' } });
    expect(timeout.fired).toBe(2);
    const hourCalls = emu.log.forRoute('export').filter((e) => e.params['from_date'] === day && (e.params['where'] ?? '').includes('$time'));
    expect(hourCalls.map((e) => e.status)).toEqual(Array(24).fill(200));
    expect(hourCalls[0]!.params['where']).toMatch(/properties\["\$time"\] < datetime\("2024-06-09T01:00:00"\)$/);
    expect(hourCalls[12]!.params['where']).toMatch(/>= datetime\("2024-06-09T12:00:00"\) and properties\["\$time"\] < datetime\("2024-06-09T13:00:00"\)$/);
    expect(hourCalls[23]!.params['where']).toMatch(/properties\["\$time"\] >= datetime\("2024-06-09T23:00:00"\)$/);
    expect(run.errors).toHaveLength(2);
    expect(sorted(run.rows)).toEqual(clean);
    expect(clean.filter((r) => r['event_date'] === day).length).toBeGreaterThan(1000);
  });

  it('429 with Retry-After: 2 on the second slice waits ≥ 2 s, retries the same slice, no gap, no duplicate', async () => {
    expect.hasAssertions();
    const realStart = Date.now();
    const now = (): number => T0 + (Date.now() - realStart);
    emulator = await startEmulator({ now, limits: NO_LIMITS, eventsPerDay: 300, days: 3, seed: 5 });
    const source = (): ReturnType<typeof emulatorSource> => emulatorSource(emulator!, { now: () => T0, config: { historicalDays: 3 } });
    const clean = await driveTable(source(), 'events', null, { tableOptions: { ...OPTIONS, window_days: '1' } });
    emulator.log.clear();
    emulator.faults.status('export', 429, { retryAfterSeconds: 2, nth: 2 });
    const run = await driveTable(source(), 'events', null, { tableOptions: { ...OPTIONS, window_days: '1' } });
    const calls = emulator.log.forRoute('export');
    expect(calls.map((c) => c.status)).toEqual([200, 429, ...Array(calls.length - 2).fill(200)]);
    expect(calls[2]!.params).toEqual(calls[1]!.params);
    expect(calls[2]!.atMs - calls[1]!.atMs).toBeGreaterThanOrEqual(2_000);
    expect(run.errors).toEqual([]);
    expect(run.rows.length).toBe(clean.rows.length);
    expect(new Set(run.rows.map((r) => r['dedupe_key'])).size).toBe(run.rows.length);
    expect(sorted(run.rows)).toEqual(sorted(clean.rows));
  });
});
