/**
 * Data skipping by one column's Delta stats. `ColumnRange` tracks the range and null count of an integer or
 * timestamp column over batches (with the same code that writes a file's stats, so both sides are rounded the same
 * way: a timestamp's min down and max up to the millisecond), and `near(file, granularity)` says whether a data
 * file's recorded range shares a unit of `granularity` (a value's `floor(value / granularity)`) with it. A file whose
 * stats are missing, or lack the column's bounds or null count, is always near: only what the stats prove is skipped.
 */
import type { Data, Field } from 'apache-arrow';
import { rangeableType } from '../../connector-spec/index.js';
import type { AddFile } from '../types.js';
import { ColumnStats } from './stats.js';

/** A stats bound as a number (timestamps in ms since the epoch); undefined when absent or not exact as a number. */
function boundOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

function objectOf(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export class ColumnRange {
  readonly #column: string;
  readonly #stats: ColumnStats;

  /** `field` must be an integer or timestamp column (`rangeableType`). */
  constructor(field: Field) {
    if (!rangeableType(field.type)) throw new TypeError(`ColumnRange: column ${field.name} is ${String(field.type)}, not an integer or a timestamp`);
    this.#column = field.name;
    this.#stats = new ColumnStats(field, false);
  }

  add(data: Data): void {
    this.#stats.add(data);
  }

  /**
   * False only when `file`'s stats prove that no row of it holds a value of this column in the same unit of
   * `granularity` as a value added here (`floor(value / granularity)`), nor a null when a null was added. Values
   * are in the column's units; milliseconds for timestamps.
   */
  near(file: AddFile, granularity: number): boolean {
    if (file.stats === undefined) return true;
    let stats: Readonly<Record<string, unknown>> | undefined;
    try {
      stats = objectOf(JSON.parse(file.stats));
    } catch {
      return true;
    }
    if (stats === undefined) return true;
    const nulls = objectOf(stats['nullCount'])?.[this.#column];
    const rows = stats['numRecords'];
    const fileNulls = typeof nulls === 'number' ? nulls : undefined;
    if (this.#stats.nulls > 0 && (fileNulls === undefined || fileNulls > 0)) return true;
    const [min, max] = this.#stats.bounds().map((text) => (text === undefined ? undefined : boundOf(JSON.parse(text))));
    if (!this.#stats.found) return false; // only nulls were added, and the file holds none
    if (fileNulls !== undefined && typeof rows === 'number' && fileNulls >= rows) return false; // the file holds only nulls
    const fileMin = boundOf(objectOf(stats['minValues'])?.[this.#column]) ?? -Infinity;
    const fileMax = boundOf(objectOf(stats['maxValues'])?.[this.#column]) ?? Infinity;
    const unit = (value: number): number => Math.floor(value / granularity);
    return unit(fileMax) >= unit(min ?? -Infinity) && unit(fileMin) <= unit(max ?? Infinity);
  }
}
