/**
 * Profile → Arrow mapping. Standard properties become typed columns (a timestamp also keeps its exact text in
 * `<column>_raw`); every other property, and any standard one whose value does not fit its type, goes into
 * `custom_properties` as JSON text. Rows are mapped straight into column arrays and emitted with
 * `batchFromColumns`.
 */
import type { Data, Map_, RecordBatch, Schema, Utf8 } from 'apache-arrow';
import { batchFromColumns, utf8MapData, utf8MapFromFlat } from '../../../connector-spec/index.js';
import { stringifyJson } from '../json.js';
import { NO_FIT, convertValue } from '../properties.js';
import { parseProfileDatetime } from './datetime.js';
import type { ProfileColumn } from './schema.js';

/** Rows per batch of narrow tables built from profile data (cohort members). */
export const BATCH_ROWS = 16_384;
/**
 * Rows per batch of the wide profile tables (engage, groups): about one Engage page. The buffer holds JS values
 * until the batch is built (a few KB per profile) and those get promoted to the old generation the longer they
 * live. Measured on a first scan of 1M profiles (source + runner process, compiled): 16k rows peaked about
 * 130 MiB above 4k rows; 4k rows 342 MiB and 30 CPU-s; 1k rows 316–325 MiB and 25 CPU-s; 512 rows 308 MiB and
 * 29 CPU-s. The Parquet row groups are cut by the writer, not by this.
 */
export const PROFILE_BATCH_ROWS = 1_024;

/** Text of a datetime value for the `_raw` column: strings exactly, anything else as JSON text. */
function rawText(value: unknown): string {
  return typeof value === 'string' ? value : stringifyJson(value);
}

export interface MappedProfile {
  /** Typed values in `typedFields` order (timestamps followed by their raw text). */
  readonly typed: readonly unknown[];
  readonly custom: readonly (readonly [string, string | null])[];
  /** `$last_seen` in epoch ms, null when missing or unparseable. */
  readonly lastSeenMs: number | null;
  /** Standard properties kept raw because their value did not fit the column type. */
  readonly mismatches: number;
}

/** Where each standard property goes: its position in `typed` and its kind. Computed once per column list. */
interface ColumnSlot {
  readonly pos: number;
  readonly kind: ProfileColumn['kind'];
  readonly lastSeen: boolean;
}

interface ColumnLayout {
  readonly slots: ReadonlyMap<string, ColumnSlot>;
  readonly width: number;
}

const layouts = new WeakMap<readonly ProfileColumn[], ColumnLayout>();

function layoutOf(columns: readonly ProfileColumn[]): ColumnLayout {
  let layout = layouts.get(columns);
  if (layout === undefined) {
    const slots = new Map<string, ColumnSlot>();
    let pos = 0;
    for (const c of columns) {
      slots.set(c.property, { pos, kind: c.kind, lastSeen: c.property === '$last_seen' });
      pos += c.kind === 'timestamp' ? 2 : 1;
    }
    layout = { slots, width: pos };
    layouts.set(columns, layout);
  }
  return layout;
}

/** What mapping one profile found (a buffer reuses one of these: no allocation per row). */
export interface MapResult {
  /** `$last_seen` in epoch ms, null when missing or unparseable. */
  lastSeenMs: number | null;
  /** Standard properties kept raw because their value did not fit the column type. */
  mismatches: number;
}

/**
 * The custom_properties entries of a batch, flat: `count` of `keys`/`values` are in use. The arrays keep their
 * size from batch to batch (only `count` is reset), so filling them allocates nothing once they have grown.
 */
interface FlatEntries {
  readonly keys: string[];
  readonly values: (string | null)[];
  count: number;
}

function appendEntry(e: FlatEntries, key: string, value: string | null): void {
  e.keys[e.count] = key;
  e.values[e.count] = value;
  e.count++;
}

/**
 * Map one profile into row `r` of `columns` (typed values from column `first` on, every typed slot written) and
 * append its custom entries to `entries`. One pass in source order: a standard property that fits (a
 * timestamp: any non-null value, its text kept in `_raw`) fills its column; everything else, a misfit and a
 * present null included, goes to custom_properties.
 */
