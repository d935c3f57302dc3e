/**
 * A small host for tests: calls `readTable` repeatedly with the returned cursor until it converges, keeps a
 * call's rows only when the call completes (like the runner's commit), re-calls with the same cursor on
 * retryable errors (bounded), and collects rows as plain JS objects. It also checks the contract: a call that
 * yields batches must move the cursor.
 */
import type { RecordBatch } from 'apache-arrow';
import { CallTooLargeError, MAX_RESIZES_PER_CALL, RateLimitError, cursorsEqual, isConnectorError, type Cursor, type LakeflowSource, type ReadStats, type TableOptions } from '../../../connector-spec/index.js';

export type Row = Record<string, unknown>;

/** Plain JS value of an Arrow cell: Map → object, Int64 stays bigint, Timestamp → epoch ms number. */
function plain(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}

export function rowsOf(batch: RecordBatch): Row[] {
  const columns = batch.schema.fields.map((f) => [f.name, batch.getChild(f.name)!] as const);
  const rows: Row[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const row: Row = {};
    for (const [name, vector] of columns) row[name] = plain(vector.get(i));
    rows.push(row);
  }
  return rows;
}

export interface DriveOptions {
  readonly tableOptions?: TableOptions;
  readonly stats?: ReadStats;
  /** Attempts per cursor on retryable errors (default 8). */
  readonly maxAttempts?: number;
  /** Safety cap on calls (default 500). */
  readonly maxCalls?: number;
  /** How the host waits for a RateLimitError's retryAfterMs (default: a real sleep). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface DriveResult {
  readonly rows: Row[];
  readonly cursor: Cursor;
  /** Completed calls (each one committed). */
  readonly calls: number;
  /** Errors of discarded calls, in order. */
  readonly errors: unknown[];
  /** Rows yielded by calls that failed (discarded). */
  readonly discardedRows: number;
  /** Each completed call: its input cursor and its rows (the last one is the converged, empty call). */
  readonly committed: { readonly cursor: Cursor; readonly rows: Row[] }[];
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function driveTable(source: LakeflowSource, table: string, start: Cursor, options: DriveOptions = {}): Promise<DriveResult> {
  const rows: Row[] = [];
  const committed: { cursor: Cursor; rows: Row[] }[] = [];
  const errors: unknown[] = [];
  let cursor = start;
  let calls = 0;
  let attempts = 0;
  let resized = 0;
  let discardedRows = 0;
  const maxAttempts = options.maxAttempts ?? 8;
  for (;;) {
    if (calls + errors.length >= (options.maxCalls ?? 500)) throw new Error(`driveTable: no convergence after ${options.maxCalls ?? 500} calls`);
    const staged: Row[] = [];
    let batches = 0;
    let next: Cursor;
    try {
      const read = source.readTable(table, cursor, { ...(options.tableOptions ? { tableOptions: options.tableOptions } : {}), ...(options.stats ? { stats: options.stats } : {}) });
      for (;;) {
        const step = await read.next();
        if (step.done) {
          next = step.value;
          break;
        }
        batches++;
        staged.push(...rowsOf(step.value));
      }
    } catch (error) {
      discardedRows += staged.length;
      errors.push(error);
      // A re-planned call is read again at once and not counted, like the runner does (bounded the same way).
      if (error instanceof CallTooLargeError && ++resized <= MAX_RESIZES_PER_CALL) continue;
      if (!isConnectorError(error) || !error.retryable || ++attempts >= maxAttempts) throw error;
      if (error instanceof RateLimitError) await (options.sleep ?? realSleep)(error.retryAfterMs);
      continue;
    }
    attempts = 0;
    resized = 0;
    calls++;
    const unchanged = cursorsEqual(next, cursor);
    if (unchanged && batches > 0) throw new Error('contract violation: a call yielded batches and returned its input cursor');
    rows.push(...staged);
    committed.push({ cursor, rows: staged });
    if (unchanged) return { rows, cursor, calls, errors, discardedRows, committed };
    cursor = next;
  }
}
