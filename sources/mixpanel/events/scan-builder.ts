/**
 * Export lines → Arrow batch through the byte scanner (scan-line.ts): the events hot path. For a line the scanner
 * takes, custom properties are copied from the line's bytes straight into the `custom_properties` key and value
 * buffers (the value's JSON text as written, whitespace outside strings removed), standard properties are decoded
 * into their typed columns (a string is decoded only when it holds an escape), and the dedupe key is hashed from
 * the line's bytes. Every other line (see scan-line.ts, plus events without a string `$insert_id` or with an
 * object or array `distinct_id`) goes through today's mapping (`EventRecordMapper`: JSON.parse per line) into the
 * same columns, so rows, counters and errors are the same as `EventBatchBuilder`'s by construction; the
 * differential tests (scan-builder.test.ts) hold them equal buffer for buffer.
 */
import { isUtf8 } from 'node:buffer';
import type { Data, RecordBatch, Timestamp } from 'apache-arrow';
import { BoolColumnBuilder, Float64ColumnBuilder, Int64ColumnBuilder, Utf8ColumnBuilder, batchFromColumns, utf8MapOfColumns } from '../../../connector-spec/index.js';
import { parseJsonLossless, stringifyJson } from '../json.js';
import { NO_FIT, convertValue, type PropertyTable } from '../properties.js';
import { DISTINCT_ID, EventRecordMapper, INSERT_ID, PROCESSING, TIME, slotsOf, type EventCoreValues, type EventCounters, type EventRowSink } from './builder.js';
import { dedupeKey, dedupeKeyOfJsonTexts } from './dedupe.js';
import type { LegacyClock } from './legacy-time.js';
import { ARRAY, CUSTOM, ESCAPED, FALSE, INTEGER, KeyIndex, LineScanner, NULL, NUMBER, OBJECT, SPACED, STRING, TRUE, type Reason } from './scan-line.js';
import { ALL_EVENT_COLUMNS, COL, STANDARD_OFFSET, type EventColumns } from './schema.js';
import type { ZoneShiftTally } from './zone-shift.js';

const UTF8 = 0;
const INT64 = 1;
const FLOAT64 = 2;
const BOOL = 3;
const TIMESTAMP = 4;
const KIND_CODES = { utf8: UTF8, int64: INT64, float64: FLOAT64, bool: BOOL, timestamp: TIMESTAMP } as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Why a line went to today's path: the scanner's reason, or a rule of the mapping. */
export type FallbackReason = Reason | 'invalid UTF-8' | 'no string $insert_id' | 'object or array distinct_id';

const keyIndexes = new WeakMap<PropertyTable, KeyIndex>();

function keyIndexOf(table: PropertyTable): KeyIndex {
  let index = keyIndexes.get(table);
  if (index === undefined) {
    index = new KeyIndex(slotsOf(table).slot);
    keyIndexes.set(table, index);
  }
  return index;
}

/**
 * `Number(text)` of the JSON number `b[from, to)`. At most 15 digits and no exponent: the digits as an integer
 * (exact below 2^53) divided by an exact power of ten, one correctly rounded operation, so the same double as
 * `Number(text)`; anything else through `Number` itself.
 */
export function numberAt(b: Buffer, from: number, to: number): number {
  let i = from;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let m = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < to; i++) {
    const c = b[i]!;
    if (c >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 0x2e) fraction = 0;
    else return Number(b.toString('latin1', from, to));
  }
  if (digits > 15) return Number(b.toString('latin1', from, to));
  const v = fraction > 0 ? m / POW10[fraction]! : m;
  return negative ? -v : v;
}

/** The string value of the JSON string text `b[from, to)` (with its quotes). */
function stringAt(b: Buffer, from: number, to: number, flags: number): string {
  return (flags & ESCAPED) === 0 ? b.toString('utf8', from + 1, to - 1) : (JSON.parse(b.toString('utf8', from, to)) as string);
}

