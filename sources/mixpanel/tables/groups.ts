/**
 * `groups`: group profiles of one group key (Engage with `data_group_id`), keyed by (`group_key`, `group_id`),
 * with the same incremental rules as `engage`. Group ids keep every digit (19-digit ids are text).
 */
import { ConfigError } from '../../../connector-spec/index.js';
import { defineTable } from '../table.js';
import { rejectUnknownOptions } from '../profiles/options.js';
import { parseProfileOptions, PROFILE_OPTION_SPECS } from '../profiles/profile-options.js';
import { readProfiles } from '../profiles/profile-read.js';
import { GROUP_COLUMNS, groupsSchema } from '../profiles/schema.js';

const OPTIONS = [
  { name: 'data_group_id', description: 'Required. The data group id of the group key (Project Settings → Group Keys), e.g. -1405123841946871899.' },
  { name: 'group_key', description: 'The group key name stored in the group_key column (e.g. company_id). Default: the data_group_id.' },
  ...PROFILE_OPTION_SPECS,
] as const;
const OPTION_NAMES = OPTIONS.map((o) => o.name);
const DATA_GROUP_ID = /^-?\d{1,20}$/;

export const groups = defineTable({
  name: 'groups',
  description: 'Group profiles of one group key (Engage API with data_group_id), incremental on $last_seen.',
  metadata: { primaryKeys: ['group_key', 'group_id'], cursorField: 'last_seen', sequenceBy: ['last_seen'], ingestionType: 'cdc' },
  options: OPTIONS,
  schema: () => groupsSchema(),
  read(ctx, cursor, tableOptions) {
    rejectUnknownOptions(tableOptions, OPTION_NAMES, ctx.table);
    const dataGroupId = tableOptions.data_group_id?.trim();
    if (dataGroupId === undefined || !DATA_GROUP_ID.test(dataGroupId)) {
      throw new ConfigError(
        `table ${ctx.table}: option data_group_id ${dataGroupId === undefined ? 'is missing' : `"${dataGroupId}" is not an integer id`}; set it in table_configuration to the group key's data group id (a string, may be negative)`,
        { code: 'MP_BAD_TABLE_OPTION', context: { table: ctx.table, option: 'data_group_id' } },
      );
    }
    const groupKey = tableOptions.group_key?.trim() || dataGroupId;
    const o = parseProfileOptions(tableOptions, ctx.table);
    return readProfiles(ctx, cursor, {
      schema: groupsSchema(),
      columns: GROUP_COLUMNS,
      keyColumns: ['group_key', 'group_id'],
      keyPrefix: [groupKey],
      params: { data_group_id: dataGroupId },
      userWhere: o.where,
      overlapMs: o.overlapMs,
      fullRefreshEveryMs: o.fullRefreshEveryMs,
      deletionTrackingLimit: o.deletionTrackingLimit,
      maxSessionRestarts: o.maxSessionRestarts,
    });
  },
});
