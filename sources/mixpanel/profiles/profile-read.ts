/**
 * The incremental read shared by `engage` and `groups` (one call = one complete Engage scan).
 *
 * - Full scan when the cursor is a start cursor or `full_refresh_every` is due; otherwise a server-side
 *   `where properties["$last_seen"] > "<last_seen_ms − overlap>"` (AND-ed with the user's `where`).
 * - New cursor: `last_seen_ms` = max(old, min(max `$last_seen` seen, run start)); `window_digest` over the
 *   profiles with `$last_seen` after the new `last_seen_ms − overlap`.
 * - An incremental scan streams the new rows (`$last_seen` beyond the old cursor) and holds back the overlap
 *   re-read: those rows are emitted only if the window's digest differs from the cursor's (a late or
 *   `$ignore_time` update inside the window). A scan with no new rows and an unchanged window yields nothing and
 *   returns its input cursor.
 * - Full scans with tombstones enabled emit a deletion marker for every live id the scan did not see: the host's
 *   committed rows (`ctx.liveRows`) when it keeps the table, else the cursor's `known_ids` (bounded).
 */
import type { Schema } from 'apache-arrow';
import { cursorsEqual, type Cursor, type TableRead } from '../../../connector-spec/index.js';
import type { TableContext } from '../table.js';
import { formatWhereDatetime } from './datetime.js';
import { ProfileRowBuffer, PROFILE_BATCH_ROWS } from './profile-rows.js';
import { parseProfileCursor, profileCursorJson, type ProfileCursor } from './profile-cursor.js';
import type { ProfileColumn } from './schema.js';
import type { ProfileRecord } from './engage-response.js';
import { scanEngage } from './scan.js';
import { DeliveredIds } from './delivered-ids.js';
import { deletedIdsFromLiveRows } from './live-deletions.js';
import { digestOf, profileHash } from './window-digest.js';

export interface ProfileReadSettings {
  readonly schema: Schema;
  readonly columns: readonly ProfileColumn[];
  /** The table's primary key columns, the profile's own id last (`distinct_id`; `group_key`, `group_id`). */
  readonly keyColumns: readonly string[];
  /** Key values placed before the profile's own id (groups: the group key). */
  readonly keyPrefix: readonly string[];
  /** Extra Engage parameters (groups: `data_group_id`). */
  readonly params: Readonly<Record<string, string>>;
  readonly userWhere: string | undefined;
  readonly overlapMs: number;
  readonly fullRefreshEveryMs: number | null;
  readonly deletionTrackingLimit: number;
  readonly maxSessionRestarts: number;
}

/** A profile that may belong to the window; hashed only at the end, if it is still inside it. */
interface WindowRow {
  readonly ms: number | null;
  readonly record: ProfileRecord;
}

function rowHash(row: WindowRow): bigint {
  return profileHash(row.record.distinctId, row.record.properties);
}

/** The `where` of one scan: the user's filter AND the `$last_seen` lower bound (either may be absent). */
export function scanWhere(userWhere: string | undefined, lowerMs: number | null): string | undefined {
  const bound = lowerMs === null ? undefined : `properties["$last_seen"] > "${formatWhereDatetime(lowerMs)}"`;
  if (userWhere === undefined || userWhere.trim() === '') return bound;
  if (bound === undefined) return userWhere;
  return `(${userWhere}) and ${bound}`;
}

/** Whole-second threshold matching the `where` text (`YYYY-MM-DDTHH:MM:SS`). */
function windowFloor(lastSeenMs: number | null, overlapMs: number): number {
  return Math.floor(((lastSeenMs ?? 0) - overlapMs) / 1000) * 1000;
}

export function isFullRefreshDue(c: ProfileCursor | null, everyMs: number | null, runStartMs: number): boolean {
  if (c === null) return true;
  if (everyMs === null) return false;
  return c.last_full_refresh_ms === null || runStartMs - c.last_full_refresh_ms >= everyMs;
}

export function readProfiles(ctx: TableContext, input: Cursor, s: ProfileReadSettings): TableRead {
  const previous = parseProfileCursor(input, ctx.table);
  return run(ctx, input, previous, s);
}