export class ScanBatchBuilder implements EventRowSink {
  rows = 0;
  /** Lines sent to today's path (not taken by the scanner), and why the last one was. */
  fallbacks = 0;
  lastReason: FallbackReason = 'taken';
  private mapper: EventRecordMapper;
  private readonly scanner: LineScanner;
  private readonly kinds: Uint8Array;
  private readonly utf8: (Utf8ColumnBuilder | null)[] = [];
  private readonly int64: (Int64ColumnBuilder | null)[] = [];
  private readonly float64: (Float64ColumnBuilder | null)[] = [];
  private readonly bool: (BoolColumnBuilder | null)[] = [];
  private readonly dedupe: Utf8ColumnBuilder;
  private readonly event: Utf8ColumnBuilder;
  private readonly insertId: Utf8ColumnBuilder;
  private readonly insertIdMissing: BoolColumnBuilder;
  private readonly distinctId: Utf8ColumnBuilder;
  private readonly time: Int64ColumnBuilder;
  private readonly timeRaw: Int64ColumnBuilder;
  private readonly timeFlag: Utf8ColumnBuilder;
  private readonly eventDate: Utf8ColumnBuilder;
  private readonly processing: Int64ColumnBuilder;
  private readonly customKeys: Utf8ColumnBuilder;
  private readonly customValues: Utf8ColumnBuilder;
  private customOffsets: Int32Array;
  /** The UTF-8 bytes of the last event date written (the common case: a run of rows on one day). */
  private lastDate = '';
  private readonly lastDateBytes = Buffer.alloc(32);
  private lastDateLength = 0;

  /**
   * A builder for one column set, reusable slice after slice (`start`): its buffers grow to the largest batch and
   * stay. Call `start` before the first line.
   * @param columns the standard properties typed as columns (the rest go to custom_properties)
   * @param expectedRows rows expected per batch (pre-sizes the columns; a batch may hold more)
   * @param expectedBytes bytes of the lines expected per batch (pre-sizes the custom_properties buffers)
   */
  constructor(
    private readonly columns: EventColumns = ALL_EVENT_COLUMNS,
    expectedRows = 1024,
    expectedBytes = 1 << 20,
  ) {
    this.mapper = new EventRecordMapper(null, '', columns.table);
    this.scanner = new LineScanner(keyIndexOf(columns.table));
    const rows = Math.max(16, expectedRows);
    const properties = columns.table.properties;
    this.kinds = Uint8Array.from(properties, (p) => KIND_CODES[p.kind]);
    for (const p of properties) {
      this.utf8.push(p.kind === 'utf8' ? new Utf8ColumnBuilder(rows, rows * 16) : null);
      this.int64.push(p.kind === 'int64' || p.kind === 'timestamp' ? new Int64ColumnBuilder(rows) : null);
      this.float64.push(p.kind === 'float64' ? new Float64ColumnBuilder(rows) : null);
      this.bool.push(p.kind === 'bool' ? new BoolColumnBuilder(rows) : null);
    }
    this.dedupe = new Utf8ColumnBuilder(rows, rows * 32);
    this.event = new Utf8ColumnBuilder(rows, rows * 16);
    this.insertId = new Utf8ColumnBuilder(rows, rows * 40);
    this.insertIdMissing = new BoolColumnBuilder(rows);
    this.distinctId = new Utf8ColumnBuilder(rows, rows * 16);
    this.time = new Int64ColumnBuilder(rows);
    this.timeRaw = new Int64ColumnBuilder(rows);
    this.timeFlag = new Utf8ColumnBuilder(rows, 64);
    this.eventDate = new Utf8ColumnBuilder(rows, rows * 10);
    this.processing = new Int64ColumnBuilder(rows);
    this.customKeys = new Utf8ColumnBuilder(rows * 8, expectedBytes >> 2);
    this.customValues = new Utf8ColumnBuilder(rows * 8, expectedBytes >> 1);
    this.customOffsets = new Int32Array(rows + 1);
  }

