/**
 * `annotations`: the project's annotations (snapshot, key `id`), read from `start_date` (default today −
 * MIXPANEL_HISTORICAL_DAYS) to today in one call, 365 days per request. `date` is Mixpanel's project-local wall
 * clock as sent; `time` is that instant in UTC (the wall clock read in the project timezone).
 */
import { Field, Int64, Schema, Utf8, type RecordBatch } from 'apache-arrow';
import { DateTime } from 'luxon';
import { batchFromColumns, timestampMsUtc, type TableMetadata } from '../../../connector-spec/index.js';
import { addDays, minDate } from '../events/dates.js';
import { snapshotAlreadyRead, snapshotCursor } from '../profiles/snapshot-cursor.js';
import { firstStartDate, todayOf } from '../reports/date-report.js';
import { parseReportOptions, SNAPSHOT_OPTION_SPECS } from '../reports/options.js';
import { badResponse, intOrNull, integerIdText, isObject, textOrNull } from '../reports/values.js';
import { defineTable } from '../table.js';

export const ANNOTATIONS_PATH = '/api/query/annotations';
const MAX_RANGE_DAYS = 365;

export const ANNOTATIONS_SCHEMA = new Schema([
  new Field('id', new Int64(), false),
  new Field('date', new Utf8(), true),
  new Field('time', timestampMsUtc(), true),
  new Field('description', new Utf8(), true),
  new Field('project_id', new Int64(), true),
]);

export const ANNOTATIONS_METADATA: TableMetadata = Object.freeze({ primaryKeys: Object.freeze(['id']), ingestionType: 'snapshot' });

const KNOWN = new Set(['id', 'date', 'description', 'project_id']);

export interface Annotation {
  readonly id: string;
  readonly date: string | null;
  readonly timeMs: number | null;
  readonly description: string | null;
  readonly projectId: number | bigint | null;
}

/** `YYYY-MM-DD HH:MM:SS` read as a wall clock in `zone` → epoch ms, or null. */
export function wallClockMs(text: string, zone: string): number | null {
  const parsed = DateTime.fromSQL(text.trim(), { zone });
  if (parsed.isValid) return parsed.toMillis();
  const iso = DateTime.fromISO(text.trim(), { zone });
  return iso.isValid ? iso.toMillis() : null;
}

/** `{annotations: [...]}` (legacy API) or `{results: [...]}` → annotations and the fields without a column. Pure. */
export function parseAnnotations(body: unknown, zone: string, table: string): { annotations: Annotation[]; unknownFields: string[] } {
  const list = isObject(body) ? (Array.isArray(body['annotations']) ? body['annotations'] : Array.isArray(body['results']) ? body['results'] : undefined) : undefined;
  if (list === undefined) throw badResponse(table, ANNOTATIONS_PATH, 'neither {"annotations": [...]} nor {"results": [...]}');
  const unknown = new Set<string>();
  const annotations: Annotation[] = [];
  for (const item of list as unknown[]) {
    if (!isObject(item)) throw badResponse(table, ANNOTATIONS_PATH, 'an annotation that is not an object');
    const id = integerIdText(item['id']);
    if (id === undefined) throw badResponse(table, ANNOTATIONS_PATH, 'an annotation without an integer id');
    for (const key of Object.keys(item)) if (!KNOWN.has(key)) unknown.add(key);
    const date = textOrNull(item['date']);
    annotations.push({ id, date, timeMs: date === null ? null : wallClockMs(date, zone), description: textOrNull(item['description']), projectId: intOrNull(item['project_id']) });
  }
  return { annotations, unknownFields: [...unknown].sort() };
}

export function annotationsBatch(rows: readonly Annotation[]): RecordBatch {
  return batchFromColumns(ANNOTATIONS_SCHEMA, [
    rows.map((a) => BigInt(a.id)),
    rows.map((a) => a.date),
    rows.map((a) => a.timeMs),
    rows.map((a) => a.description),
    rows.map((a) => a.projectId),
  ]);
}

export const annotations = defineTable({
  name: 'annotations',
  description: 'Project annotations (id, date, description), replaced on every run.',
  metadata: ANNOTATIONS_METADATA,
  options: SNAPSHOT_OPTION_SPECS,
  schema: () => ANNOTATIONS_SCHEMA,
  read(ctx, cursor, tableOptions) {
    const options = parseReportOptions(tableOptions, ctx.table, SNAPSHOT_OPTION_SPECS);
    const done = snapshotAlreadyRead(cursor, ctx.runStartMs, ctx.table);
    return (async function* () {
      if (done) return cursor;
      const today = todayOf(ctx, ctx.runStartMs);
      const byId = new Map<string, Annotation>();
      const unknownFields = new Set<string>();
      for (let from = firstStartDate(ctx, options); from <= today; from = addDays(from, MAX_RANGE_DAYS)) {
        const to = minDate(today, addDays(from, MAX_RANGE_DAYS - 1));
        const body = await ctx.client.queryJson(ANNOTATIONS_PATH, { from_date: from, to_date: to }, { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats });
        const parsed = parseAnnotations(body, ctx.config.projectTimezone, ctx.table);
        for (const a of parsed.annotations) byId.set(a.id, a);
        for (const f of parsed.unknownFields) unknownFields.add(f);
      }
      // Fields without a column are knowingly not stored (exit 3), not information.
      if (unknownFields.size > 0) ctx.stats.missing.push(`${ctx.table}: annotations returned fields without a column (${[...unknownFields].join(', ')}); they are not stored`);
      const rows = [...byId.values()];
      if (rows.length > 0) yield annotationsBatch(rows);
      ctx.onProgress?.({ table: ctx.table, rowsRead: rows.length, bytesRead: 0, apiBudgetLeft: ctx.client.budgetLeft('query') });
      return snapshotCursor(ctx.runStartMs);
    })();
  },
});
