/**
 * `revenue`: daily revenue from engage/revenue (unit=day), cdc on `date`, incremental by date with the
 * attribution-window re-read (`reports/date-report.ts`); the `$overall` total is not a day and is skipped.
 */
import { Field, Float64, Int64, Schema, Utf8, type RecordBatch } from 'apache-arrow';
import { batchFromColumns, timestampMsUtc, type TableMetadata } from '../../../connector-spec/index.js';
import { isDate } from '../events/dates.js';
import { parseLenientDatetime } from '../properties.js';
import { readDateReport, type DateReport } from '../reports/date-report.js';
import { parseReportOptions, REPORT_OPTION_SPECS } from '../reports/options.js';
import { badResponse, floatOrNull, intOrNull, isObject } from '../reports/values.js';
import { defineTable } from '../table.js';

export const REVENUE_PATH = '/api/query/engage/revenue';

export const REVENUE_SCHEMA = new Schema([
  new Field('date', new Utf8(), false),
  new Field('amount', new Float64(), true),
  new Field('count', new Int64(), true),
  new Field('paid_count', new Int64(), true),
  new Field('computed_at', timestampMsUtc(), true),
  new Field('read_at', timestampMsUtc(), false),
]);

export const REVENUE_METADATA: TableMetadata = Object.freeze({
  primaryKeys: Object.freeze(['date']),
  cursorField: 'date',
  sequenceBy: Object.freeze(['read_at']),
  ingestionType: 'cdc',
});

export interface RevenueDay {
  readonly date: string;
  readonly amount: number | null;
  readonly count: number | bigint | null;
  readonly paidCount: number | bigint | null;
}

export interface ParsedRevenue {
  readonly days: readonly RevenueDay[];
  readonly computedAtMs: number | null;
}

/** engage/revenue → one entry per date in [from, to] (skipping `$overall`), in date order. Pure. */
export function parseRevenue(body: unknown, from: string, to: string, table: string): ParsedRevenue {
  if (!isObject(body) || !isObject(body['results'])) throw badResponse(table, REVENUE_PATH, 'no "results" object');
  if (typeof body['status'] === 'string' && body['status'] !== 'ok') throw badResponse(table, REVENUE_PATH, `status "${body['status']}"`);
  const days: RevenueDay[] = [];
  for (const [date, value] of Object.entries(body['results'])) {
    if (date === '$overall') continue;
    if (!isDate(date)) throw badResponse(table, REVENUE_PATH, `a results key "${date}" that is neither a date nor $overall`);
    if (date < from || date > to) continue;
    if (!isObject(value)) throw badResponse(table, REVENUE_PATH, `results["${date}"] that is not an object`);
    days.push({ date, amount: floatOrNull(value['amount']), count: intOrNull(value['count']), paidCount: intOrNull(value['paid_count']) });
  }
  days.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return { days, computedAtMs: parseLenientDatetime(body['computed_at']) };
}

export function revenueBatch(parsed: ParsedRevenue, readAtMs: number): RecordBatch {
  const { days } = parsed;
  return batchFromColumns(REVENUE_SCHEMA, [
    days.map((d) => d.date),
    days.map((d) => d.amount),
    days.map((d) => d.count),
    days.map((d) => d.paidCount),
    days.map(() => parsed.computedAtMs),
    days.map(() => readAtMs),
  ]);
}

const report: DateReport = {
  async listSeries() {
    return [{ id: 'revenue', name: null }];
  },
  async readWindow(ctx, _series, from, to) {
    const body = await ctx.client.queryJson(REVENUE_PATH, { from_date: from, to_date: to, unit: 'day' }, { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats });
    const parsed = parseRevenue(body, from, to, ctx.table);
    return parsed.days.length === 0 ? null : revenueBatch(parsed, ctx.runStartMs);
  },
};

export const revenue = defineTable({
  name: 'revenue',
  description: 'Daily revenue (engage/revenue: amount, count, paid_count), without the $overall total; the attribution window is re-read every run.',
  metadata: REVENUE_METADATA,
  options: REPORT_OPTION_SPECS,
  schema: () => REVENUE_SCHEMA,
  read(ctx, cursor, tableOptions) {
    const options = parseReportOptions(tableOptions, ctx.table, REPORT_OPTION_SPECS);
    return readDateReport(ctx, cursor, options, report);
  },
});