function mapInto(
  properties: Readonly<Record<string, unknown>>,
  layout: ColumnLayout,
  columns: unknown[][],
  first: number,
  r: number,
  entries: FlatEntries,
  result: MapResult,
): void {
  const { slots, width } = layout;
  for (let i = 0; i < width; i++) columns[first + i]![r] = null;
  let mismatches = 0;
  let lastSeenMs: number | null = null;
  for (const key in properties) {
    const value = properties[key];
    const slot = slots.get(key);
    if (slot !== undefined && value !== undefined && value !== null) {
      if (slot.kind === 'timestamp') {
        const ms = parseProfileDatetime(value);
        if (ms === null) mismatches++;
        columns[first + slot.pos]![r] = ms;
        columns[first + slot.pos + 1]![r] = rawText(value);
        if (slot.lastSeen) lastSeenMs = ms;
        continue;
      }
      const converted = convertValue(slot.kind, value);
      if (converted !== NO_FIT) {
        columns[first + slot.pos]![r] = converted;
        continue;
      }
      mismatches++;
    }
    appendEntry(entries, key, stringifyJson(value));
  }
  result.lastSeenMs = lastSeenMs;
  result.mismatches = mismatches;
}

/** The mapping of one profile as plain values (tests, and callers that need it outside a buffer). */
export function mapProfileProperties(properties: Readonly<Record<string, unknown>>, columns: readonly ProfileColumn[]): MappedProfile {
  const layout = layoutOf(columns);
  const cells = Array.from({ length: layout.width }, () => [null] as unknown[]);
  const entries: FlatEntries = { keys: [], values: [], count: 0 };
  const result: MapResult = { lastSeenMs: null, mismatches: 0 };
  mapInto(properties, layout, cells, 0, 0, entries, result);
  return { typed: cells.map((c) => c[0]), custom: entries.keys.map((k, i) => [k, entries.values[i]!] as const), lastSeenMs: result.lastSeenMs, mismatches: result.mismatches };
}

/**
 * Column-wise row buffer for one schema laid out as: key columns, typed columns, `custom_properties`,
 * `_deleted_at`. Profiles are mapped straight into it (`addProfile`): no per-row arrays or entry tuples; the map
 * column is kept as flat key/value arrays plus row ends and built with `utf8MapFromFlat`. The column arrays are
 * allocated at one batch and reused after each full `take()` (Arrow copies the values when the batch is built).
 */
export class ProfileRowBuffer {
  /** One array per column (the map column's stays unused); `rows` of them are filled. */
  private columns: unknown[][];
  private rows = 0;
  private readonly width: number;
  private readonly mapIndex: number;
  private readonly mapType: Map_<Utf8, Utf8>;
  private readonly entries: FlatEntries = { keys: [], values: [], count: 0 };
  /** Per row: the end of its entries in `entries`. */
  private mapEnds: number[] = [];
  /** Rows whose map is null (deletion markers), ascending. */
  private nullMaps: number[] = [];
  /** The result of the last `addProfile` (reused). */
  private readonly result: MapResult = { lastSeenMs: null, mismatches: 0 };

  constructor(private readonly schema: Schema) {
    this.width = schema.fields.length;
    this.mapIndex = this.width - 2;
    this.mapType = schema.fields[this.mapIndex]!.type as Map_<Utf8, Utf8>;
    this.columns = this.fresh();
  }

  private fresh(): unknown[][] {
    return Array.from({ length: this.width }, () => new Array<unknown>(PROFILE_BATCH_ROWS));
  }

  get length(): number {
    return this.rows;
  }

  /**
   * Map a profile into a new row. The returned object is this buffer's, overwritten by the next call: read it
   * before adding another row.
   */
  addProfile(keyPrefix: readonly string[], id: string, properties: Readonly<Record<string, unknown>>, columns: readonly ProfileColumn[]): Readonly<MapResult> {
    const layout = layoutOf(columns);
    if (keyPrefix.length + 1 + layout.width + 2 !== this.width) throw new TypeError(`row has ${keyPrefix.length + 1 + layout.width + 2} values for ${this.width} columns`);
    const cols = this.columns;
    const r = this.rows++;
    let c = 0;
    for (let i = 0; i < keyPrefix.length; i++) cols[c++]![r] = keyPrefix[i];
    cols[c++]![r] = id;
    mapInto(properties, layout, cols, c, r, this.entries, this.result);
    this.mapEnds[r] = this.entries.count;
    cols[this.width - 1]![r] = null;
    return this.result;
  }

  /** A row from values already mapped (`mapProfileProperties`). */
  add(keys: readonly string[], mapped: MappedProfile): void {
    const { typed } = mapped;
    if (keys.length + typed.length + 2 !== this.width) throw new TypeError(`row has ${keys.length + typed.length + 2} values for ${this.width} columns`);
    const cols = this.columns;
    const r = this.rows++;
    let c = 0;
    for (let i = 0; i < keys.length; i++) cols[c++]![r] = keys[i];
    for (let i = 0; i < typed.length; i++) cols[c++]![r] = typed[i];
    for (const [k, v] of mapped.custom) appendEntry(this.entries, k, v);
    this.mapEnds[r] = this.entries.count;
    cols[this.width - 1]![r] = null;
  }

