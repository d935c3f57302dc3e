import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, emptyReadStats } from '../../../connector-spec/index.js';
import { reportFixture, type ReportFixture } from '../reports/testing-setup.js';
import { planPass } from '../reports/date-report.js';
import { reportCursor } from '../reports/report-cursor.js';
import { driveTable } from '../testing/driver.js';
import { FUNNELS_LIST_PATH, FUNNELS_PATH, funnels, parseFunnelDays } from './funnels.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0); // 2026-11-20
const DAY = 86_400_000;
let fx: ReportFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

interface FunnelDayWire {
  readonly steps: unknown[];
  readonly analysis: { completion: number; starting_amount: number; steps: number; worst: number };
}

describe('funnels table', () => {
  it('reads every saved funnel per day, one window of one funnel per call, with the values Mixpanel serves', async () => {
    expect.hasAssertions();
    fx = await reportFixture(T0, [funnels]);
    const result = await driveTable(fx.source(), 'funnels', null, { tableOptions: { start_date: '2026-11-10', date_window_size: '4' } });
    expect(fx.emu.log.forRoute('funnels-list')).toHaveLength(1);
    const windows = fx.emu.log.forRoute('funnels').map((e) => `${e.params.funnel_id}:${e.params.from_date}..${e.params.to_date}:${e.params.unit}`);
    const list = (await fx.query(FUNNELS_LIST_PATH, {})) as { funnel_id: number; name: string }[];
    expect(list.length).toBeGreaterThan(1);
    // 11 days (11-10..11-20) per funnel, in windows of 4 days: 3 calls per funnel, then one converged call.
    expect(result.rows).toHaveLength(list.length * 11);
    expect(result.calls).toBe(list.length * 3 + 1);
    expect(windows).toEqual(list.flatMap((f) => [`${f.funnel_id}:2026-11-10..2026-11-13:day`, `${f.funnel_id}:2026-11-14..2026-11-17:day`, `${f.funnel_id}:2026-11-18..2026-11-20:day`]));
    for (const f of list) {
      const wire = (await fx.query(FUNNELS_PATH, { funnel_id: String(f.funnel_id), from_date: '2026-11-10', to_date: '2026-11-20', unit: 'day' })) as { data: Record<string, FunnelDayWire> };
      const mine = result.rows.filter((r) => r.funnel_id === BigInt(f.funnel_id));
      expect(mine.map((r) => r.date)).toEqual(Object.keys(wire.data).sort());
      for (const row of mine) {
        const day = wire.data[row.date as string]!;
        expect(row).toEqual({
          funnel_id: BigInt(f.funnel_id),
          date: row.date,
          name: f.name,
          steps: JSON.stringify(day.steps),
          step_count: BigInt(day.analysis.steps),
          starting_amount: BigInt(day.analysis.starting_amount),
          completion: BigInt(day.analysis.completion),
          worst_step: BigInt(day.analysis.worst),
          read_at: T0,
        });
      }
    }
  });

  it('re-reads the attribution window on the next run, and a run with nothing new makes no call', async () => {
    expect.hasAssertions();
    fx = await reportFixture(T0, [funnels]);
    const options = { start_date: '2026-11-01', attribution_window: '3' };
    const first = await driveTable(fx.source(), 'funnels', null, { tableOptions: options });
    fx.emu.log.clear();
    const same = await driveTable(fx.source(), 'funnels', first.cursor, { tableOptions: options });
    expect(same.rows).toEqual([]);
    expect(fx.emu.log.entries).toHaveLength(0);

    fx.clock.ms = T0 + DAY; // 2026-11-21
    const second = await driveTable(fx.source(), 'funnels', first.cursor, { tableOptions: options });
    const ranges = new Set(fx.emu.log.forRoute('funnels').map((e) => `${e.params.from_date}..${e.params.to_date}`));
    expect([...ranges]).toEqual(['2026-11-17..2026-11-21']); // last date read 11-20, minus 3 days
    const dates = [...new Set(second.rows.map((r) => r.date))].sort();
    expect(dates).toEqual(['2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']);
    expect(second.rows.every((r) => r.read_at === T0 + DAY)).toBe(true);
  });

  it('a funnel saved after the first run is read from start_date, the others from their own bookmark', async () => {
    expect.hasAssertions();
    fx = await reportFixture(T0, [funnels]);
    const first = await driveTable(fx.source(), 'funnels', null, { tableOptions: { start_date: '2026-11-15' } });
    const cursor = first.cursor as { done: Record<string, string> };
    const ids = Object.keys(cursor.done);
    expect(ids.length).toBeGreaterThan(1);
    // Pretend the first funnel was saved after the last run: it has no bookmark, so its whole history is read.
    const without = { ...(first.cursor as object), done: Object.fromEntries(ids.slice(1).map((id) => [id, '2026-11-20'])) };
    fx.clock.ms = T0 + 1000;
    fx.emu.log.clear();
    await driveTable(fx.source(), 'funnels', without, { tableOptions: { start_date: '2026-11-15' } });
    const byFunnel = new Map(fx.emu.log.forRoute('funnels').map((e) => [e.params.funnel_id, e.params.from_date]));
    expect(byFunnel.get(ids[0]!)).toBe('2026-11-15');
    expect(byFunnel.get(ids[1]!)).toBe('2026-11-15'); // 11-20 minus the default 5 days
  });

  it('plans a pass per funnel: re-read from its last date minus the window, a new one from start_date, a deleted one forgotten', () => {
    const cursor = reportCursor('2026-11-01', T0 - DAY, { '7509': '2026-11-19', '4242': '2026-11-19' }, null);
    const plan = planPass(cursor, [{ id: '7509', name: 'a' }, { id: '9999', name: 'new' }], '2026-11-20', 5);
    expect(plan.queue).toEqual([{ id: '7509', name: 'a', from: '2026-11-14' }, { id: '9999', name: 'new', from: '2026-11-01' }]);
    expect(plan.done).toEqual({ '7509': '2026-11-19' });
  });

  it('rejects bad options and a foreign cursor when called, naming the fix', () => {
    fx = undefined;
    const ctx = { table: 'funnels' } as never;
    expect(() => funnels.read(ctx, null, { date_window_size: '0' })).toThrow(/date_window_size must be a whole number from 1 to 365/);
    expect(() => funnels.read(ctx, null, { attribution: '5' })).toThrow(ConfigError);
    expect(() => funnels.read({ ...(ctx as object), runStartMs: T0, stats: emptyReadStats() } as never, { v: 2 }, {})).toThrow(/reset the table's state/);
  });

  it('parses a response with days outside the window and rejects a shapeless one', () => {
    const body = { meta: { dates: ['2026-01-01', '2026-01-02'] }, data: { '2026-01-02': { steps: [{ count: 12345678901234567890n }], analysis: { completion: 1, starting_amount: 2, steps: 1, worst: 1 } }, '2026-01-01': { steps: [], analysis: {} } } };
    const days = parseFunnelDays(body, '2026-01-02', '2026-01-05', 'funnels');
    expect(days).toEqual([{ date: '2026-01-02', steps: '[{"count":12345678901234567890}]', stepCount: 1, startingAmount: 2, completion: 1, worst: 1 }]);
    expect(() => parseFunnelDays({ error: 'x' }, '2026-01-01', '2026-01-02', 'funnels')).toThrow(/MIXPANEL_BASE_URL/);
  });
});
