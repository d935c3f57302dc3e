/**
 * Read the lakehouse `engage` table as of its newest commit: replay `_lakeflow_log` (adds minus removes), read
 * each live Parquet file (parquet-wasm → Arrow IPC → apache-arrow), keep the rows `--where` selects. Files are
 * taken from the log, never by globbing, so a half-published commit is never read; the files of a committed
 * but not yet published newest version are read from its staging folder.
 */
import path from 'node:path';
import { Type, type Table, type Vector } from 'apache-arrow';
import { ConfigError, DataError } from '../connector-spec/index.js';
import { readParquetFile } from '../lakehouse/parquet/parquet-reader.js';
import type { ProfileRow } from './contacts.js';
import { liveTableFiles } from './lake-table.js';
import { compileWhere, decodeMapValue, type ColumnKind, type RowAccess, type Value } from './where.js';

export const ENGAGE_TABLE = 'engage';
const REQUIRED = ['distinct_id', 'email', 'first_name', 'last_name', 'name', 'last_seen', '_deleted_at'] as const;

export interface EngageRead {
  readonly rows: ProfileRow[];
  readonly version: number;
  readonly files: number;
  /** Rows read before `--where`. */
  readonly scanned: number;
}

/** Live files of the newest engage commit: absolute paths. */
export async function liveEngageFiles(lakehouse: string): Promise<{ version: number; files: string[] }> {
  const { version, files } = await liveTableFiles(lakehouse, ENGAGE_TABLE);
  if (version < 0) {
    const dir = path.join(lakehouse, ENGAGE_TABLE);
    throw new ConfigError(`${dir} has no commit log: run \`mixpanel-lakeflow run\` with the engage table first, or pass the right --lakehouse`, {
      code: 'MAILCHIMP_NO_ENGAGE',
      context: { path: dir },
    });
  }
  return { version, files: files.map((f) => f.path) };
}

function kindOfType(typeId: Type): ColumnKind {
  switch (typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
      return 'number';
    case Type.Timestamp:
    case Type.Date:
      return 'timestamp';
    case Type.Bool:
      return 'boolean';
    case Type.Map:
      return 'map';
    default:
      return 'text';
  }
}

function scalar(vector: Vector, row: number): Value {
  const v: unknown = vector.get(row);
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

function mapEntry(vector: Vector, row: number, key: string): Value {
  const m: unknown = vector.get(row);
  if (m === null || m === undefined) return null;
  for (const entry of m as Iterable<[unknown, unknown]>) {
    if (String(entry[0]) === key) return decodeMapValue(entry[1] === null || entry[1] === undefined ? null : String(entry[1]));
  }
  return null;
}

function text(vector: Vector | null, row: number): string | null {
  if (vector === null) return null;
  const v = scalar(vector, row);
  return v === null ? null : String(v);
}

function time(vector: Vector | null, row: number): number | null {
  if (vector === null) return null;
  const v = scalar(vector, row);
  return typeof v === 'number' ? v : null;
}

function checkColumns(table: Table, file: string): void {
  const names = new Set(table.schema.fields.map((f) => f.name));
  const missing = REQUIRED.filter((c) => !names.has(c));
  if (missing.length > 0) {
    throw new DataError(`${file} has no column ${missing.join(', ')}: this is not an engage table written by the Mixpanel source`, {
      code: 'MAILCHIMP_ENGAGE_SCHEMA',
      context: { path: file },
    });
  }
}

/**
 * All live engage rows that pass `where` (empty = all). A runner committing meanwhile may unlink a file of the
 * version being read (ENOENT): the read starts over from the then-newest version (3 attempts).
 */
export async function readEngage(lakehouse: string, where: string | undefined): Promise<EngageRead> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readVersion(lakehouse, where);
    } catch (error) {
      if (attempt >= 3 || (error as { code?: unknown }).code !== 'ENOENT') throw error;
    }
  }
}

async function readVersion(lakehouse: string, where: string | undefined): Promise<EngageRead> {
  const { version, files } = await liveEngageFiles(lakehouse);
  const rows: ProfileRow[] = [];
  let scanned = 0;
  let predicate: ((row: RowAccess) => boolean) | undefined;
  for (const file of files) {
    const table = await readParquetFile(file);
    checkColumns(table, file);
    if (predicate === undefined) {
      const kinds = new Map(table.schema.fields.map((f) => [f.name, kindOfType(f.type.typeId)] as const));
      predicate = compileWhere(where ?? '', kinds);
    }
    const vectors = new Map<string, Vector | null>();
    const col = (name: string): Vector | null => {
      let v = vectors.get(name);
      if (v === undefined) vectors.set(name, (v = table.getChild(name)));
      return v;
    };
    const id = col('distinct_id')!;
    const email = col('email');
    const first = col('first_name');
    const last = col('last_name');
    const name = col('name');
    const seen = col('last_seen');
    const deleted = col('_deleted_at');
    let current = 0;
    const access: RowAccess = {
      get: (c) => {
        const v = col(c);
        return v === null ? null : scalar(v, current);
      },
      mapEntry: (c, key) => {
        const v = col(c);
        return v === null ? null : mapEntry(v, current, key);
      },
    };
    for (let r = 0; r < table.numRows; r++) {
      scanned++;
      current = r;
      if (!predicate(access)) continue;
      rows.push({
        distinct_id: text(id, r) ?? '',
        email: text(email, r),
        first_name: text(first, r),
        last_name: text(last, r),
        name: text(name, r),
        last_seen: time(seen, r),
        _deleted_at: time(deleted, r),
      });
    }
  }
  if (predicate === undefined && where !== undefined && where.trim() !== '') {
    // No file to learn the columns from: still reject a malformed filter.
    compileWhere(where, new Map(REQUIRED.map((c) => [c, c === 'last_seen' || c === '_deleted_at' ? 'timestamp' : 'text'] as const)));
  }
  return { rows, version, files: files.length, scanned };
}
