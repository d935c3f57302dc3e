/**
 * Per-table state files `<state>/<table>.json` ({ "format": 1, … }), written temp → fsync → rename after
 * the commit record and the publish step. The commit log is the source of truth; this file is a cache
 * the runner repairs when it lags. Format 0 (a bare `{ "cursor": … }`, before the commit log existed)
 * is migrated on read.
 */
import path from 'node:path';
import * as fs from 'node:fs/promises';
import { ConfigError, type Cursor, type JsonValue } from '../connector-spec/index.js';
import { readTextIfExists, writeFileAtomic } from './durable-fs.js';

export const STATE_FORMAT = 1;

export interface TableState {
  readonly format: typeof STATE_FORMAT;
  readonly table: string;
  readonly sourceTable: string;
  /** Last commit-log version published; -1 when none (migrated format 0). */
  readonly version: number;
  readonly cursor: Cursor;
  readonly updatedAt: string;
  readonly runId: string;
}

export interface LoadedState {
  readonly state: TableState;
  /** Set when the file was in an older format and was migrated in memory. */
  readonly migratedFrom?: number;
}

export function stateFile(stateDir: string, table: string): string {
  return path.join(stateDir, `${table}.json`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parse a state file's text (any known format) into the current format. */
export function parseState(text: string, file: string, table: string): LoadedState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file}: state file is not valid JSON; delete it and run with --full-refresh ${table}`, { code: 'STATE_INVALID', context: { path: file, table } });
  }
  if (!isRecord(raw)) throw new ConfigError(`${file}: state file is not a JSON object; delete it and run with --full-refresh ${table}`, { code: 'STATE_INVALID', context: { path: file, table } });
  const format = raw['format'];
  if (format === undefined) {
    if (!('cursor' in raw)) throw new ConfigError(`${file}: state file has neither "format" nor "cursor"; delete it and run with --full-refresh ${table}`, { code: 'STATE_INVALID', context: { path: file, table } });
    // Format 0: { "cursor": … } only.
    return {
      migratedFrom: 0,
      state: { format: STATE_FORMAT, table, sourceTable: table, version: -1, cursor: raw['cursor'] as JsonValue, updatedAt: new Date(0).toISOString(), runId: 'format-0' },
    };
  }
  if (format !== STATE_FORMAT) {
    throw new ConfigError(`${file}: state format ${String(format)} is newer than this runner understands (${STATE_FORMAT}); upgrade mixpanel-lakeflow`, { code: 'STATE_FORMAT_UNKNOWN', context: { path: file, table } });
  }
  const version = raw['version'];
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new ConfigError(`${file}: "version" must be an integer; delete the file, the runner rebuilds it from the commit log`, { code: 'STATE_INVALID', context: { path: file, table } });
  }
  return {
    state: {
      format: STATE_FORMAT,
      table,
      sourceTable: typeof raw['sourceTable'] === 'string' ? raw['sourceTable'] : table,
      version,
      cursor: (raw['cursor'] ?? null) as JsonValue,
      updatedAt: typeof raw['updatedAt'] === 'string' ? raw['updatedAt'] : new Date(0).toISOString(),
      runId: typeof raw['runId'] === 'string' ? raw['runId'] : 'unknown',
    },
  };
}

export async function readState(stateDir: string, table: string): Promise<LoadedState | undefined> {
  const file = stateFile(stateDir, table);
  const text = await readTextIfExists(file);
  return text === undefined ? undefined : parseState(text, file, table);
}

export async function writeState(stateDir: string, state: TableState): Promise<void> {
  await writeFileAtomic(stateFile(stateDir, state.table), `${JSON.stringify(state, null, 2)}\n`);
}

export async function deleteState(stateDir: string, table: string): Promise<void> {
  await fs.rm(stateFile(stateDir, table), { force: true });
}
