/**
 * `funnels`: one row per saved funnel per day (funnels/list + funnels?unit=day), cdc on (`funnel_id`, `date`),
 * incremental by date with the attribution-window re-read (`reports/date-report.ts`). One call = one date window
 * of one funnel. `steps` is the day's step array as lossless JSON text.
 */
import { Field, Int64, Schema, Utf8, type RecordBatch } from 'apache-arrow';
import { batchFromColumns, timestampMsUtc, type TableMetadata } from '../../../connector-spec/index.js';
import { stringifyJson } from '../json.js';
import { readDateReport, type DateReport, type Series } from '../reports/date-report.js';
import { parseReportOptions, REPORT_OPTION_SPECS } from '../reports/options.js';
import { badResponse, intOrNull, integerIdText, isObject, JSON_COLUMN_META, textOrNull } from '../reports/values.js';
import { defineTable, type TableContext } from '../table.js';

export const FUNNELS_LIST_PATH = '/api/query/funnels/list';
export const FUNNELS_PATH = '/api/query/funnels';

export const FUNNELS_SCHEMA = new Schema([
  new Field('funnel_id', new Int64(), false),
  new Field('date', new Utf8(), false),
  new Field('name', new Utf8(), true),
  new Field('steps', new Utf8(), true, new Map([[JSON_COLUMN_META, 'true']])),
  new Field('step_count', new Int64(), true),
  new Field('starting_amount', new Int64(), true),
  new Field('completion', new Int64(), true),
  new Field('worst_step', new Int64(), true),
  new Field('read_at', timestampMsUtc(), false),
]);

export const FUNNELS_METADATA: TableMetadata = Object.freeze({
  primaryKeys: Object.freeze(['funnel_id', 'date']),
  cursorField: 'date',
  sequenceBy: Object.freeze(['read_at']),
  ingestionType: 'cdc',
});

/** funnels/list → series (id as exact text). */
export function parseFunnelList(body: unknown, table: string): Series[] {
  if (!Array.isArray(body)) throw badResponse(table, FUNNELS_LIST_PATH, 'something other than a JSON array');
  const seen = new Set<string>();
  const out: Series[] = [];
  for (const item of body as unknown[]) {
    if (!isObject(item)) throw badResponse(table, FUNNELS_LIST_PATH, 'an entry that is not an object');
    const id = integerIdText(item['funnel_id']);
    if (id === undefined) throw badResponse(table, FUNNELS_LIST_PATH, 'a funnel without an integer funnel_id');
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, name: textOrNull(item['name']) });
  }
  return out;
}

export interface FunnelDay {
  readonly date: string;
  readonly steps: string | null;
  readonly stepCount: number | bigint | null;
  readonly startingAmount: number | bigint | null;
  readonly completion: number | bigint | null;
  readonly worst: number | bigint | null;
}

/** funnels?unit=day → one entry per date in [from, to], in date order. Pure. */
export function parseFunnelDays(body: unknown, from: string, to: string, table: string): FunnelDay[] {
  if (!isObject(body) || !isObject(body['data'])) throw badResponse(table, FUNNELS_PATH, 'no "data" object');
  const days: FunnelDay[] = [];
  for (const [date, value] of Object.entries(body['data'])) {
    if (date < from || date > to) continue;
    if (!isObject(value)) throw badResponse(table, FUNNELS_PATH, `data["${date}"] that is not an object`);
    const steps = value['steps'];
    if (steps !== undefined && !Array.isArray(steps)) throw badResponse(table, FUNNELS_PATH, `data["${date}"].steps that is not an array`);
    const analysis = isObject(value['analysis']) ? value['analysis'] : {};
    days.push({
      date,
      steps: steps === undefined ? null : stringifyJson(steps),
      stepCount: intOrNull(analysis['steps']),
      startingAmount: intOrNull(analysis['starting_amount']),
      completion: intOrNull(analysis['completion']),
      worst: intOrNull(analysis['worst']),
    });
  }
  return days.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

export function funnelsBatch(funnelId: string, name: string | null, days: readonly FunnelDay[], readAtMs: number): RecordBatch {
  const id = BigInt(funnelId);
  return batchFromColumns(FUNNELS_SCHEMA, [
    days.map(() => id),
    days.map((d) => d.date),
    days.map(() => name),
    days.map((d) => d.steps),
    days.map((d) => d.stepCount),
    days.map((d) => d.startingAmount),
    days.map((d) => d.completion),
    days.map((d) => d.worst),
    days.map(() => readAtMs),
  ]);
}

const report: DateReport = {
  async listSeries(ctx: TableContext) {
    const body = await ctx.client.queryJson(FUNNELS_LIST_PATH, {}, { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats });
    return parseFunnelList(body, ctx.table);
  },
  async readWindow(ctx, series, from, to) {
    const params = { funnel_id: series.id, from_date: from, to_date: to, unit: 'day' };
    const body = await ctx.client.queryJson(FUNNELS_PATH, params, { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats });
    const days = parseFunnelDays(body, from, to, ctx.table);
    return days.length === 0 ? null : funnelsBatch(series.id, series.name, days, ctx.runStartMs);
  },
};

export const funnels = defineTable({
  name: 'funnels',
  description: 'Saved funnels, one row per funnel per day (steps, starting amount, completion); the attribution window is re-read every run.',
  metadata: FUNNELS_METADATA,
  options: REPORT_OPTION_SPECS,
  schema: () => FUNNELS_SCHEMA,
  read(ctx, cursor, tableOptions) {
    const options = parseReportOptions(tableOptions, ctx.table, REPORT_OPTION_SPECS);
    return readDateReport(ctx, cursor, options, report);
  },
});
