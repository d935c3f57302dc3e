/**
 * When each table last ran to completion (`<state>/schedule.json`), for the `every` table option: a table that is
 * not due is skipped and the report says when it is. The file is a convenience: if it is lost, the table's own
 * newest commit time is used, and at worst a table runs once more than needed.
 */
import path from 'node:path';
import { readTextIfExists, writeFileAtomic } from './durable-fs.js';

export const SCHEDULE_FILE = 'schedule.json';

export async function readSchedule(stateDir: string): Promise<Map<string, number>> {
  const text = await readTextIfExists(path.join(stateDir, SCHEDULE_FILE));
  const out = new Map<string, number>();
  if (text === undefined) return out;
  try {
    const raw: unknown = JSON.parse(text);
    const tables = typeof raw === 'object' && raw !== null ? (raw as { tables?: unknown }).tables : undefined;
    if (typeof tables === 'object' && tables !== null) {
      for (const [name, value] of Object.entries(tables)) {
        const at = typeof value === 'object' && value !== null ? (value as { lastRunAt?: unknown }).lastRunAt : undefined;
        const ms = typeof at === 'string' ? Date.parse(at) : Number.NaN;
        if (Number.isFinite(ms)) out.set(name, ms);
      }
    }
  } catch {
    // A damaged schedule only costs one extra run of each table.
  }
  return out;
}

export async function writeSchedule(stateDir: string, schedule: ReadonlyMap<string, number>): Promise<void> {
  const tables = Object.fromEntries([...schedule].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, ms]) => [name, { lastRunAt: new Date(ms).toISOString() }]));
  await writeFileAtomic(path.join(stateDir, SCHEDULE_FILE), `${JSON.stringify({ format: 1, tables }, null, 2)}\n`);
}

/**
 * Epoch ms a table with `every` becomes due again, given when it last ran. A tenth of the interval (at most five
 * minutes) is forgiven, so a table due hourly is not pushed to the next quarter hour by a few seconds of jitter.
 */
export function dueAt(lastRunMs: number | undefined, everyMs: number): number {
  if (lastRunMs === undefined) return Number.NEGATIVE_INFINITY;
  return lastRunMs + everyMs - Math.min(everyMs / 10, 5 * 60_000);
}
