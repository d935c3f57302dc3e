/**
 * One `readTable('events')` call: plan (or resume) the run, read exactly one slice as a stream of Arrow batches,
 * and return the next cursor. A slice that fails throws (the host discards the call's rows and retries the same
 * cursor); after two transient failures of the same slice it is replaced by its halves (days, then hours).
 */
import type { RecordBatch } from 'apache-arrow';
import { CallTooLargeError, type Cursor, type ReadStats, type TableOptions, type TableRead } from '../../../connector-spec/index.js';
import type { MixpanelClient } from '../client-types.js';
import { splitMayHelp } from '../http/errors.js';
import type { TableContext } from '../table.js';
import type { EventCounters } from './builder.js';
import { EventHourTally, FILL, PROJECTION_STEP, describePartSize, isOneHour, overflowPartSize, projectedEvents, replanned } from './call-size.js';
import { ChunkFramer, type BodyChunk } from './chunk-framer.js';
import { cursorJson, eventsCursor, parseEventsCursor, type Pending, type Slice } from './cursor.js';
import { maxDate } from './dates.js';
import { unterminatedTail } from './lines.js';
import { parseEventsOptions, type EventsOptions } from './options.js';
import { parseEventChunk, selectionOf, type ChunkResult, type ChunkSettings } from './parse-chunk.js';
import { planRun, sliceKey, sliceWhere, splitSlice } from './plan.js';
import { ZoneShiftTally, legacyTimeMessage } from './zone-shift.js';

/** Failures per slice, per source instance (one client per source instance). */
const failureMemory = new WeakMap<MixpanelClient, Map<string, number>>();

/**
 * Plans re-cut after a call read more than `max_events_per_call`, per source instance: the pending plan as the
 * cursor holds it → the slices that replace it when the host retries the same cursor. Lost with the process, which
 * costs one more overflowing read (bounded like the first), never a row.
 */
const resizeMemory = new WeakMap<MixpanelClient, Map<string, readonly Slice[]>>();

/** Transient failures of one slice before it is split. */
export const FAILURES_BEFORE_SPLIT = 2;

function memoryOf<V>(memory: WeakMap<MixpanelClient, Map<string, V>>, client: MixpanelClient): Map<string, V> {
  let map = memory.get(client);
  if (!map) {
    map = new Map();
    memory.set(client, map);
  }
  return map;
}

function pendingKey(pending: Pending): string {
  return JSON.stringify([pending.upper_ms, pending.slices.map((s) => sliceKey(s, pending.upper_ms))]);
}

/** Thrown inside `readSlice` when the slice read more lines than its limit (`run` turns it into a re-plan). */
class SliceOverflow extends Error {
  /** `projected`: the slice was ended early, its size projected from rows in time order (`projectedEvents`). */
  constructor(
    readonly rowsRead: number,
    readonly projected: { readonly total: number; readonly perHour: number } | null,
  ) {
    super('slice overflow');
  }
}

/**
 * The call's limit on lines read and the tally of their event hours; `limit` null: read the slice whole.
 * `nextCheck`: the rows read at which the slice's size is next projected (null: never, for a legacy local-time
 * project, whose slice dates are not UTC days).
 */
interface CallLimit {
  readonly limit: number | null;
  readonly tally: EventHourTally;
  nextCheck: number | null;
}

function describeSlice(s: Slice): string {
  const days = s.from === s.to ? s.from : `${s.from}..${s.to}`;
  return s.hours ? `${days} hours ${s.hours[0]}-${s.hours[1]}` : days;
}

function addCounters(stats: ReadStats, c: EventCounters): void {
  const add = (name: string, n: number): void => {
    if (n > 0) stats.counters[name] = (stats.counters[name] ?? 0) + n;
  };
  add('events.values_kept_raw', c.valuesKeptRaw);
  add('events.dst_gap', c.dstGap);
  add('events.dst_ambiguous', c.dstAmbiguous);
  add('events.insert_id_missing', c.insertIdMissing);
  add('events.lines_recovered', c.linesRecovered);
  add('events.time_missing', c.timeMissing);
}