  /**
   * Start a new piece of work (a chunk of a slice): fresh counters and zone-shift tally, no rows.
   * @param legacy converter for legacy projects (`time` is project-local wall clock), null for UTC projects
   * @param what the slice, for error messages
   */
  start(legacy: LegacyClock | null, what: string): void {
    this.mapper = new EventRecordMapper(legacy, what, this.columns.table);
    this.fallbacks = 0;
    this.lastReason = 'taken';
    this.rows = 0;
    this.customOffsets[0] = 0;
    for (const column of [...this.utf8, ...this.int64, ...this.float64, ...this.bool]) column?.clear();
    for (const column of [this.dedupe, this.event, this.insertId, this.insertIdMissing, this.distinctId, this.time, this.timeRaw, this.timeFlag, this.eventDate, this.processing, this.customKeys, this.customValues]) column.clear();
  }

  get counters(): EventCounters {
    return this.mapper.counters;
  }

  /** Offsets between `time` and processing over the work since `start` (UTC projects only). */
  get zoneShift(): ZoneShiftTally {
    return this.mapper.zoneShift;
  }

  /**
   * One export line: `b[from, to)` without its `\n`, starting at body offset `byteOffset`. `utf8` = the bytes are
   * known to be valid UTF-8 (checked a chunk at a time); otherwise the line is checked here.
   */
  line(b: Buffer, from: number, to: number, byteOffset: number, utf8: boolean): void {
    this.lastReason = 'taken';
    if (!utf8 && !isUtf8(b.subarray(from, to))) this.lastReason = 'invalid UTF-8';
    else if (this.scanner.scan(b, from, to)) {
      if (this.take(b)) return;
    }
    this.fallbacks++;
    if (this.lastReason === 'taken') this.lastReason = this.scanner.reason;
    this.mapper.line(b.toString('utf8', from, to), byteOffset, this);
  }

