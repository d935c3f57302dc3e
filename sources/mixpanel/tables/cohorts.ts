/** `cohorts`: the cohort list (snapshot, key `id`), every field typed and no volatile column. */
import { defineTable } from '../table.js';
import { rejectUnknownOptions } from '../profiles/options.js';
import { COHORTS_LIST_PATH, cohortsBatch, parseCohortList } from '../profiles/cohort-list.js';
import { cohortsSchema } from '../profiles/schema.js';
import { snapshotAlreadyRead, snapshotCursor } from '../profiles/snapshot-cursor.js';

export const cohorts = defineTable({
  name: 'cohorts',
  description: 'Cohort definitions (cohorts/list), replaced on every run.',
  metadata: { primaryKeys: ['id'], ingestionType: 'snapshot' },
  options: [],
  schema: () => cohortsSchema(),
  read(ctx, cursor, tableOptions) {
    rejectUnknownOptions(tableOptions, [], ctx.table);
    const done = snapshotAlreadyRead(cursor, ctx.runStartMs, ctx.table);
    return (async function* () {
      if (done) return cursor;
      const body = await ctx.client.queryJson(COHORTS_LIST_PATH, {}, { table: ctx.table, signal: ctx.signal, deadline: ctx.deadline, stats: ctx.stats, method: 'POST' });
      const parsed = parseCohortList(body, ctx.table);
      if (parsed.unknownFields.length > 0) {
        // Fields without a column are knowingly not stored (exit 3), not information.
        ctx.stats.missing.push(`${ctx.table}: cohorts/list returned fields without a column (${parsed.unknownFields.join(', ')}); they are not stored`);
      }
      if (parsed.cohorts.length > 0) yield cohortsBatch(parsed.cohorts);
      ctx.onProgress?.({ table: ctx.table, rowsRead: parsed.cohorts.length, bytesRead: 0, apiBudgetLeft: ctx.client.budgetLeft('query') });
      return snapshotCursor(ctx.runStartMs);
    })();
  },
});
