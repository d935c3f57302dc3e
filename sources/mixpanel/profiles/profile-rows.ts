/**
 * Pure profile → Arrow mapping. Standard properties become typed columns (a timestamp also keeps its exact text
 * in `<column>_raw`); every other property, and any standard one whose value does not fit its type, goes into
 * `custom_properties` as JSON text. Rows are collected column-wise and emitted with `batchFromColumns`.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { batchFromColumns } from '../../../connector-spec/index.js';
import { stringifyJson } from '../json.js';
import { CONVERTERS } from '../properties.js';
import { parseProfileDatetime } from './datetime.js';
import type { ProfileColumn } from './schema.js';

export const BATCH_ROWS = 16_384;

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

export function mapProfileProperties(properties: Readonly<Record<string, unknown>>, columns: readonly ProfileColumn[]): MappedProfile {
  const typed: unknown[] = [];
  const handled = new Set<string>();
  let mismatches = 0;
  let lastSeenMs: number | null = null;
  for (const c of columns) {
    const value = Object.prototype.hasOwnProperty.call(properties, c.property) ? properties[c.property] : undefined;
    if (c.kind === 'timestamp') {
      // Typed value plus the exact text; a value that does not parse keeps its text in `_raw` (and is counted).
      if (value === undefined || value === null) {
        typed.push(null, null);
        continue;
      }
      const ms = parseProfileDatetime(value);
      if (ms === null) mismatches++;
      typed.push(ms, rawText(value));
      handled.add(c.property);
      if (c.property === '$last_seen') lastSeenMs = ms;
      continue;
    }
    if (value === undefined || value === null) {
      typed.push(null); // a present null stays in custom_properties as `null`
      continue;
    }
    const converted = CONVERTERS[c.kind](value);
    if (converted.ok) {
      typed.push(converted.value);
      handled.add(c.property);
    } else {
      typed.push(null);
      mismatches++;
    }
  }
  const custom: (readonly [string, string | null])[] = [];
  for (const key of Object.keys(properties)) {
    if (!handled.has(key)) custom.push([key, stringifyJson(properties[key])]);
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
    this.push([...keys, ...mapped.typed, mapped.custom, null]);
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

  /** Emit every buffered row in batches of at most BATCH_ROWS and clear the buffer. */
  *drain(): Generator<RecordBatch, void, undefined> {
    const columns = this.columns;
    this.columns = this.fresh();
    const n = columns[0]!.length;
    for (let start = 0; start < n; start += BATCH_ROWS) {
      yield batchFromColumns(this.schema, start === 0 && n <= BATCH_ROWS ? columns : columns.map((c) => c.slice(start, start + BATCH_ROWS)));
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
