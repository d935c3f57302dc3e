/**
 * The connector acceptance suite for funnels, annotations and revenue against the emulator. Their data is a
 * function of the date, so `addData` moves the shared clock a day: the next source (the next trigger) sees a new
 * day (new keys); annotations fall on about one day in seven, so for them it moves day by day until the emulator
 * holds a new one. A fixed start_date keeps every fresh full read's first day the same. `expected` is what the
 * emulator answers over HTTP for the dates a full read covers (testing/emulator-truth.ts).
 */
import { afterAll } from 'vitest';
import type { Cursor } from '../../../connector-spec/index.js';
import { describeConnectorAcceptance } from '../../../connector-spec/acceptance/index.js';
import { NO_RATE_LIMITS, startEmulator } from '../../../emulator/index.js';
import { annotations } from '../tables/annotations.js';
import { funnels } from '../tables/funnels.js';
import { revenue } from '../tables/revenue.js';
import { emulatorConfig } from '../testing/emulator-source.js';
import { emulatorReportsTruth } from '../testing/emulator-truth.js';
import { sourceOfTables } from './testing-source.js';

const DAY = 86_400_000;
let clock = Date.UTC(2026, 10, 20, 12, 0, 0);
const now = (): number => clock;
const emulator = await startEmulator({ now, limits: NO_RATE_LIMITS });
afterAll(async () => {
  await emulator.close();
});

const { username, secret } = emulator.project.serviceAccount;
const START_DATES = { funnels: '2026-11-12', revenue: '2026-11-05', annotations: '2026-08-01' } as const;
const expected = emulatorReportsTruth({ url: emulator.url, apiSecret: emulator.project.apiSecret, now, startDates: START_DATES });

async function addData(table: string): Promise<void> {
  if (table !== 'annotations') {
    clock += DAY;
    return;
  }
  const before = (await expected(table)).length;
  for (let day = 0; day < 60; day++) {
    clock += DAY;
    if ((await expected(table)).length > before) return;
  }
  throw new Error('addData(annotations): the emulator held no new annotation within 60 days');
}

describeConnectorAcceptance({
  name: 'mixpanel',
  config: emulatorConfig(emulator),
  createSource: (config, env) => sourceOfTables([funnels, annotations, revenue], config, { now, logger: env.logger }),
  tableOptions: {
    funnels: { start_date: START_DATES.funnels, date_window_size: '4' },
    revenue: { start_date: START_DATES.revenue, date_window_size: '5' },
    annotations: { start_date: START_DATES.annotations },
  },
  secrets: [secret, `${username}:${secret}`, emulator.project.apiSecret],
  addData,
  expected,
  futureCursor: (_table: string, last: Cursor) => {
    const c = (last ?? {}) as Record<string, unknown>;
    return { ...c, watermark_ms: (typeof c.watermark_ms === 'number' ? c.watermark_ms : clock) + 365 * DAY } as Cursor;
  },
  skip: [],
});
