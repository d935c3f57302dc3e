/**
 * Cursor of the snapshot tables (cohorts, cohort_members): `{"v":1,"read_at_ms":<run start>}`. A call from a start
 * cursor, or from a cursor of an earlier run, reads the whole snapshot; a second call within the same run (same
 * run start) returns its input and no batches, so a host that loops until convergence stops after one read.
 */
import { ConfigError, isStartCursor, type Cursor } from '../../../connector-spec/index.js';

export function snapshotAlreadyRead(cursor: Cursor, runStartMs: number, table: string): boolean {
  if (isStartCursor(cursor)) return false;
  if (typeof cursor !== 'object' || cursor === null || Array.isArray(cursor) || (cursor as Record<string, unknown>).v !== 1) {
    throw new ConfigError(`table ${table}: the stored cursor is not a version-1 snapshot cursor; run this table with a full refresh to reset its state`, {
      code: 'MP_BAD_CURSOR',
      context: { table },
    });
  }
  return (cursor as Record<string, unknown>).read_at_ms === runStartMs;
}

export function snapshotCursor(runStartMs: number): Cursor {
  return { v: 1, read_at_ms: runStartMs };
}
