/**
 * `cohort_members`: (cohort_id, distinct_id) for every cohort (snapshot, replaced each run, so a member who left
 * disappears and one who joined appears). Each cohort is read with Engage `filter_by_cohort` over all pages;
 * a cohort whose data group was deleted (HTTP 404 "Missing Datagroup") is skipped and reported as knowingly missing
 * (`stats.missing`: the run exits 3 naming it); an Engage session that expired and was restarted is a warning
 * (information: no member is lost).
 * Per-cohort member counts go to `stats.counters["members.<cohort_id>"]`.
 */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns, isConnectorError } from '../../../connector-spec/index.js';
import { defineTable } from '../table.js';
import { booleanOption, rejectUnknownOptions } from '../profiles/options.js';
import { COHORTS_LIST_PATH, parseCohortList, type Cohort } from '../profiles/cohort-list.js';
import { BATCH_ROWS } from '../profiles/profile-rows.js';
import { DEFAULT_SESSION_RESTARTS } from '../profiles/profile-options.js';
import { scanEngage } from '../profiles/scan.js';
import { cohortMembersSchema } from '../profiles/schema.js';
import { snapshotAlreadyRead, snapshotCursor } from '../profiles/snapshot-cursor.js';
import type { TableContext } from '../table.js';

const OPTIONS = [
  {
    name: 'include_all_users',
    description: 'true: every cohort member, with or without a profile; false: only members that have a profile. Sent explicitly on every call.',
    default: 'true',
  },
] as const;

/** The request filters for one cohort's members (group cohorts also name their data group). */
export function memberParams(cohort: Cohort, includeAllUsers: boolean): Record<string, string> {
  const params: Record<string, string> = {
    filter_by_cohort: `{"id":${cohort.id.toString()}}`,
    include_all_users: includeAllUsers ? 'true' : 'false',
    output_properties: '["$last_seen"]',
  };
  if (cohort.dataGroupId !== null) params.data_group_id = cohort.dataGroupId;
  return params;
}

function isMissingDataGroup(error: unknown): boolean {
  return isConnectorError(error) && error.context.status === 404;
}

async function* readMembers(ctx: TableContext, includeAllUsers: boolean): AsyncGenerator<RecordBatch, void, undefined> {
  const body = await ctx.client.queryJson(COHORTS_LIST_PATH, {}, { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats, method: 'POST' });
  const { cohorts } = parseCohortList(body, ctx.table);
  const schema = cohortMembersSchema();
  let ids: bigint[] = [];
  let members: string[] = [];
  let rowsRead = 0;
  let done = 0;
  for (const cohort of cohorts) {
    const cohortIds: bigint[] = [];
    const cohortMembers: string[] = [];
    try {
      const scan = scanEngage({
        table: ctx.table,
        client: ctx.client,
        params: memberParams(cohort, includeAllUsers),
        maxRestarts: DEFAULT_SESSION_RESTARTS,
        stats: ctx.stats,
        signal: ctx.signal,
        deadline: ctx.deadline,
        onRestart: (page) => ctx.stats.warnings.push(`${ctx.table}: cohort ${cohort.id}: the Engage session expired on page ${page}; restarted from page 0`),
      });
      for await (const page of scan) {
        for (const record of page) {
          cohortIds.push(cohort.id);
          cohortMembers.push(record.distinctId);
        }
      }
    } catch (error) {
      if (!isMissingDataGroup(error)) throw error;
      const why = error instanceof Error ? error.message : String(error);
      ctx.stats.missing.push(`${ctx.table}: cohort ${cohort.id} (${cohort.name ?? 'unnamed'}) skipped: Mixpanel answered 404 (${why}); its data group was probably deleted — delete or fix the cohort`);
      ctx.logger.warn(`${ctx.table}: cohort skipped (HTTP 404)`, { table: ctx.table, cohort_id: cohort.id.toString() });
      done++;
      continue;
    }
    // A cohort's members are emitted only once its scan is complete: a failure above throws for the whole call.
    ctx.stats.counters[`members.${cohort.id.toString()}`] = cohortMembers.length;
    for (let i = 0; i < cohortMembers.length; i++) {
      ids.push(cohortIds[i]!);
      members.push(cohortMembers[i]!);
      if (members.length >= BATCH_ROWS) {
        yield batchFromColumns(schema, [ids, members]);
        ids = [];
        members = [];
      }
    }
    rowsRead += cohortMembers.length;
    done++;
    ctx.onProgress?.({ table: ctx.table, rowsRead, bytesRead: 0, slicesDone: done, slicesTotal: cohorts.length, apiBudgetLeft: ctx.client.budgetLeft('query') });
  }
  if (members.length > 0) yield batchFromColumns(schema, [ids, members]);
}

export const cohortMembers = defineTable({
  name: 'cohort_members',
  description: 'Members of every cohort (engage with filter_by_cohort, all pages), replaced on every run.',
  metadata: { primaryKeys: ['cohort_id', 'distinct_id'], ingestionType: 'snapshot', snapshotGroupBy: 'cohort_id' },
  options: OPTIONS,
  schema: () => cohortMembersSchema(),
  read(ctx, cursor, tableOptions) {
    rejectUnknownOptions(tableOptions, OPTIONS.map((o) => o.name), ctx.table);
    const includeAllUsers = booleanOption(tableOptions.include_all_users, true, 'include_all_users', ctx.table);
    const done = snapshotAlreadyRead(cursor, ctx.runStartMs, ctx.table);
    return (async function* () {
      if (done) return cursor;
      yield* readMembers(ctx, includeAllUsers);
      return snapshotCursor(ctx.runStartMs);
    })();
  },
});
