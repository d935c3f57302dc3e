/**
 * Export lines → column arrays → Arrow RecordBatch. One pass per line, no per-row closures, no per-value
 * builders: values go straight into plain arrays that `batchFromColumns` turns into buffers.
 */
import type { RecordBatch } from 'apache-arrow';
import { TransientError, batchFromColumns, utf8MapFromFlat } from '../../../connector-spec/index.js';
import { isExactJsonText, rawMembersAt, stringifyJson, type RawMembers } from '../json.js';
import { NO_FIT, convertValue, type CustomSink, type PropertyKind, type PropertyTable } from '../properties.js';
import { UtcDateCache } from './dates.js';
import { contentKey, dedupeKey } from './dedupe.js';
import type { LegacyClock, TimeFlag } from './legacy-time.js';
import { escapeControlCharsInStrings, isTerminatedEarly, parseExportLine, terminatedEarly, type LineSink } from './lines.js';
import { ALL_EVENT_COLUMNS, type EventColumns } from './schema.js';
import { ZoneShiftTally } from './zone-shift.js';

/** Rows per batch (a chunk's worth of lines may be added on top). */
export const BATCH_ROWS = 16_384;

/** Properties read into core columns from their real places only: their slots in `PropertySlots.slot`. */
export const TIME = -1;
export const DISTINCT_ID = -2;
export const INSERT_ID = -3;
export const PROCESSING = -4;
const CORE_PROPERTIES: readonly (readonly [string, number])[] = [
  ['time', TIME],
  ['distinct_id', DISTINCT_ID],
  ['$insert_id', INSERT_ID],
  ['mp_processing_time_ms', PROCESSING],
];

/** One lookup per property name: a standard column index (≥ 0) or a core slot (< 0); absent = custom. */
export interface PropertySlots {
  readonly slot: ReadonlyMap<string, number>;
  readonly kinds: readonly PropertyKind[];
}

const slotsCache = new WeakMap<PropertyTable, PropertySlots>();

export function slotsOf(table: PropertyTable): PropertySlots {
  let slots = slotsCache.get(table);
  if (slots === undefined) {
    const slot = new Map<string, number>(table.index);
    for (const [name, code] of CORE_PROPERTIES) slot.set(name, code);
    slots = { slot, kinds: table.properties.map((p) => p.kind) };
    slotsCache.set(table, slots);
  }
  return slots;
}

export interface EventCounters {
  valuesKeptRaw: number;
  dstGap: number;
  dstAmbiguous: number;
  insertIdMissing: number;
  linesRecovered: number;
  timeMissing: number;
}

export function emptyEventCounters(): EventCounters {
  return { valuesKeptRaw: 0, dstGap: 0, dstAmbiguous: 0, insertIdMissing: 0, linesRecovered: 0, timeMissing: 0 };
}

/**
 * How the values of custom_properties are written:
 * - `null`: `JSON.stringify` of each value gives its text in the line (`isExactJsonText`: the fast path);
 * - the line's `properties` members (`rawMembersAt`): each value's text as the line wrote it, whitespace outside
 *   strings removed, for lines JSON.stringify would rewrite (a number form such as `-0.0`/`1E5`/`1.50`, a 19-digit
 *   integer, a `\u` escape, an integer-like key);
 * - `undefined`: no line (a record built in memory): `stringifyJson`.
 */
export type CustomTexts = RawMembers | null | undefined;

/**
 * The text of property `key` (enumerated `index`-th by JSON.parse; -1: unknown) from the line's members. `plain`:
 * the parsed value holds no bigint, so JSON.stringify can write it; its text is used when it is exactly the line's
 * (a fresh string: a slice would keep the whole line alive until the batch is flushed).
 */
function rawText(texts: RawMembers, key: string, value: unknown, index: number, plain: boolean): string {
  const member = texts.memberFor(index, key);
  if (member < 0) return typeof value === 'string' ? JSON.stringify(value) : stringifyJson(value);
  if (plain) {
    const text = JSON.stringify(value);
    if (text !== undefined && texts.isTextAt(member, text)) return text;
  }
  return texts.textAt(member);
}