  /** Move the last row to `other` (same schema): a row mapped here that belongs to the other buffer. */
  moveLastRowTo(other: ProfileRowBuffer): void {
    const r = this.rows - 1;
    if (r < 0) throw new RangeError('moveLastRowTo: the buffer is empty');
    if (this.nullMaps[this.nullMaps.length - 1] === r) throw new RangeError('moveLastRowTo: deletion markers stay where they are');
    const o = other.rows++;
    for (let c = 0; c < this.width; c++) if (c !== this.mapIndex) other.columns[c]![o] = this.columns[c]![r];
    const start = r === 0 ? 0 : this.mapEnds[r - 1]!;
    const end = this.mapEnds[r]!;
    for (let i = start; i < end; i++) appendEntry(other.entries, this.entries.keys[i]!, this.entries.values[i]!);
    other.mapEnds[o] = other.entries.count;
    this.entries.count = start;
    this.mapEnds.length = r;
    for (const column of this.columns) column[r] = undefined;
    this.rows = r;
  }

  /** A deletion marker: the key, `_deleted_at`, and `last_seen` = `_deleted_at` so the marker wins the merge. */
  addTombstone(keys: readonly string[], deletedAtMs: number, lastSeenIndex: number): void {
    const r = this.rows++;
    for (let c = 0; c < this.width; c++) this.columns[c]![r] = null;
    keys.forEach((k, i) => (this.columns[i]![r] = k));
    this.columns[lastSeenIndex]![r] = deletedAtMs;
    this.columns[this.width - 1]![r] = deletedAtMs;
    this.mapEnds[r] = this.entries.count;
    this.nullMaps.push(r);
  }

  /** The map column of rows [from, to). */
  private mapData(from: number, to: number): Data<Map_<Utf8, Utf8>> {
    const start = from === 0 ? 0 : this.mapEnds[from - 1]!;
    const n = to - from;
    const nulls = this.nullMaps.filter((r) => r >= from && r < to);
    if (nulls.length === 0) {
      const offsets = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) offsets[i + 1] = this.mapEnds[from + i]! - start;
      const end = start + offsets[n]!;
      return utf8MapFromFlat(this.entries.keys.slice(start, end), this.entries.values.slice(start, end), offsets, this.mapType);
    }
    const isNull = new Set(nulls);
    const rows: ((readonly [string, string | null])[] | null)[] = [];
    for (let r = from; r < to; r++) {
      if (isNull.has(r)) {
        rows.push(null);
        continue;
      }
      const entries: (readonly [string, string | null])[] = [];
      for (let i = r === 0 ? 0 : this.mapEnds[r - 1]!; i < this.mapEnds[r]!; i++) entries.push([this.entries.keys[i]!, this.entries.values[i]!]);
      rows.push(entries);
    }
    return utf8MapData(rows, this.mapType);
  }

  /** The batch of rows [from, to). */
  private batch(from: number, to: number): RecordBatch {
    const columns = this.columns.map((column, c) => (c === this.mapIndex ? this.mapData(from, to) : column.slice(from, to)));
    return batchFromColumns(this.schema, columns);
  }

  private clear(reuseColumns: boolean): void {
    if (!reuseColumns) this.columns = this.fresh();
    this.rows = 0;
    this.entries.count = 0;
    this.mapEnds = [];
    this.nullMaps = [];
  }

  /** Emit every buffered row in batches of at most PROFILE_BATCH_ROWS and clear the buffer. */
  *drain(): Generator<RecordBatch, void, undefined> {
    const n = this.rows;
    const batches: RecordBatch[] = [];
    for (let start = 0; start < n; start += PROFILE_BATCH_ROWS) batches.push(this.batch(start, Math.min(n, start + PROFILE_BATCH_ROWS)));
    this.clear(false);
    yield* batches;
  }

  /** Emit the buffered rows as one batch and clear the buffer (undefined when empty). */
  take(): RecordBatch | undefined {
    if (this.rows === 0) return undefined;
    const n = this.rows;
    const full = n === PROFILE_BATCH_ROWS && this.columns[0]!.length === PROFILE_BATCH_ROWS;
    // A full batch hands Arrow the arrays themselves (no slice) and keeps them for the next rows.
    const columns = this.columns.map((column, c) => (c === this.mapIndex ? this.mapData(0, n) : full ? column : column.slice(0, n)));
    const batch = batchFromColumns(this.schema, columns);
    this.clear(full);
    return batch;
  }
}
