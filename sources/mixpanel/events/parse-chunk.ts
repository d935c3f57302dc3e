/**
 * One chunk of an export body (complete lines only) → Arrow batches, counters and the zone-shift tally. The same
 * function runs on the calling thread (small bodies, `MIXPANEL_PARSE_WORKERS=0`) and in the parse workers, so
 * both paths produce the same rows. Lines go through the byte scanner (scan-builder.ts), which sends what it does
 * not take to today's JSON.parse mapping; `parseEventChunkByRecords` is today's path for every line (the reference
 * the differential tests and the bench compare with). Pure apart from the per-thread caches of column sets and
 * legacy clocks.
 */
import { isUtf8 } from 'node:buffer';
import type { RecordBatch } from 'apache-arrow';
import { EventBatchBuilder, BATCH_ROWS, type EventCounters } from './builder.js';
import { LegacyClock } from './legacy-time.js';
import { LineSplitter, unterminatedTail } from './lines.js';
import { ScanBatchBuilder } from './scan-builder.js';
import { ALL_EVENT_COLUMNS, eventColumnsFor, type EventColumns } from './schema.js';
import type { ZoneShiftState } from './zone-shift.js';

/** What a chunk needs besides its bytes; plain data (it crosses a worker boundary). */
export interface ChunkSettings {
  /** The slice, for error messages. */
  readonly what: string;
  /** The project zone when `time` is legacy local time, else null. */
  readonly legacyZone: string | null;
  /** The standard properties typed as columns; null = all of them. */
  readonly selected: readonly string[] | null;
}

export interface ChunkResult {
  readonly batches: RecordBatch[];
  readonly rows: number;
  readonly counters: EventCounters;
  readonly zoneShift: ZoneShiftState;
  /** Lines the byte scanner sent to today's path (absent: every line went there). */
  readonly fallbacks?: number;
}

const columnsCache = new Map<string, EventColumns>();
/** One scanning builder per column set and thread, reused chunk after chunk (its buffers stay grown). */
const scanBuilders = new Map<EventColumns, ScanBatchBuilder>();
const clocks = new Map<string, LegacyClock>();

/** The `selected` list of a column set (null = every standard property). */
export function selectionOf(columns: EventColumns): readonly string[] | null {
  return columns === ALL_EVENT_COLUMNS ? null : columns.table.properties.map((p) => p.property);
}

function columnsFor(selected: readonly string[] | null): EventColumns {
  if (selected === null) return ALL_EVENT_COLUMNS;
  const key = selected.join('\u0000');
  let columns = columnsCache.get(key);
  if (columns === undefined) {
    columns = eventColumnsFor(new Set(selected));
    columnsCache.set(key, columns);
  }
  return columns;
}

function clockFor(zone: string | null): LegacyClock | null {
  if (zone === null) return null;
  let clock = clocks.get(zone);
  if (clock === undefined) {
    clock = new LegacyClock(zone);
    clocks.set(zone, clock);
  }
  return clock;
}

function lineCount(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) n++;
  return n;
}

/** Batches are cut between steps of this many bytes once BATCH_ROWS rows are pending (both paths cut alike). */
const STEP = 1 << 20;

/**
 * Parse `chunk` (complete `\n`-terminated lines; `baseOffset` = its first byte's offset in the body). Throws the
 * builder's TransientError for a line that is not an event, with the body-wide byte offset.
 */
export function parseEventChunk(chunk: Uint8Array, baseOffset: number, settings: ChunkSettings): ChunkResult {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const columns = columnsFor(settings.selected);
  let builder = scanBuilders.get(columns);
  if (builder === undefined) {
    builder = new ScanBatchBuilder(columns, lineCount(bytes), bytes.length);
    scanBuilders.set(columns, builder);
  }
  builder.start(clockFor(settings.legacyZone), settings.what);
  const utf8 = isUtf8(bytes);
  const batches: RecordBatch[] = [];
  let rows = 0;
  let start = 0;
  let stepEnd = Math.min(bytes.length, STEP);
  for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
    // The same cuts as today's path, which feeds the chunk a step at a time and flushes after each step.
    while (nl >= stepEnd) {
      if (builder.rows >= BATCH_ROWS) {
        rows += builder.rows;
        batches.push(builder.flush());
      }
      stepEnd = Math.min(bytes.length, stepEnd + STEP);
    }
    builder.line(bytes, start, nl, baseOffset + start, utf8);
    start = nl + 1;
  }
  if (builder.rows >= BATCH_ROWS) {
    rows += builder.rows;
    batches.push(builder.flush());
  }
  if (start < bytes.length) throw unterminatedTail(bytes.toString('utf8', start), settings.what, baseOffset + start, baseOffset + bytes.length);
  if (builder.rows > 0) {
    rows += builder.rows;
    batches.push(builder.flush());
  }
  return { batches, rows, counters: builder.counters, zoneShift: builder.zoneShift.state(), fallbacks: builder.fallbacks };
}

/** Today's path for every line (JSON.parse per line, `EventBatchBuilder`): the reference of the scanner's rows. */
export function parseEventChunkByRecords(chunk: Uint8Array, baseOffset: number, settings: ChunkSettings): ChunkResult {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const builder = new EventBatchBuilder(clockFor(settings.legacyZone), settings.what, columnsFor(settings.selected), lineCount(bytes));
  const splitter = new LineSplitter(builder, baseOffset);
  const batches: RecordBatch[] = [];
  let rows = 0;
  // Feed at most ~1 MiB at a time so a batch never grows far beyond BATCH_ROWS.
  for (let start = 0; start < bytes.length; start += STEP) {
    splitter.push(bytes.subarray(start, Math.min(bytes.length, start + STEP)));
    if (builder.rows >= BATCH_ROWS) {
      rows += builder.rows;
      batches.push(builder.flush());
    }
  }
  splitter.finish(settings.what);
  if (builder.rows > 0) {
    rows += builder.rows;
    batches.push(builder.flush());
  }
  return { batches, rows, counters: builder.counters, zoneShift: builder.zoneShift.state() };
}