/** Parse one chunk on this thread (small bodies, no pool): the same function the workers run. */
function parseHere(chunk: BodyChunk, settings: ChunkSettings): Promise<ChunkResult> {
  try {
    return Promise.resolve(parseEventChunk(new Uint8Array(chunk.bytes), chunk.baseOffset, settings));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Streams one slice's batches; returns the rows read. */
async function* readSlice(ctx: TableContext, s: Slice, upperMs: number, options: EventsOptions, bound: CallLimit): AsyncGenerator<RecordBatch, number, undefined> {
  const what = describeSlice(s);
  const settings: ChunkSettings = {
    what,
    legacyZone: ctx.config.legacyLocalTime ? ctx.config.projectTimezone : null,
    selected: selectionOf(options.columns),
  };
  const where = sliceWhere(s, upperMs, options.where);
  ctx.logger.debug('events slice', { table: ctx.table, window: what, lowerMs: s.lower_ms, upperMs });
  const response = await ctx.client.exportStream(
    { fromDate: s.from, toDate: s.to, where, ...(options.exportEvents ? { event: options.exportEvents } : {}) },
    { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats },
  );
  const { pool, chunkBytes } = ctx.parsing;
  const framer = new ChunkFramer(chunkBytes);
  const zoneShift = new ZoneShiftTally();
  // Chunks being parsed, in body order; awaited in that order so rows keep the body's order.
  const inFlight: Promise<ChunkResult>[] = [];
  const maxInFlight = pool === null ? 0 : 2 * pool.size + 2;
  let submitted = 0;
  let rowsRead = 0;
  const submit = (chunk: BodyChunk, last: boolean): void => {
    // A chunk goes to the workers while they have room (one running and one queued each); beyond that this thread
    // parses it itself, so neither side waits idle while there is work. A body smaller than one chunk is parsed
    // here: no worker starts for a small read.
    const toPool = pool !== null && (!last || submitted > 0) && pool.hasRoom;
    submitted++;
    const parsed = toPool ? pool.parse(chunk.bytes, chunk.baseOffset, settings) : parseHere(chunk, settings);
    parsed.catch(() => {}); // awaited below; a failure after the read was abandoned must not go unhandled
    inFlight.push(parsed);
  };
  async function* take(): AsyncGenerator<RecordBatch, void, undefined> {
    const result = await inFlight.shift()!;
    addCounters(ctx.stats, result.counters);
    zoneShift.merge(result.zoneShift);
    for (const batch of result.batches) {
      rowsRead += batch.numRows;
      bound.tally.add(batch);
      // Checked before the batch is handed on: the host never holds more than the limit plus one batch.
      if (bound.limit !== null && rowsRead > bound.limit) throw new SliceOverflow(rowsRead, null);
      if (bound.limit !== null && bound.nextCheck !== null && rowsRead >= bound.nextCheck) {
        bound.nextCheck += PROJECTION_STEP * bound.limit;
        const projected = projectedEvents(s, rowsRead, bound.tally.latestHour());
        if (projected.total > bound.limit) throw new SliceOverflow(rowsRead, projected);
      }
      ctx.onProgress?.({ table: ctx.table, rowsRead, bytesRead: framer.bytes, apiBudgetLeft: ctx.client.budgetLeft('export') });
      yield batch;
    }
  }
  try {
    for await (const piece of response.body as AsyncIterable<Buffer>) {
      const chunk = framer.push(piece);
      if (chunk === null) continue;
      submit(chunk, false);
      while (inFlight.length > maxInFlight) yield* take();
    }
    const rest = framer.finish();
    if (rest.tail !== null) throw unterminatedTail(rest.tail.toString('utf8'), what, rest.tailOffset, framer.bytes);
    if (rest.lines !== null) submit(rest.lines, true);
    while (inFlight.length > 0) yield* take();
    pool?.retireIdle();
  } finally {
    response.body.destroy();
  }
  const offsetHours = zoneShift.verdict();
  if (offsetHours !== null) {
    // A log line and a counter, not a run warning: a false alarm must not turn a good run into a partial one.
    ctx.logger.warn(legacyTimeMessage(offsetHours), { table: ctx.table, window: what });
    ctx.stats.counters['events.legacy_time_suspected'] = (ctx.stats.counters['events.legacy_time_suspected'] ?? 0) + 1;
  }
  ctx.logger.debug('events slice done', { table: ctx.table, window: what, rows: rowsRead, bytes: framer.bytes, budgetLeft: ctx.client.budgetLeft('export') });
  return rowsRead;
}

/** Validate synchronously, then return the generator of one call. */
export function readEvents(ctx: TableContext, cursorIn: Cursor, tableOptions: TableOptions): TableRead {
  const options = parseEventsOptions(tableOptions);
  const cursor = parseEventsCursor(cursorIn);
  const zone = ctx.config.legacyLocalTime ? ctx.config.projectTimezone : 'UTC';
  const readUpTo = cursor?.max_date_read ?? null;
  if (options.endDate !== undefined && readUpTo !== null && readUpTo > options.endDate) {
    ctx.logger.warn('events end_date is before dates already read: those dates stay watched for late events, no later date is read', {
      table: ctx.table,
      endDate: options.endDate,
      maxDateRead: readUpTo,
    });
  }
  return (async function* run(): TableRead {
    let startDate: string;
    let pending: Pending;
    let lastDate: string | null;
    if (cursor !== null && cursor.pending !== null) {
      startDate = cursor.start_date;
      pending = cursor.pending;
      lastDate = null;
    } else {
      const plan = planRun({ cursor, runStartMs: ctx.runStartMs, options, zone, historicalDays: ctx.config.historicalDays });
      if (plan.kind === 'up_to_date') return cursorIn;
      startDate = plan.startDate;
      if (plan.slices.length === 0) return cursorJson(eventsCursor(startDate, plan.upperMs, cursor?.max_date_read ?? null, null));
      pending = { upper_ms: plan.upperMs, slices: plan.slices };
      lastDate = plan.lastDate;
    }
    const watermark = cursor?.watermark_ms ?? null;
    const maxRead = cursor?.max_date_read ?? null;
    const failures = memoryOf(failureMemory, ctx.client);
    const resizes = memoryOf(resizeMemory, ctx.client);
    const planKey = pendingKey(pending);
    const slices = [...(resizes.get(planKey) ?? pending.slices)];
    for (;;) {
      const count = failures.get(sliceKey(slices[0]!, pending.upper_ms)) ?? 0;
      if (count < FAILURES_BEFORE_SPLIT) break;
      const parts = splitSlice(slices[0]!);
      if (parts === null) break;
      ctx.logger.warn('events slice keeps failing: split', { table: ctx.table, window: describeSlice(slices[0]!), parts: parts.length });
      ctx.stats.counters['events.slices_split'] = (ctx.stats.counters['events.slices_split'] ?? 0) + 1;
      slices.splice(0, 1, ...parts);
    }
    const current = slices[0]!;
    const key = sliceKey(current, pending.upper_ms);
    const tally = new EventHourTally();
    // A one-hour slice cannot be cut further: it is read whole whatever its size.
    const limit = isOneHour(current) ? null : options.maxEventsPerCall;
    let rowsRead: number;
    try {
      const nextCheck = limit === null || ctx.config.legacyLocalTime ? null : PROJECTION_STEP * limit;
      rowsRead = yield* readSlice(ctx, current, pending.upper_ms, options, { limit, tally, nextCheck });
    } catch (error) {
      if (error instanceof SliceOverflow && limit !== null) {
        const size = overflowPartSize(current, limit, tally, error.projected)!;
        const crowded = tally.crowdedDays(FILL * limit, error.projected !== null);
        const replan = replanned(slices, size, limit, crowded);
        resizes.set(planKey, replan);
        ctx.stats.counters['events.calls_resized'] = (ctx.stats.counters['events.calls_resized'] ?? 0) + 1;
        const parts = replanned([current], size, limit, crowded);
        const inHours = size.unit === 'day' ? parts.filter((p) => p.hours !== undefined).map((p) => p.from) : [];
        const hoursNote = inHours.length > 0 ? `, ${[...new Set(inHours)].join(', ')} in hours` : '';
        const why = error.projected
          ? `about ${Math.round(error.projected.total)} events projected from the first ${error.rowsRead} read, in time order: more than ${limit} in one call (max_events_per_call)`
          : `more than ${limit} events in one call (max_events_per_call)`;
        throw new CallTooLargeError(
          `events ${describeSlice(current)}: ${why}; the call was discarded and the slice is read again in ${parts.length} parts of at most ${describePartSize(size)}${hoursNote}`,
          { code: 'MP_EVENTS_CALL_TOO_LARGE', context: { table: ctx.table, window: describeSlice(current), rowsRead: error.rowsRead, limit, ...(error.projected ? { projected: Math.round(error.projected.total) } : {}) } },
        );
      }
      // Only failures a smaller slice can help with count towards a split (a cut or timed-out body, a 5xx), never a
      // connection that could not be made.
      if (splitMayHelp(error)) failures.set(key, (failures.get(key) ?? 0) + 1);
      throw error;
    }
    failures.delete(key);
    if (limit === null && options.maxEventsPerCall !== null && rowsRead > options.maxEventsPerCall) {
      ctx.logger.warn('events: one hour of events is more than max_events_per_call; it was read whole (an hour is the smallest slice)', {
        table: ctx.table,
        window: describeSlice(current),
        rows: rowsRead,
        limit: options.maxEventsPerCall,
      });
    }
    const rest = slices.slice(1);
    if (rest.length > 0) return cursorJson(eventsCursor(startDate, watermark, maxRead, { upper_ms: pending.upper_ms, slices: rest }));
    const lastTo = maxDate(current.to, lastDate ?? current.to);
    return cursorJson(eventsCursor(startDate, pending.upper_ms, maxRead === null ? lastTo : maxDate(maxRead, lastTo), null));
  })();
}