  /** Write the scanned line as the next row, or false (nothing written) when today's path must map it. */
  private take(b: Buffer): boolean {
    const s = this.scanner;
    const n = s.count;
    const slots = s.slot;
    const kinds = s.kind;
    let timeAt = -1;
    let distinctAt = -1;
    let insertAt = -1;
    let processingAt = -1;
    for (let p = 0; p < n; p++) {
      const slot = slots[p]!;
      if (slot >= 0 || slot === CUSTOM) continue;
      if (slot === TIME) timeAt = p;
      else if (slot === DISTINCT_ID) distinctAt = p;
      else if (slot === INSERT_ID) insertAt = p;
      else if (slot === PROCESSING) processingAt = p;
    }
    // Without a string $insert_id the key hashes the whole record; an object distinct_id is written by JSON.stringify.
    if (insertAt < 0 || kinds[insertAt] !== STRING) return this.reject('no string $insert_id');
    if (distinctAt >= 0 && (kinds[distinctAt] === OBJECT || kinds[distinctAt] === ARRAY)) return this.reject('object or array distinct_id');

    const row = this.rows;
    const counters = this.counters;
    const valueFrom = s.valueFrom;
    const valueTo = s.valueTo;
    const flags = s.flags;
    let misfits = 0;
    for (let p = 0; p < n; p++) {
      const slot = slots[p]!;
      if (slot >= 0) {
        if (kinds[p] !== NULL) {
          if (this.standard(slot, b, p, row)) continue;
          misfits++;
        }
      } else if (slot !== CUSTOM) continue;
      this.custom(b, p);
    }
    counters.valuesKeptRaw += misfits;

    let timeRaw: number | null = null;
    if (timeAt >= 0 && kinds[timeAt] === NUMBER) {
      const v = numberAt(b, valueFrom[timeAt]!, valueTo[timeAt]!);
      if (Number.isSafeInteger(v)) timeRaw = v;
    }
    if (timeRaw === null) {
      counters.timeMissing++;
      if (timeAt >= 0) this.custom(b, timeAt);
    }

    let processing: number | null = null;
    if (processingAt >= 0) {
      const kind = kinds[processingAt];
      if (kind === NUMBER) {
        const v = numberAt(b, valueFrom[processingAt]!, valueTo[processingAt]!);
        if (Number.isSafeInteger(v)) processing = v;
      }
      if (processing === null && kind !== NULL) {
        counters.valuesKeptRaw++;
        this.custom(b, processingAt);
      }
    }

    const distinctKind = distinctAt < 0 ? 0 : kinds[distinctAt]!;
    if (distinctKind === STRING) {
      const from = valueFrom[distinctAt]!;
      const to = valueTo[distinctAt]!;
      if ((flags[distinctAt]! & ESCAPED) === 0) this.distinctId.appendBytes(b, from + 1, to - 1);
      else this.distinctId.appendString(stringAt(b, from, to, ESCAPED));
    } else {
      this.distinctId.appendNull();
      if (distinctKind !== 0 && distinctKind !== NULL) {
        counters.valuesKeptRaw++;
        this.custom(b, distinctAt);
      }
    }

    const insertFrom = valueFrom[insertAt]!;
    const insertTo = valueTo[insertAt]!;
    const insertEscaped = (flags[insertAt]! & ESCAPED) !== 0;
    if (insertEscaped) this.insertId.appendString(stringAt(b, insertFrom, insertTo, ESCAPED));
    else this.insertId.appendBytes(b, insertFrom + 1, insertTo - 1);
    this.insertIdMissing.append(false);

    const eventString = s.eventKind === STRING;
    const eventEscaped = eventString && (s.eventFlags & ESCAPED) !== 0;
    if (!eventString) this.event.appendNull();
    else if (eventEscaped) this.event.appendString(stringAt(b, s.eventFrom, s.eventTo, ESCAPED));
    else this.event.appendBytes(b, s.eventFrom + 1, s.eventTo - 1);

    const time = this.mapper.utcTime(timeRaw, processing);
    const flag = this.mapper.timeFlag;

    const seconds = timeRaw === null ? null : Math.floor(timeRaw / 1000);
    let key: string;
    if (!eventEscaped && !insertEscaped && (distinctKind === 0 || (distinctKind === STRING && (flags[distinctAt]! & ESCAPED) === 0))) {
      key = dedupeKeyOfJsonTexts(
        b,
        eventString ? s.eventFrom : -1,
        eventString ? s.eventTo : -1,
        distinctKind === 0 ? -1 : valueFrom[distinctAt]!,
        distinctKind === 0 ? -1 : valueTo[distinctAt]!,
        seconds,
        insertFrom,
        insertTo,
      );
    } else {
      const event = eventString ? stringAt(b, s.eventFrom, s.eventTo, s.eventFlags) : null;
      const distinctJson = distinctKind === 0 ? null : stringifyJson(this.scalarAt(b, distinctAt));
      key = dedupeKey(event, distinctJson, seconds, stringAt(b, insertFrom, insertTo, ESCAPED));
    }
    this.dedupe.writeAscii(key);
    this.dedupe.endValue();
    this.endCore(time, timeRaw, flag, processing);
    return true;
  }

  private reject(reason: FallbackReason): false {
    this.lastReason = reason;
    return false;
  }

  /** The JS value `JSON.parse` (lossless) gives the scalar of property `p`. */
  private scalarAt(b: Buffer, p: number): unknown {
    const s = this.scanner;
    const from = s.valueFrom[p]!;
    const to = s.valueTo[p]!;
    switch (s.kind[p]) {
      case STRING:
        return stringAt(b, from, to, s.flags[p]!);
      case NUMBER:
        return parseJsonLossless(b.toString('latin1', from, to));
      case TRUE:
        return true;
      case FALSE:
        return false;
      default:
        return null;
    }
  }