async function* run(ctx: TableContext, input: Cursor, previous: ProfileCursor | null, s: ProfileReadSettings): TableRead {
  const { table, runStartMs, stats } = ctx;
  const full = isFullRefreshDue(previous, s.fullRefreshEveryMs, runStartMs);
  const oldLastSeen = previous?.last_seen_ms ?? null;
  const oldFloor = windowFloor(oldLastSeen, s.overlapMs);
  const where = scanWhere(s.userWhere, full ? null : oldFloor);
  const params: Record<string, string> = { ...s.params };
  if (where !== undefined) params.where = where;
  const lastSeenIndex = s.keyPrefix.length + 1 + columnIndex(s.columns, '$last_seen');
  const tracking = s.fullRefreshEveryMs !== null;

  /** Rows to emit: every row of a full scan, the new rows of an incremental scan. */
  const out = new ProfileRowBuffer(s.schema);
  /** Incremental scans: rows at or before the old cursor (the overlap re-read), emitted only if the window changed. */
  const held = new ProfileRowBuffer(s.schema);
  /** Held rows inside the old window (their digest is compared with the cursor's). */
  const heldWindow: WindowRow[] = [];
  let maxSeen = oldLastSeen;
  let window: WindowRow[] = [];
  let pruneAt = 4096;
  /** Every id the scan delivered, compactly (the scan's own exactly-once set, read back for deletions). */
  const delivered = new DeliveredIds();
  let rowsRead = 0;
  let newRows = 0;
  let mismatches = 0;

  ctx.logger.info(`${table}: ${full ? 'full' : 'incremental'} scan`, { table, where: where ?? null });
  const scan = scanEngage({
    table,
    client: ctx.client,
    params,
    maxRestarts: s.maxSessionRestarts,
    stats,
    signal: ctx.signal,
    deadline: ctx.deadline,
    delivered,
    onRestart: (page) => {
      stats.warnings.push(`${table}: the Engage session expired on page ${page}; the scan restarted from page 0 (profiles already read were not repeated)`);
    },
  });
  for (;;) {
    const step = await scan.next();
    if (step.done) break;
    for (const record of step.value) {
      // Mapped straight into the emitted rows; a row that turns out to be an overlap re-read moves to `held`.
      const mapped = out.addProfile(s.keyPrefix, record.distinctId, record.properties, s.columns);
      mismatches += mapped.mismatches;
      const ms = mapped.lastSeenMs;
      const capped = ms === null ? null : Math.min(ms, runStartMs);
      if (capped !== null && (maxSeen === null || capped > maxSeen)) maxSeen = capped;
      const hasLastSeen = record.properties.$last_seen !== undefined && record.properties.$last_seen !== null;
      // Only profiles inside the window are hashed, once, at the end (the floor only rises during the scan).
      if (hasLastSeen && (ms === null || ms > windowFloor(maxSeen, s.overlapMs))) {
        window.push({ ms, record });
        if (window.length > pruneAt) {
          const floor = windowFloor(maxSeen, s.overlapMs);
          window = window.filter((w) => w.ms === null || w.ms > floor);
          pruneAt = Math.max(4096, window.length * 2);
        }
      }
      const isNew = full || (capped !== null && (oldLastSeen === null || capped > oldLastSeen));
      if (isNew) {
        newRows++;
        if (out.length >= PROFILE_BATCH_ROWS) yield out.take()!;
      } else {
        out.moveLastRowTo(held);
        if (hasLastSeen && (ms === null || (ms > oldFloor && ms <= (oldLastSeen ?? 0)))) heldWindow.push({ ms, record });
      }
      rowsRead++;
    }
    ctx.onProgress?.({ table, rowsRead, bytesRead: 0, apiBudgetLeft: ctx.client.budgetLeft('query') });
  }
  if (mismatches > 0) stats.counters[`${table}.standard_property_kept_raw`] = (stats.counters[`${table}.standard_property_kept_raw`] ?? 0) + mismatches;

  const newFloor = windowFloor(maxSeen, s.overlapMs);
  const digest = digestOf(window.filter((w) => w.ms === null || (w.ms > newFloor && w.ms <= (maxSeen ?? 0))).map(rowHash));
  const windowChanged = !full && digestOf(heldWindow.map(rowHash)) !== previous?.window_digest;

  let knownIds: string[] | null = null;
  const tombstones: string[] = [];
  if (tracking && ctx.liveRows !== undefined) {
    // The host keeps the table: a full scan is compared with its live rows; the cursor holds no id list.
    if (full) tombstones.push(...(await deletedIdsFromLiveRows(ctx.liveRows, s.keyColumns, s.keyPrefix, delivered)));
  } else if (tracking) {
    if (full) {
      if (previous?.known_ids != null) {
        for (const id of previous.known_ids) if (!delivered.has(id)) tombstones.push(id);
      } else if (previous !== null) {
        // Deleted profiles that cannot be marked are knowingly missing (exit 3), as below.
        stats.missing.push(`${table}: no deletion markers this full refresh: the ids of the previous scans are not known (full_refresh_every was just set, or there were more than ${s.deletionTrackingLimit} profiles)`);
      }
    }
    // The ids since the last full scan: this scan's (full), or their union with the cursor's (incremental).
    let known: { readonly size: number; values(): IterableIterator<string> } | null = null;
    if (full) known = delivered;
    else if (previous?.known_ids != null) {
      const union = new Set(previous.known_ids);
      for (const id of delivered.values()) union.add(id);
      known = union;
    }
    if (known !== null && known.size > s.deletionTrackingLimit) {
      stats.missing.push(`${table}: more than ${s.deletionTrackingLimit} profiles, deleted profiles will not be marked; raise deletion_tracking_limit to track them`);
    } else if (known !== null) {
      knownIds = [...known.values()].sort();
    }
  }

  const next = profileCursorJson({
    v: 1,
    last_seen_ms: maxSeen,
    window_digest: digest,
    last_full_refresh_ms: full ? runStartMs : (previous?.last_full_refresh_ms ?? null),
    known_ids: knownIds,
  });
  if (newRows === 0 && cursorsEqual(next, input)) return input;
  stats.counters[`${table}.profiles_read`] = (stats.counters[`${table}.profiles_read`] ?? 0) + rowsRead;
  if (tombstones.length > 0) {
    tombstones.sort();
    for (const id of tombstones) {
      out.addTombstone([...s.keyPrefix, id], runStartMs, lastSeenIndex);
      if (out.length >= PROFILE_BATCH_ROWS) yield out.take()!;
    }
    stats.counters[`${table}.tombstones`] = (stats.counters[`${table}.tombstones`] ?? 0) + tombstones.length;
  }
  yield* out.drain();
  // The overlap re-read is emitted only when something in it changed (a late or $ignore_time update), or when
  // the cursor moves for another reason and these rows are all this call has.
  if (windowChanged || newRows === 0) yield* held.drain();
  return next;
}

function columnIndex(columns: readonly ProfileColumn[], property: string): number {
  let index = 0;
  for (const c of columns) {
    if (c.property === property) return index;
    index += c.kind === 'timestamp' ? 2 : 1;
  }
  throw new TypeError(`column list has no ${property}`);
}
