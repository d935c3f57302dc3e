/**
 * Pure profile → Arrow mapping. Standard properties become typed columns (a timestamp also keeps its exact text
 * in `<column>_raw`); every other property, and any standard one whose value does not fit its type, goes into
 * `custom_properties` as JSON text. Rows are collected column-wise and emitted with `batchFromColumns`.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { batchFromColumns } from '../../../connector-spec/index.js';
import { stringifyJson } from '../json.js';
import { NO_FIT, convertValue } from '../properties.js';
import { parseProfileDatetime } from './datetime.js';
import type { ProfileColumn } from './schema.js';

/** Rows per batch of narrow tables built from profile data (cohort members). */
export const BATCH_ROWS = 16_384;
/**
 * Rows per batch of the wide profile tables (engage, groups). The buffer holds JS values until the batch is built
 * (a few KB per profile), so 4k rows keep the scan's heap at about a quarter of what 16k rows took (measured at
 * 1M profiles: peak RSS −100 MiB) at the same speed; the Parquet row groups are cut by the writer, not by this.
 */
export const PROFILE_BATCH_ROWS = 4_096;

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

export function mapProfileProperties(properties: Readonly<Record<string, unknown>>, columns: readonly ProfileColumn[]): MappedProfile {
  const { slots, width } = layoutOf(columns);
  const typed: unknown[] = new Array<unknown>(width).fill(null);
  const custom: (readonly [string, string | null])[] = [];
  let mismatches = 0;
  let lastSeenMs: number | null = null;
  // One pass in source order: a standard property that fits (a timestamp: any non-null value, its text kept in
  // `_raw`) fills its column; everything else, a misfit and a present null included, goes to custom_properties.
  for (const key in properties) {
    const value = properties[key];
    const slot = slots.get(key);
    if (slot !== undefined && value !== undefined && value !== null) {
      if (slot.kind === 'timestamp') {
        const ms = parseProfileDatetime(value);
        if (ms === null) mismatches++;
        typed[slot.pos] = ms;
        typed[slot.pos + 1] = rawText(value);
        if (slot.lastSeen) lastSeenMs = ms;
        continue;
      }
      const converted = convertValue(slot.kind, value);
      if (converted !== NO_FIT) {
        typed[slot.pos] = converted;
        continue;
      }
      mismatches++;
    }
    custom.push([key, stringifyJson(value)]);
  }
  return { typed, custom, lastSeenMs, mismatches };
}

/**
 * Column-wise row buffer for one schema laid out as: key columns, typed columns, `custom_properties`,
 * `_deleted_at`.
 */
export class ProfileRowBuffer {
  private columns: unknown[][];
  private readonly width: number;

  constructor(private readonly schema: Schema) {
    this.width = schema.fields.length;
    this.columns = this.fresh();
  }

  private fresh(): unknown[][] {
    return Array.from({ length: this.width }, () => []);
  }

  get length(): number {
    return this.columns[0]!.length;
  }

  add(keys: readonly string[], mapped: MappedProfile): void {
    const { typed } = mapped;
    if (keys.length + typed.length + 2 !== this.width) throw new TypeError(`row has ${keys.length + typed.length + 2} values for ${this.width} columns`);
    const columns = this.columns;
    let c = 0;
    for (let i = 0; i < keys.length; i++) columns[c++]!.push(keys[i]);
    for (let i = 0; i < typed.length; i++) columns[c++]!.push(typed[i]);
    columns[c++]!.push(mapped.custom);
    columns[c]!.push(null);
  }

  /** A deletion marker: the key, `_deleted_at`, and `last_seen` = `_deleted_at` so the marker wins the merge. */
  addTombstone(keys: readonly string[], deletedAtMs: number, lastSeenIndex: number): void {
    const row: unknown[] = new Array<unknown>(this.width).fill(null);
    keys.forEach((k, i) => (row[i] = k));
    row[lastSeenIndex] = deletedAtMs;
    row[this.width - 1] = deletedAtMs;
    this.push(row);
  }

  private push(row: readonly unknown[]): void {
    if (row.length !== this.width) throw new TypeError(`row has ${row.length} values for ${this.width} columns`);
    for (let i = 0; i < this.width; i++) this.columns[i]!.push(row[i]);
  }

  /** Emit every buffered row in batches of at most PROFILE_BATCH_ROWS and clear the buffer. */
  *drain(): Generator<RecordBatch, void, undefined> {
    const columns = this.columns;
    this.columns = this.fresh();
    const n = columns[0]!.length;
    for (let start = 0; start < n; start += PROFILE_BATCH_ROWS) {
      yield batchFromColumns(this.schema, start === 0 && n <= PROFILE_BATCH_ROWS ? columns : columns.map((c) => c.slice(start, start + PROFILE_BATCH_ROWS)));
    }
  }

  /** Emit the buffered rows as one batch and clear the buffer (undefined when empty). */
  take(): RecordBatch | undefined {
    if (this.length === 0) return undefined;
    const batch = batchFromColumns(this.schema, this.columns);
    this.columns = this.fresh();
    return batch;
  }
}