  /** Property `p` into standard column `i` when its value fits the column's type (else false: it stays raw). */
  private standard(i: number, b: Buffer, p: number, row: number): boolean {
    const s = this.scanner;
    const kind = s.kind[p];
    const from = s.valueFrom[p]!;
    const to = s.valueTo[p]!;
    switch (this.kinds[i]) {
      case UTF8: {
        if (kind !== STRING) return false;
        const column = this.utf8[i]!;
        column.padTo(row);
        if ((s.flags[p]! & ESCAPED) === 0) column.appendBytes(b, from + 1, to - 1);
        else column.appendString(stringAt(b, from, to, ESCAPED));
        return true;
      }
      case INT64: {
        if (kind !== NUMBER) return false;
        const column = this.int64[i]!;
        const v = numberAt(b, from, to);
        if (Number.isSafeInteger(v)) {
          column.padTo(row);
          column.appendNumber(v);
          return true;
        }
        if ((s.flags[p]! & INTEGER) === 0) return false;
        const big = BigInt(b.toString('latin1', from, to));
        if (big < INT64_MIN || big >= INT64_MAX) return false;
        column.padTo(row);
        column.appendBigInt(big);
        return true;
      }
      case FLOAT64: {
        if (kind !== NUMBER) return false;
        const v = numberAt(b, from, to);
        // An integer beyond 2^53 is read exactly (a bigint), which a float64 column does not take.
        if ((s.flags[p]! & INTEGER) !== 0 && !Number.isSafeInteger(v)) return false;
        if (!Number.isFinite(v)) return false;
        const column = this.float64[i]!;
        column.padTo(row);
        column.append(v);
        return true;
      }
      case BOOL: {
        if (kind !== TRUE && kind !== FALSE) return false;
        const column = this.bool[i]!;
        column.padTo(row);
        column.append(kind === TRUE);
        return true;
      }
      default: {
        if (kind === OBJECT || kind === ARRAY) return false;
        const ms = convertValue('timestamp', this.scalarAt(b, p));
        if (ms === NO_FIT) return false;
        const column = this.int64[i]!;
        column.padTo(row);
        column.appendNumber(ms as number);
        return true;
      }
    }
  }

  /** Property `p` into custom_properties: its key, and its value's text without whitespace outside strings. */
  private custom(b: Buffer, p: number): void {
    const s = this.scanner;
    this.customKeys.appendBytes(b, s.keyFrom[p]!, s.keyTo[p]!);
    const from = s.valueFrom[p]!;
    const to = s.valueTo[p]!;
    if ((s.flags[p]! & SPACED) === 0 || (s.kind[p] !== OBJECT && s.kind[p] !== ARRAY)) {
      this.customValues.appendBytes(b, from, to);
      return;
    }
    const values = this.customValues;
    let segment = from;
    let j = from;
    while (j < to) {
      const c = b[j]!;
      if (c === 0x22) {
        // a string: up to its closing quote (escaped quotes skipped)
        j++;
        while (b[j] !== 0x22) j += b[j] === 0x5c ? 2 : 1;
        j++;
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        values.write(b, segment, j);
        while (j < to && (b[j] === 0x20 || b[j] === 0x0a || b[j] === 0x0d || b[j] === 0x09)) j++;
        segment = j;
      } else j++;
    }
    values.write(b, segment, to);
    values.endValue();
  }

  /** The core columns of the row after its custom entries. */
  private endCore(time: number | null, timeRaw: number | null, flag: string | null, processing: number | null): void {
    if (time === null) {
      this.time.appendNull();
      this.eventDate.appendNull();
    } else {
      this.time.appendNumber(time);
      const date = this.mapper.dates.dateOf(time);
      if (date !== this.lastDate) {
        this.lastDate = date;
        this.lastDateLength = this.lastDateBytes.write(date, 0, 'utf8');
      }
      this.eventDate.appendBytes(this.lastDateBytes, 0, this.lastDateLength);
    }
    if (timeRaw === null) this.timeRaw.appendNull();
    else this.timeRaw.appendNumber(timeRaw);
    if (flag === null) this.timeFlag.appendNull();
    else this.timeFlag.appendString(flag);
    if (processing === null) this.processing.appendNull();
    else this.processing.appendNumber(processing);
    const row = ++this.rows;
    if (row >= this.customOffsets.length) {
      const next = new Int32Array(this.customOffsets.length * 2);
      next.set(this.customOffsets);
      this.customOffsets = next;
    }
    this.customOffsets[row] = this.customKeys.length;
  }