function customText(texts: CustomTexts, key: string, value: unknown, index: number, plain: boolean): string {
  if (texts === null) return JSON.stringify(value) ?? 'null';
  if (texts === undefined) return typeof value === 'string' ? JSON.stringify(value) : stringifyJson(value);
  return rawText(texts, key, value, index, plain);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A mapped row's core values (one object, reused for every row of a mapper). */
export interface EventCoreValues {
  dedupe: string;
  event: string | null;
  insertId: string | null;
  distinctId: string | null;
  time: number | null;
  timeRaw: number | null;
  flag: string | null;
  eventDate: string | null;
  processing: number | null;
}

/** Where the mapper puts one event: the columns of the batch being built. */
export interface EventRowSink {
  /** The typed value of standard property `i` (table order) of the row being mapped. */
  standardValue(i: number, value: unknown): void;
  /** The row is complete: its core values and its `count` custom_properties entries, in map order. */
  endRow(core: Readonly<EventCoreValues>, customKeys: readonly string[], customValues: readonly string[], count: number): void;
}

/**
 * Today's mapping of one export line (JSON.parse per line, see `line`) or one parsed record (`add`) into a row: the
 * rules for standard, core and custom properties, the counters and the dedupe key. Batch builders own the columns
 * (`EventRowSink`); the byte scanner's builder (scan-builder.ts) sends here every line it does not take itself.
 */
export class EventRecordMapper {
  readonly counters: EventCounters = emptyEventCounters();
  /** Offsets between `time` and processing over the whole slice (UTC projects only). */
  readonly zoneShift = new ZoneShiftTally();
  readonly dates = new UtcDateCache();
  readonly slots: PropertySlots;
  /** The row's custom entries (reused; valid up to `count` in `endRow`). */
  private readonly customKeys: string[] = [];
  private readonly customValues: string[] = [];
  private readonly core: EventCoreValues = { dedupe: '', event: null, insertId: null, distinctId: null, time: null, timeRaw: null, flag: null, eventDate: null, processing: null };

  /**
   * @param legacy converter for legacy projects (`time` is project-local wall clock), null for UTC projects
   * @param what the slice, for error messages
   * @param table the standard properties typed as columns (the rest go to custom_properties)
   */
  constructor(
    readonly legacy: LegacyClock | null,
    readonly what: string,
    table: PropertyTable,
  ) {
    this.slots = slotsOf(table);
  }

  /** The DST flag of the last `utcTime` (null, `dst_gap`, `dst_ambiguous`). */
  timeFlag: TimeFlag = null;

  /**
   * An event's UTC time from its `time` (ms): a legacy project's wall clock is converted (a DST gap or overlap is
   * flagged in `timeFlag` and counted); a UTC project's offset to the processing time is tallied for the legacy-time
   * check. Shared by both row builders (this mapper's and the byte scanner's).
   */
  utcTime(timeRaw: number | null, processing: number | null): number | null {
    this.timeFlag = null;
    if (timeRaw === null) return null;
    if (this.legacy === null) {
      if (processing !== null) this.zoneShift.add(processing - timeRaw);
      return timeRaw;
    }
    const time = this.legacy.toUtc(timeRaw, processing);
    this.timeFlag = this.legacy.flag;
    if (this.timeFlag === 'dst_gap') this.counters.dstGap++;
    else if (this.timeFlag === 'dst_ambiguous') this.counters.dstAmbiguous++;
    return time;
  }

  /** Map one export line (without its `\n`; `byteOffset`: where it starts in the body) into `sink`; skips empty lines. */
  line(text: string, byteOffset: number, sink: EventRowSink): void {
    if (text.length === 0 || text === '\r') return;
    const parsed = parseExportLine(text);
    if (!parsed.ok) {
      if (isTerminatedEarly(text)) throw terminatedEarly(this.what, byteOffset);
      throw new TransientError(`Export line at byte ${byteOffset} of ${this.what} is not JSON (${parsed.error}): the slice is retried`, {
        code: 'MP_EXPORT_BAD_LINE',
        context: { table: 'events', window: this.what, byteOffset },
      });
    }
    if (parsed.recovered) this.counters.linesRecovered++;
    const record = parsed.value;
    if (!isRecord(record) || !isRecord(record['properties'])) {
      throw new TransientError(`Export line at byte ${byteOffset} of ${this.what} is not an event ({"event", "properties"}): the slice is retried`, {
        code: 'MP_EXPORT_BAD_LINE',
        context: { table: 'events', window: this.what, byteOffset },
      });
    }
    // Lossless custom properties: when JSON.stringify gives back every value's text (isExactJsonText: the fast path),
    // it writes them; otherwise each property's raw text is cut out of the line.
    const source = parsed.recovered ? escapeControlCharsInStrings(text) : text;
    const texts = parsed.plain && isExactJsonText(source) ? null : (rawMembersAt(source, 'properties') ?? undefined);
    this.add(record, record['properties'], sink, texts, parsed.plain);
  }

  /** Map one export event into `sink` (`texts`: how custom_properties values are written, see CustomTexts). */
  add(record: Readonly<Record<string, unknown>>, props: Readonly<Record<string, unknown>>, sink: EventRowSink, texts: CustomTexts = undefined, plain = false): void {
    const customKeys = this.customKeys;
    const customValues = this.customValues;
    let count = 0;
    const counters = this.counters;
    const { slot, kinds } = this.slots;
    // One pass over the properties (source order): a standard property whose value fits goes to its column, a
    // core property is picked up, everything else (and every misfit, and a present null) goes to custom_properties.
    let timeValue: unknown;
    let procValue: unknown;
    let distinctValue: unknown;
    let insertValue: unknown;
    let misfits = 0;
    let index = -1;
    for (const key in props) {
      index++;
      const value = props[key];
      const i = slot.get(key);
      if (i !== undefined) {
        if (i >= 0) {
          if (value !== null && value !== undefined) {
            const converted = convertValue(kinds[i]!, value);
            if (converted !== NO_FIT) {
              sink.standardValue(i, converted);
              continue;
            }
            misfits++;
          }
        } else {
          if (i === TIME) timeValue = value;
          else if (i === DISTINCT_ID) distinctValue = value;
          else if (i === INSERT_ID) insertValue = value;
          else procValue = value;
          continue;
        }
      }
      customKeys[count] = key;
      customValues[count++] = texts === null ? (JSON.stringify(value) ?? 'null') : customText(texts, key, value, index, plain);
    }
    if (texts && texts.length !== index + 1) {
      // A name repeats in the line: positions drifted; take each text by name (the last occurrence, as JSON.parse).
      for (let k = 0; k < count; k++) {
        const member = texts.indexOf(customKeys[k]!);
        if (member >= 0) customValues[k] = texts.textAt(member);
      }
    }
    counters.valuesKeptRaw += misfits;
    const pushCustom = (key: string, value: unknown): void => {
      customKeys[count] = key;
      customValues[count++] = customText(texts, key, value, -1, plain);
    };

    const eventRaw = record['event'];
    const event = typeof eventRaw === 'string' ? eventRaw : null;

    let timeRaw: number | null = null;
    if (typeof timeValue === 'number' && Number.isSafeInteger(timeValue)) timeRaw = timeValue;
    else {
      counters.timeMissing++;
      if (timeValue !== undefined) pushCustom('time', timeValue);
    }

    let processing: number | null = null;
    if (typeof procValue === 'number' && Number.isSafeInteger(procValue)) processing = procValue;
    else if (procValue !== undefined && procValue !== null) {
      counters.valuesKeptRaw++;
      pushCustom('mp_processing_time_ms', procValue);
    }

    let distinctId: string | null = null;
    if (typeof distinctValue === 'string') distinctId = distinctValue;
    else if (distinctValue !== undefined && distinctValue !== null) {
      counters.valuesKeptRaw++;
      pushCustom('distinct_id', distinctValue);
    }

    let insertId: string | null = null;
    if (typeof insertValue === 'string') insertId = insertValue;
    else if (insertValue !== undefined && insertValue !== null) {
      counters.valuesKeptRaw++;
      pushCustom('$insert_id', insertValue);
    }

    const time = this.utcTime(timeRaw, processing);
    const flag = this.timeFlag;

    let key: string;
    if (insertId !== null) {
      const distinctJson = distinctValue === undefined ? null : stringifyJson(distinctValue);
      key = dedupeKey(event, distinctJson, timeRaw === null ? null : Math.floor(timeRaw / 1000), insertId);
    } else {
      counters.insertIdMissing++;
      key = contentKey(record);
    }

    const core = this.core;
    core.dedupe = key;
    core.event = event;
    core.insertId = insertId;
    core.distinctId = distinctId;
    core.time = time;
    core.timeRaw = timeRaw;
    core.flag = flag;
    core.eventDate = time === null ? null : this.dates.dateOf(time);
    core.processing = processing;
    sink.endRow(core, customKeys, customValues, count);
  }
}

/** Today's path: each line through JSON.parse (`EventRecordMapper`), columns as JS arrays. */
export class EventBatchBuilder implements LineSink, EventRowSink {
  rows = 0;
  readonly counters: EventCounters;
  /** Offsets between `time` and processing over the whole slice (UTC projects only). */
  readonly zoneShift: ZoneShiftTally;
  private readonly mapper: EventRecordMapper;
  private dedupe: string[] = [];
  private event: (string | null)[] = [];
  private insertId: (string | null)[] = [];
  private insertIdMissing: boolean[] = [];
  private distinctId: (string | null)[] = [];
  private time: (number | null)[] = [];
  private timeRaw: (number | null)[] = [];
  private timeFlag: (string | null)[] = [];
  private eventDate: (string | null)[] = [];
  private processing: (number | null)[] = [];
  private standard: unknown[][] = [];
  private custom: CustomSink = { keys: [], values: [] };
  private customOffsets: number[] = [0];
  /** Rows the standard-property arrays are pre-sized for (the next batch's expected size, ≤ BATCH_ROWS). */
  private readonly capacity: number;

  /**
   * @param legacy converter for legacy projects (`time` is project-local wall clock), null for UTC projects
   * @param what the slice, for error messages
   * @param columns the standard properties typed as columns (resolved once per read; the rest go to custom_properties)
   * @param expectedRows rows expected per batch (pre-sizes the column arrays; a batch may hold more)
   */
  constructor(
    legacy: LegacyClock | null,
    what: string,
    private readonly columns: EventColumns = ALL_EVENT_COLUMNS,
    expectedRows: number = BATCH_ROWS,
  ) {
    this.mapper = new EventRecordMapper(legacy, what, columns.table);
    this.counters = this.mapper.counters;
    this.zoneShift = this.mapper.zoneShift;
    this.capacity = Math.max(1, Math.min(BATCH_ROWS, expectedRows));
    this.reset();
  }

  /** The column arrays were handed to a batch: fresh ones are made on the next row, not before (none may come). */
  private spent = false;

  private renew(): void {
    this.spent = false;
    this.reset();
  }

  private reset(): void {
    this.rows = 0;
    this.dedupe = [];
    this.event = [];
    this.insertId = [];
    this.insertIdMissing = [];
    this.distinctId = [];
    this.time = [];
    this.timeRaw = [];
    this.timeFlag = [];
    this.eventDate = [];
    this.processing = [];
    this.custom = { keys: [], values: [] };
    this.customOffsets = [0];
    this.standard = [];
    // Holey arrays: a missing value reads as undefined, which the Arrow helpers treat as null.
    const count = this.columns.table.properties.length;
    for (let i = 0; i < count; i++) this.standard.push(new Array<unknown>(this.capacity));
  }

  line(text: string, byteOffset: number): void {
    this.mapper.line(text, byteOffset, this);
  }

  /** Map one export event into the next row (`texts`: how custom_properties values are written, see CustomTexts). */
  add(record: Readonly<Record<string, unknown>>, props: Readonly<Record<string, unknown>>, texts: CustomTexts = undefined, plain = false): void {
    this.mapper.add(record, props, this, texts, plain);
  }

  standardValue(i: number, value: unknown): void {
    if (this.spent) this.renew();
    this.standard[i]![this.rows] = value;
  }

  endRow(core: Readonly<EventCoreValues>, customKeys: readonly string[], customValues: readonly string[], count: number): void {
    if (this.spent) this.renew();
    const custom = this.custom;
    for (let k = 0; k < count; k++) {
      custom.keys.push(customKeys[k]!);
      custom.values.push(customValues[k]!);
    }
    this.dedupe.push(core.dedupe);
    this.event.push(core.event);
    this.insertId.push(core.insertId);
    this.insertIdMissing.push(core.insertId === null);
    this.distinctId.push(core.distinctId);
    this.time.push(core.time);
    this.timeRaw.push(core.timeRaw);
    this.timeFlag.push(core.flag);
    this.eventDate.push(core.eventDate);
    this.processing.push(core.processing);
    this.customOffsets.push(custom.keys.length);
    this.rows++;
  }

  /** The rows so far as one RecordBatch; the builder starts over. */
  flush(): RecordBatch {
    if (this.spent) this.renew();
    const n = this.rows;
    for (const column of this.standard) column.length = n;
    const map = utf8MapFromFlat(this.custom.keys, this.custom.values, Int32Array.from(this.customOffsets));
    const batch = batchFromColumns(this.columns.schema, [
      this.dedupe,
      this.event,
      this.insertId,
      this.insertIdMissing,
      this.distinctId,
      this.time,
      this.timeRaw,
      this.timeFlag,
      this.eventDate,
      this.processing,
      ...this.standard,
      map,
    ]);
    this.rows = 0;
    this.spent = true;
    return batch;
  }
}
