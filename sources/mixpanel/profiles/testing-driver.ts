/**
 * Test helper (used only by tests): call a table's `read` repeatedly with the returned cursor until it converges
 * (a call with no batches returning its input), checking the contract on every call, and collect the rows.
 */
import { cursorsEqual, emptyReadStats, type Cursor, type Logger, type ReadStats, type TableOptions } from '../../../connector-spec/index.js';
import type { MixpanelClient } from '../client-types.js';
import type { MixpanelConfig } from '../config-types.js';
import { INLINE_PARSING, type MixpanelTable, type TableContext } from '../table.js';

export const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function testContext(table: string, config: MixpanelConfig, client: MixpanelClient, runStartMs: number, stats: ReadStats = emptyReadStats()): TableContext {
  return { table, config, client, runStartMs, now: () => runStartMs, logger: SILENT_LOGGER, stats, signal: undefined, onProgress: undefined, liveRows: undefined, parsing: INLINE_PARSING };
}

export interface CallResult {
  readonly input: Cursor;
  readonly cursor: Cursor;
  readonly batches: number;
  readonly rows: readonly Record<string, unknown>[];
}

/** One readTable call: all rows (as plain objects) and the returned cursor. */
export async function readOnce(table: MixpanelTable, ctx: TableContext, cursor: Cursor, options: TableOptions = {}): Promise<CallResult> {
  const gen = table.read(ctx, cursor, options);
  const rows: Record<string, unknown>[] = [];
  let batches = 0;
  for (;;) {
    const step = await gen.next();
    if (step.done) {
      if (batches > 0 && cursorsEqual(step.value, cursor)) throw new Error(`${table.name}: a call yielded ${batches} batches and returned its input cursor`);
      return { input: cursor, cursor: step.value, batches, rows };
    }
    batches++;
    for (const row of step.value.toArray()) rows.push((row as { toJSON(): Record<string, unknown> }).toJSON());
  }
}

export interface DriveResult {
  readonly calls: readonly CallResult[];
  readonly cursor: Cursor;
  readonly rows: readonly Record<string, unknown>[];
}

/** Call until convergence (bounded by `maxCalls`); the last call is the converging one (no batches, same cursor). */
export async function driveToConvergence(table: MixpanelTable, ctx: TableContext, cursor: Cursor, options: TableOptions = {}, maxCalls = 10): Promise<DriveResult> {
  const calls: CallResult[] = [];
  let current = cursor;
  for (let i = 0; i < maxCalls; i++) {
    const call = await readOnce(table, ctx, current, options);
    calls.push(call);
    if (call.batches === 0 && cursorsEqual(call.cursor, current)) {
      return { calls, cursor: current, rows: calls.flatMap((c) => c.rows) };
    }
    current = call.cursor;
  }
  throw new Error(`${table.name}: no convergence after ${maxCalls} calls`);
}