  // ---- today's path (EventRowSink): JS values from the record mapper ----

  standardValue(i: number, value: unknown): void {
    const row = this.rows;
    switch (this.kinds[i]) {
      case UTF8: {
        const column = this.utf8[i]!;
        column.padTo(row);
        column.appendString(value as string);
        return;
      }
      case FLOAT64: {
        const column = this.float64[i]!;
        column.padTo(row);
        column.append(value as number);
        return;
      }
      case BOOL: {
        const column = this.bool[i]!;
        column.padTo(row);
        column.append(value as boolean);
        return;
      }
      default: {
        // int64 (a safe integer or a bigint) and timestamp (epoch ms)
        const column = this.int64[i]!;
        column.padTo(row);
        if (typeof value === 'bigint') column.appendBigInt(value);
        else column.appendNumber(Math.trunc(value as number));
      }
    }
  }

  endRow(core: Readonly<EventCoreValues>, customKeys: readonly string[], customValues: readonly string[], count: number): void {
    for (let k = 0; k < count; k++) {
      this.customKeys.appendString(customKeys[k]!);
      this.customValues.appendString(customValues[k]!);
    }
    this.dedupe.appendString(core.dedupe);
    if (core.event === null) this.event.appendNull();
    else this.event.appendString(core.event);
    if (core.insertId === null) this.insertId.appendNull();
    else this.insertId.appendString(core.insertId);
    this.insertIdMissing.append(core.insertId === null);
    if (core.distinctId === null) this.distinctId.appendNull();
    else this.distinctId.appendString(core.distinctId);
    if (core.time === null) {
      this.time.appendNull();
      this.eventDate.appendNull();
    } else {
      this.time.appendNumber(core.time);
      this.eventDate.appendString(core.eventDate!);
    }
    if (core.timeRaw === null) this.timeRaw.appendNull();
    else this.timeRaw.appendNumber(core.timeRaw);
    if (core.flag === null) this.timeFlag.appendNull();
    else this.timeFlag.appendString(core.flag);
    if (core.processing === null) this.processing.appendNull();
    else this.processing.appendNumber(core.processing);
    const row = ++this.rows;
    if (row >= this.customOffsets.length) {
      const next = new Int32Array(this.customOffsets.length * 2);
      next.set(this.customOffsets);
      this.customOffsets = next;
    }
    this.customOffsets[row] = this.customKeys.length;
  }

  /** The rows so far as one RecordBatch; the builder starts over. */
  flush(): RecordBatch {
    const n = this.rows;
    const schema = this.columns.schema;
    const standard: Data[] = [];
    for (let i = 0; i < this.kinds.length; i++) {
      switch (this.kinds[i]) {
        case UTF8:
          this.utf8[i]!.padTo(n);
          standard.push(this.utf8[i]!.finish());
          break;
        case FLOAT64:
          this.float64[i]!.padTo(n);
          standard.push(this.float64[i]!.finish());
          break;
        case BOOL:
          this.bool[i]!.padTo(n);
          standard.push(this.bool[i]!.finish());
          break;
        case INT64:
          this.int64[i]!.padTo(n);
          standard.push(this.int64[i]!.finish());
          break;
        default:
          this.int64[i]!.padTo(n);
          standard.push(this.int64[i]!.finishTimestamp(schema.fields[STANDARD_OFFSET + i]!.type as Timestamp));
      }
    }
    const map = utf8MapOfColumns(this.customKeys.finish(), this.customValues.finish(), this.customOffsets.slice(0, n + 1));
    const batch = batchFromColumns(schema, [
      this.dedupe.finish(),
      this.event.finish(),
      this.insertId.finish(),
      this.insertIdMissing.finish(),
      this.distinctId.finish(),
      this.time.finishTimestamp(schema.fields[COL.time]!.type as Timestamp),
      this.timeRaw.finish(),
      this.timeFlag.finish(),
      this.eventDate.finish(),
      this.processing.finish(),
      ...standard,
      map,
    ]);
    this.rows = 0;
    this.customOffsets[0] = 0;
    return batch;
  }
}
