/**
 * The versioned cursor of the incremental profile tables (engage, groups). Key order is fixed (cursor equality
 * is JSON text equality):
 * `{"v":1,"last_seen_ms":N|null,"window_digest":"hex"|null,"last_full_refresh_ms":N|null,"known_ids":[…]|null}`
 * - `last_seen_ms`: max `$last_seen` of the last completed scan, capped at the run start.
 * - `window_digest`: order-free hash of the profiles in the overlap window `($last_seen > last_seen_ms − overlap)`,
 *   so a re-read of the window that finds nothing changed returns the same cursor and no batches.
 * - `last_full_refresh_ms`: run start of the last full scan.
 * - `known_ids`: sorted ids seen since the last full scan, kept only while tombstones are enabled and the list
 *   stays under `deletion_tracking_limit` (null otherwise).
 */
import { ConfigError, isStartCursor, type Cursor } from '../../../connector-spec/index.js';

export interface ProfileCursor {
  readonly v: 1;
  readonly last_seen_ms: number | null;
  readonly window_digest: string | null;
  readonly last_full_refresh_ms: number | null;
  readonly known_ids: readonly string[] | null;
}

function bad(table: string, why: string): ConfigError {
  return new ConfigError(`table ${table}: the stored cursor is not a version-1 profile cursor (${why}); run this table with a full refresh to reset its state`, {
    code: 'MP_BAD_CURSOR',
    context: { table },
  });
}

function nullableInt(value: unknown, name: string, table: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad(table, `${name} is not an integer`);
  return value;
}

/** null for a start cursor. */
export function parseProfileCursor(cursor: Cursor, table: string): ProfileCursor | null {
  if (isStartCursor(cursor)) return null;
  if (typeof cursor !== 'object' || cursor === null || Array.isArray(cursor)) throw bad(table, 'not an object');
  const c = cursor as Readonly<Record<string, unknown>>;
  if (c.v !== 1) throw bad(table, `version ${JSON.stringify(c.v)}`);
  const digest = c.window_digest;
  if (digest !== null && digest !== undefined && (typeof digest !== 'string' || !/^[0-9a-f]{16}$/.test(digest))) throw bad(table, 'window_digest');
  const ids = c.known_ids;
  if (ids !== null && ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))) throw bad(table, 'known_ids');
  return {
    v: 1,
    last_seen_ms: nullableInt(c.last_seen_ms, 'last_seen_ms', table),
    window_digest: typeof digest === 'string' ? digest : null,
    last_full_refresh_ms: nullableInt(c.last_full_refresh_ms, 'last_full_refresh_ms', table),
    known_ids: Array.isArray(ids) ? (ids as string[]) : null,
  };
}

/** The JSON cursor with the fixed key order. */
export function profileCursorJson(c: ProfileCursor): Cursor {
  return {
    v: 1,
    last_seen_ms: c.last_seen_ms,
    window_digest: c.window_digest,
    last_full_refresh_ms: c.last_full_refresh_ms,
    known_ids: c.known_ids === null ? null : [...c.known_ids],
  };
}
