/**
 * Cursor checks: T8 (reads terminate), SPARK-55416 (no records with an unchanged cursor), null ≡ {},
 * JSON round trip with stable key order, and a future cursor yields nothing.
 */
import { cursorsEqual, type Cursor } from '../../types.js';
import type { TableContext } from '../context.js';
import { fail, notApplicable, preview } from '../failures.js';
import { safeText } from '../logger.js';
import { drainCall, lastCursor, type CallResult, type ReadSequence } from '../reads.js';
import { rowsFingerprint } from '../values.js';
import type { TableCheck } from './check.js';

export const readsTerminate: TableCheck = {
  id: 'reads terminate',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    const endless = sequence.calls.findIndex((c) => c.endless);
    if (endless >= 0) {
      fail(`${ctx.name}: call ${endless + 1} yielded more than ${ctx.run.limits.maxBatchesPerCall} batches without returning: one call must read one bounded slice`);
    }
    if (!sequence.converged) {
      const last = sequence.calls.slice(-3).map((c) => safeText(c.output));
      fail(`${ctx.name}: the read did not converge within ${ctx.run.limits.maxCalls} calls (a call that yields nothing and returns its input cursor). Last cursors: ${last.join(' → ')}`);
    }
  },
};

export const noRecordsWithUnchangedCursor: TableCheck = {
  id: 'no batches with an unchanged cursor',
  scope: 'table',
  async run(ctx: TableContext) {
    if (await ctx.isSnapshot()) notApplicable('a snapshot table is read with one call whose cursor the host ignores');
    const { sequence } = await ctx.fullRead();
    const index = sequence.calls.findIndex((c) => c.sameCursor && c.rows.length > 0);
    if (index >= 0) {
      const call = sequence.calls[index]!;
      fail(`${ctx.name}: call ${index + 1} yielded ${call.rows.length} records and returned its input cursor ${safeText(call.input)} (SPARK-55416: Spark fails with SIMPLE_STREAM_READER_OFFSET_DID_NOT_ADVANCE; older Spark drops the records). Advance the cursor past them, or yield nothing`);
    }
  },
};

/** Why two reads differ (undefined when they are the same read: same calls, records and cursors). */
function sequenceDifference(a: ReadSequence, b: ReadSequence): string | undefined {
  if (a.calls.length !== b.calls.length) return `${a.calls.length} calls vs ${b.calls.length} calls`;
  for (let i = 0; i < a.calls.length; i++) {
    const x = a.calls[i]!;
    const y = b.calls[i]!;
    const diff = callDifference(x, y);
    if (diff !== undefined) return `call ${i + 1}: ${diff}`;
  }
  return undefined;
}

function callDifference(x: CallResult, y: CallResult): string | undefined {
  if (x.rows.length !== y.rows.length) return `${x.rows.length} records vs ${y.rows.length}`;
  if (JSON.stringify(rowsFingerprint(x.rows)) !== JSON.stringify(rowsFingerprint(y.rows))) return 'different records';
  if (!cursorsEqual(x.output, y.output)) return `returned ${safeText(x.output)} vs ${safeText(y.output)}`;
  return undefined;
}

export const nullAndEmptyStartAlike: TableCheck = {
  id: 'null and {} start the same read',
  scope: 'table',
  async run(ctx: TableContext) {
    const fromNull = await ctx.freshRead(null);
    const fromEmpty = await ctx.freshRead({});
    const diff = sequenceDifference(fromNull, fromEmpty);
    if (diff !== undefined) fail(`${ctx.name}: a read from {} differs from a read from null (${diff}); both mean "from the start" (Lakeflow streams start at {})`);
  },
};

/** The first value in `value` that JSON cannot carry exactly, as "a bigint at $.x" (undefined: none). */
export function jsonProblem(value: unknown, path = '$'): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${String(value)} at ${path}`;
  if (value === undefined) return `undefined at ${path}`;
  if (typeof value !== 'object') return `a ${typeof value} at ${path}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return `a hole at ${path}[${i}]`;
      const p = jsonProblem(value[i], `${path}[${i}]`);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return `a ${(value as object).constructor?.name ?? 'non-plain object'} at ${path}`;
  for (const [key, v] of Object.entries(value)) {
    const p = jsonProblem(v, `${path}.${key}`);
    if (p !== undefined) return p;
  }
  return undefined;
}

