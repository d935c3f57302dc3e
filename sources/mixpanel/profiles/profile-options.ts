/** Options of the incremental profile tables (engage, groups), parsed synchronously when a read is created. */
import type { TableOptions, TableOptionSpec } from '../../../connector-spec/index.js';
import { optionalDuration, parseDuration, positiveInt } from './options.js';

export const DEFAULT_OVERLAP = '10m';
export const DEFAULT_DELETION_TRACKING_LIMIT = 10_000;
export const DEFAULT_SESSION_RESTARTS = 3;

export const PROFILE_OPTION_SPECS: readonly TableOptionSpec[] = [
  { name: 'where', description: 'Mixpanel selector expression AND-ed with the $last_seen bound, e.g. properties["plan"] == "pro".' },
  {
    name: 'overlap',
    description: 'How far before the cursor each incremental scan starts ($last_seen > cursor − overlap), to catch late profile updates. Duration: 10m, 1h.',
    default: DEFAULT_OVERLAP,
  },
  {
    name: 'full_refresh_every',
    description: 'Scan every profile when this long has passed since the last full scan (12h, 1d), catching $ignore_time updates and marking deleted profiles with _deleted_at. Default off.',
    default: 'off',
  },
  {
    name: 'deletion_tracking_limit',
    description: 'Most profile ids kept in the cursor to detect deletions at a full refresh; above it no deletion markers are emitted (a warning says so).',
    default: String(DEFAULT_DELETION_TRACKING_LIMIT),
  },
  { name: 'session_restarts', description: 'Restarts from page 0 allowed per scan when Mixpanel rejects an expired Engage session.', default: String(DEFAULT_SESSION_RESTARTS) },
];

export interface ProfileOptions {
  readonly where: string | undefined;
  readonly overlapMs: number;
  readonly fullRefreshEveryMs: number | null;
  readonly deletionTrackingLimit: number;
  readonly maxSessionRestarts: number;
}

export function parseProfileOptions(options: TableOptions, table: string): ProfileOptions {
  const where = options.where?.trim();
  return {
    where: where === '' ? undefined : where,
    overlapMs: parseDuration(options.overlap ?? DEFAULT_OVERLAP, 'overlap', table),
    fullRefreshEveryMs: optionalDuration(options.full_refresh_every, 'full_refresh_every', table),
    deletionTrackingLimit: positiveInt(options.deletion_tracking_limit, DEFAULT_DELETION_TRACKING_LIMIT, 'deletion_tracking_limit', table, 1_000_000),
    maxSessionRestarts: positiveInt(options.session_restarts, DEFAULT_SESSION_RESTARTS, 'session_restarts', table, 100),
  };
}
