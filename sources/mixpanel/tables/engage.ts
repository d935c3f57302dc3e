/**
 * `engage`: user profiles (cdc, key `distinct_id`, cursor `last_seen`). Incremental with a server-side `where` on
 * `$last_seen`; optional periodic full scans that mark deleted profiles with `_deleted_at`.
 */
import { defineTable } from '../table.js';
import { rejectUnknownOptions } from '../profiles/options.js';
import { parseProfileOptions, PROFILE_OPTION_SPECS } from '../profiles/profile-options.js';
import { readProfiles } from '../profiles/profile-read.js';
import { engageSchema, PEOPLE_COLUMNS } from '../profiles/schema.js';

const OPTION_NAMES = PROFILE_OPTION_SPECS.map((o) => o.name);

export const engage = defineTable({
  name: 'engage',
  description: 'User profiles (Engage API), incremental on $last_seen; full refreshes mark deleted profiles with _deleted_at.',
  metadata: { primaryKeys: ['distinct_id'], cursorField: 'last_seen', sequenceBy: ['last_seen'], ingestionType: 'cdc' },
  options: PROFILE_OPTION_SPECS,
  schema: () => engageSchema(),
  read(ctx, cursor, tableOptions) {
    rejectUnknownOptions(tableOptions, OPTION_NAMES, ctx.table);
    const o = parseProfileOptions(tableOptions, ctx.table);
    return readProfiles(ctx, cursor, {
      schema: engageSchema(),
      columns: PEOPLE_COLUMNS,
      keyColumns: ['distinct_id'],
      keyPrefix: [],
      params: {},
      userWhere: o.where,
      overlapMs: o.overlapMs,
      fullRefreshEveryMs: o.fullRefreshEveryMs,
      deletionTrackingLimit: o.deletionTrackingLimit,
      maxSessionRestarts: o.maxSessionRestarts,
    });
  },
});