function sortedText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export const cursorsRoundTrip: TableCheck = {
  id: 'cursors survive a JSON round trip',
  scope: 'table',
  async run(ctx: TableContext) {
    const { sequence } = await ctx.fullRead();
    const cursors = sequence.calls.filter((c) => !c.endless).map((c) => c.output);
    cursors.forEach((cursor, i) => {
      const problem = jsonProblem(cursor);
      if (problem !== undefined) fail(`${ctx.name}: the cursor returned by call ${i + 1} holds ${problem}, which JSON does not round-trip; keep cursors to plain JSON values`);
      const text = JSON.stringify(cursor);
      if (JSON.stringify(JSON.parse(text)) !== text) fail(`${ctx.name}: the cursor returned by call ${i + 1} changes under a JSON round trip`);
    });
    const reordered = sequence.calls.findIndex((c) => !c.endless && !c.sameCursor && sortedText(c.input) === sortedText(c.output));
    if (reordered >= 0) {
      fail(`${ctx.name}: call ${reordered + 1} returned its input cursor with its keys in another order (${JSON.stringify(sequence.calls[reordered]!.output)}); Spark compares the JSON text, so build cursors with a fixed key order`);
    }
    if (await ctx.isSnapshot()) return;
    const first = sequence.calls[0];
    if (first === undefined || first.endless || first.sameCursor) return;
    const cursor: Cursor = first.output;
    const copy = JSON.parse(JSON.stringify(cursor)) as Cursor;
    const original = await ctx.run.newSource();
    const direct = await drainCall(original.source, ctx.name, cursor, ctx.readOptions(original.logger), ctx.run.limits.maxBatchesPerCall);
    const other = await ctx.run.newSource();
    let viaJson: CallResult;
    try {
      viaJson = await drainCall(other.source, ctx.name, copy, ctx.readOptions(other.logger), ctx.run.limits.maxBatchesPerCall);
    } catch (error) {
      fail(`${ctx.name}: a call from the JSON copy of cursor ${safeText(cursor)} threw (${String(error)}), while the original cursor reads fine`);
    }
    const diff = callDifference(direct, viaJson);
    if (diff !== undefined) fail(`${ctx.name}: a call from the JSON copy of a cursor differs from a call from the cursor itself: ${diff}`);
  },
};

export const futureCursorYieldsNothing: TableCheck = {
  id: 'a future cursor yields nothing',
  scope: 'table',
  async run(ctx: TableContext) {
    if (await ctx.isSnapshot()) notApplicable('a snapshot table is read from null; its cursor is ignored');
    const build = ctx.run.options.futureCursor;
    if (build === undefined) {
      fail(`${ctx.name}: no futureCursor option: pass futureCursor(table, lastCursor) returning a cursor beyond all data, or skip "${ctx.name} > ${futureCursorYieldsNothing.id}" with a reason`);
    }
    const last = lastCursor((await ctx.fullRead()).sequence);
    const future = build(ctx.name, last);
    if (cursorsEqual(future, last)) fail(`${ctx.name}: futureCursor returned the converged cursor itself; it must lie beyond it`);
    const { source, logger } = await ctx.run.newSource();
    const call = await drainCall(source, ctx.name, future, ctx.readOptions(logger), ctx.run.limits.maxBatchesPerCall);
    const problems: string[] = [];
    if (call.rows.length > 0) problems.push(`yielded ${call.rows.length} records`);
    if (call.endless) problems.push('never returned');
    else if (!cursorsEqual(call.output, future)) problems.push(`returned ${safeText(call.output)} instead of the cursor it was given`);
    if (problems.length > 0) fail(`${ctx.name}: a call from the future cursor ${safeText(future)} ${preview(problems)}`);
  },
};
