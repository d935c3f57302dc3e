import { afterEach, describe, expect, it } from 'vitest';
import { reportFixture, type ReportFixture } from '../reports/testing-setup.js';
import { driveTable } from '../testing/driver.js';
import { parseRevenue, REVENUE_PATH, revenue } from './revenue.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0); // 2026-11-20
const DAY = 86_400_000;
let fx: ReportFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('revenue table', () => {
  it('yields one row per day with the served values, skips $overall, and re-reads the attribution window', async () => {
    expect.hasAssertions();
    fx = await reportFixture(T0, [revenue]);
    const options = { start_date: '2026-11-08', date_window_size: '7', attribution_window: '2' };
    const first = await driveTable(fx.source(), 'revenue', null, { tableOptions: options });
    expect(fx.emu.log.forRoute('engage-revenue').map((e) => `${e.params.from_date}..${e.params.to_date}:${e.params.unit}`)).toEqual([
      '2026-11-08..2026-11-14:day',
      '2026-11-15..2026-11-20:day',
    ]);
    const wire = (await fx.query(REVENUE_PATH, { from_date: '2026-11-08', to_date: '2026-11-20', unit: 'day' })) as { results: Record<string, { amount: number; count: number; paid_count: number }> };
    const expected = Object.entries(wire.results)
      .filter(([date]) => date !== '$overall')
      .map(([date, r]) => ({ date, amount: r.amount, count: BigInt(r.count), paid_count: BigInt(r.paid_count), computed_at: T0, read_at: T0 }))
      .sort((a, b) => a.date.localeCompare(b.date));
    expect(expected).toHaveLength(13);
    expect(first.rows).toEqual(expected);

    fx.emu.log.clear();
    fx.clock.ms = T0 + DAY;
    const second = await driveTable(fx.source(), 'revenue', first.cursor, { tableOptions: options });
    expect(fx.emu.log.forRoute('engage-revenue').map((e) => `${e.params.from_date}..${e.params.to_date}`)).toEqual(['2026-11-18..2026-11-21']);
    expect(second.rows.map((r) => r.date)).toEqual(['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']);
  });

  it('rejects a results key that is neither a date nor $overall', () => {
    expect(() => parseRevenue({ status: 'ok', results: { total: {} } }, '2026-01-01', '2026-01-02', 'revenue')).toThrow(/neither a date nor \$overall/);
    expect(parseRevenue({ status: 'ok', results: { $overall: { amount: 1 } } }, '2026-01-01', '2026-01-02', 'revenue').days).toEqual([]);
  });
});
