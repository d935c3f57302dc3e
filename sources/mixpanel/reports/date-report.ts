/**
 * The incremental read of a date-keyed report (funnels: one series per saved funnel; revenue: one series). One call
 * reads one date window of one series and returns the next cursor (see `report-cursor.ts` for the model). Rows
 * carry `read_at` = the run's start, so a re-read date is a newer version of its key (cdc `sequence_by`).
 */
import type { RecordBatch } from 'apache-arrow';
import type { Cursor, TableRead } from '../../../connector-spec/index.js';
import { addDays, dateInZone, maxDate, minDate } from '../events/dates.js';
import type { TableContext } from '../table.js';
import type { ReportOptions } from './options.js';
import { parseReportCursor, reportCursor, type QueueEntry, type ReportCursor } from './report-cursor.js';

export interface Series {
  readonly id: string;
  readonly name: string | null;
}

export interface DateReport {
  /** The series to read in a new pass (funnels: funnels/list). */
  listSeries(ctx: TableContext): Promise<readonly Series[]>;
  /** Rows of one series for the dates [from, to] (inclusive); null when there are none. */
  readWindow(ctx: TableContext, series: Series, from: string, to: string): Promise<RecordBatch | null>;
}

/** Today in the project zone: Mixpanel's reports bucket dates in the project timezone. */
export function todayOf(ctx: TableContext, atMs: number): string {
  return dateInZone(atMs, ctx.config.projectTimezone);
}

export function firstStartDate(ctx: TableContext, options: ReportOptions): string {
  return options.startDate ?? addDays(todayOf(ctx, ctx.runStartMs), -ctx.config.historicalDays);
}

/** Plan a pass: every series from its re-read start to `to`. Series no longer listed lose their bookmark. */
export function planPass(cursor: ReportCursor, series: readonly Series[], to: string, attributionDays: number): { queue: QueueEntry[]; done: Record<string, string> } {
  const queue: QueueEntry[] = [];
  const done: Record<string, string> = {};
  for (const s of series) {
    const last = cursor.done[s.id];
    if (last !== undefined) done[s.id] = last;
    const from = last === undefined ? cursor.start_date : maxDate(cursor.start_date, addDays(last, -attributionDays));
    if (from <= to) queue.push({ id: s.id, name: s.name, from });
  }
  return { queue, done };
}

export function readDateReport(ctx: TableContext, rawCursor: Cursor, options: ReportOptions, report: DateReport): TableRead {
  const parsed = parseReportCursor(rawCursor, ctx.table);
  return (async function* (): TableRead {
    let cursor: ReportCursor = parsed ?? reportCursor(firstStartDate(ctx, options), null, {}, null);
    if (cursor.pending === null) {
      const upper = ctx.runStartMs;
      if (cursor.watermark_ms !== null && upper <= cursor.watermark_ms) return rawCursor;
      const to = todayOf(ctx, upper);
      const series = await report.listSeries(ctx);
      const { queue, done } = planPass(cursor, series, to, options.attributionDays);
      if (queue.length === 0) return reportCursor(cursor.start_date, upper, done, null);
      cursor = reportCursor(cursor.start_date, cursor.watermark_ms, done, { upper_ms: upper, to, queue });
    }
    const pending = cursor.pending!;
    const [head, ...rest] = pending.queue;
    if (head === undefined) return reportCursor(cursor.start_date, pending.upper_ms, cursor.done, null);
    const windowTo = minDate(pending.to, addDays(head.from, options.windowDays - 1));
    const batch = await report.readWindow(ctx, { id: head.id, name: head.name }, head.from, windowTo);
    ctx.onProgress?.({ table: ctx.table, rowsRead: batch?.numRows ?? 0, bytesRead: 0, apiBudgetLeft: ctx.client.budgetLeft('query') });
    if (batch !== null && batch.numRows > 0) yield batch;
    const done = { ...cursor.done };
    let queue: QueueEntry[];
    if (windowTo >= pending.to) {
      done[head.id] = pending.to;
      queue = rest;
    } else {
      queue = [{ ...head, from: addDays(windowTo, 1) }, ...rest];
    }
    if (queue.length === 0) return reportCursor(cursor.start_date, pending.upper_ms, done, null);
    return reportCursor(cursor.start_date, cursor.watermark_ms, done, { upper_ms: pending.upper_ms, to: pending.to, queue });
  })();
}
