/**
 * One of the sync's own tables (`mailchimp_sync_state`, `_errors`, `_plan`) as a Delta table through lakehouse/:
 * rows go into a new data file (`createDataFile`), then one commit adds it (APPEND) or also removes every live
 * file (REPLACE). Each commit carries `txn {appId: "mailchimp-sync/<list>/<table>", version}` and, in its
 * commitInfo, the run id and the commit's number in the run: a commit is in the table exactly once, and a second
 * sync of the same audience writing at the same time is stopped instead of interleaved.
 *
 * The table is checked before anything is written: it was created by the sync (`mixpanelLakeflow.writer`), its
 * protocol is one we can write, its columns are ours. A file is tagged with a sequence number
 * (`mixpanelLakeflow.syncSeq`, one more than any live file's) so readers can replay appends in commit order.
 */
import type { Schema, Table } from 'apache-arrow';
import { ConfigError, TransientError, batchFromColumns, type ColumnValues } from '../connector-spec/index.js';
import {
  arrowToDeltaSchema,
  decodeAddPath,
  deltaSchemaString,
  isCommitConflict,
  parseDeltaSchema,
  type AddFile,
  type CommitRequest,
  type DeltaTable,
  type Lakehouse,
  type NewMetadata,
  type Snapshot,
} from '../lakehouse/index.js';
import { convertLegacySyncTable } from './legacy-tables.js';
import { assertSyncOwned, syncTableConfiguration } from './sync-owner.js';

export const SEQ_TAG = 'mixpanelLakeflow.syncSeq';
/** Lost races (another audience's sync committing to the same table) re-planned before giving up. */
const MAX_CONFLICT_RETRIES = 8;

export interface SyncTableDef {
  readonly name: string;
  /** `state`, `errors` or `plan` (recorded in the table's properties). */
  readonly role: string;
  /** Columns as the sync writes them (timestamps in ms; Delta stores µs). */
  readonly schema: Schema;
  readonly description: string;
}

export interface SyncTableContext {
  readonly lakehouse: Lakehouse;
  readonly listId: string;
  readonly runId: string;
  /** Test hook: runs after a commit's data file is written and before the commit. */
  readonly beforeCommit?: (table: string) => Promise<void> | void;
}

/** The txn appId of one audience's writes to one table. */
export function syncAppId(listId: string, table: string): string {
  return `mailchimp-sync/${listId}/${table}`;
}

function seqOf(file: AddFile): number {
  const text = file.tags?.[SEQ_TAG];
  const value = text === undefined ? NaN : Number(text);
  return Number.isSafeInteger(value) ? value : -1;
}

/** Live files in commit order (a later file's rows win), then by path. */
export function filesInCommitOrder(files: readonly AddFile[]): AddFile[] {
  return [...files].sort((a, b) => seqOf(a) - seqOf(b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function normalisedSchema(schemaString: string): string {
  return deltaSchemaString(parseDeltaSchema(schemaString));
}

export class SyncTable {
  readonly def: SyncTableDef;
  readonly appId: string;
  readonly #ctx: SyncTableContext;
  readonly #table: DeltaTable;
  #snapshot: Snapshot | undefined;
  /** Our appId's txn version as we last committed or saw it (-1: none). */
  #txnVersion = -1;
  /** Commits of this run, numbered in commitInfo. */
  #commits = 0;

  private constructor(ctx: SyncTableContext, def: SyncTableDef) {
    this.#ctx = ctx;
    this.def = def;
    this.appId = syncAppId(ctx.listId, def.name);
    this.#table = ctx.lakehouse.table(def.name);
  }

  /** Open (converting an earlier release's table first) and check the table; writes nothing else. */
  static async open(ctx: SyncTableContext, def: SyncTableDef): Promise<SyncTable> {
    const table = new SyncTable(ctx, def);
    await convertLegacySyncTable({ lakehouse: ctx.lakehouse, table: table.#table, metadata: table.#metadata(), schema: def.schema, fileTags: { [SEQ_TAG]: '0' }, runId: ctx.runId });
    const snapshot = await table.#table.snapshot();
    if (snapshot) table.#check(snapshot);
    table.#snapshot = snapshot;
    table.#txnVersion = snapshot?.txns.get(table.appId)?.version ?? -1;
    return table;
  }

  get exists(): boolean {
    return this.#snapshot !== undefined;
  }

  /** Live files of the snapshot this writer last saw. */
  get fileCount(): number {
    return this.#snapshot?.files.length ?? 0;
  }

  /** Version of the snapshot this writer last saw (-1: no table). */
  get version(): number {
    return this.#snapshot?.version ?? -1;
  }

  #metadata(): NewMetadata {
    return { schema: this.def.schema, partitionColumns: [], configuration: syncTableConfiguration(this.def.role), name: this.def.name, description: this.def.description };
  }

  #check(snapshot: Snapshot): void {
    const location = this.#ctx.lakehouse.displayUrl;
    assertSyncOwned(snapshot, this.def.name, location);
    snapshot.assertWritable({ removesFiles: true });
    if (normalisedSchema(snapshot.metadata.schemaString) !== deltaSchemaString(arrowToDeltaSchema(this.def.schema))) {
      const theirs = snapshot.metadata.schema.fields.map((f) => f.name).join(', ');
      throw new ConfigError(
        `--lakehouse ${location}: ${this.def.name} has columns (${theirs}) that are not the ones this mailchimp-sync writes (${this.def.schema.fields.map((f) => f.name).join(', ')}); ` +
          `it was written by another version. Nothing was written. Fix: run the version that wrote it, or move the table aside (the next run reconciles with Mailchimp)`,
        { code: 'MAILCHIMP_TABLE_SCHEMA', context: { table: this.def.name } },
      );
    }
  }

  /** Every live row group of the snapshot, oldest commit first (timestamps as in `def.schema`). */
  async #read(snapshot: Snapshot | undefined): Promise<Table[]> {
    const out: Table[] = [];
    for (const file of filesInCommitOrder(snapshot?.files ?? [])) {
      for await (const group of this.#table.readDataFile(file, { schema: this.def.schema })) out.push(group);
    }
    return out;
  }

  /** The rows of the snapshot taken when the table was opened (or last committed). */
  live(): Promise<Table[]> {
    return this.#read(this.#snapshot);
  }

  async #writeFile(columns: readonly ColumnValues[]): Promise<AddFile | undefined> {
    if ((columns[0]?.length ?? 0) === 0) return undefined;
    const batch = batchFromColumns(this.def.schema, columns);
    const writer = await this.#table.createDataFile({
      partitionValues: {},
      schema: this.def.schema,
      keyValueMetadata: new Map([
        ['lakeflow.table', this.def.name],
        ['lakeflow.run_id', this.#ctx.runId],
      ]),
    });
    try {
      await writer.write(batch);
      return await writer.close();
    } catch (error) {
      await writer.abort().catch(() => {});
      throw error;
    }
  }

  async #discard(file: AddFile | undefined): Promise<void> {
    if (file) await this.#ctx.lakehouse.store.delete(`${this.#table.root}/${decodeAddPath(file.path)}`).catch(() => {});
  }

  /** A fresh snapshot, checked again, with our txn where we left it. */
  async #refresh(): Promise<Snapshot | undefined> {
    const snapshot = await this.#table.snapshot();
    if (snapshot) this.#check(snapshot);
    const txn = snapshot?.txns.get(this.appId)?.version ?? -1;
    if (txn !== this.#txnVersion) throw this.#concurrentSync(snapshot?.version ?? -1);
    this.#snapshot = snapshot;
    return snapshot;
  }

  #concurrentSync(version: number): TransientError {
    return new TransientError(
      `${this.#ctx.lakehouse.displayUrl}/${this.def.name}: another mailchimp-sync of audience ${this.#ctx.listId} committed to this table (version ${version}) while this run was writing; ` +
        'this run stopped so the two do not interleave. What both sent to Mailchimp is safe to send again: run one sync per audience at a time, and the next run continues',
      { code: 'MAILCHIMP_CONCURRENT_SYNC', context: { table: this.def.name, list: this.#ctx.listId } },
    );
  }

  /**
   * Commit the file `plan` writes (removing every live file when `replace`) on the newest snapshot. A lost race
   * that a retry at a later version cannot absorb (another audience's sync created the table, or committed rows a
   * replace read) re-plans on a fresh snapshot: `plan` is called again with it.
   */
  async #commit(operation: 'WRITE' | 'REPLACE', plan: (snapshot: Snapshot | undefined) => Promise<AddFile | undefined>, replace: boolean): Promise<void> {
    const commitNo = ++this.#commits;
    let file: AddFile | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const snapshot = this.#snapshot;
        file = await plan(snapshot);
        const remove = replace ? [...(snapshot?.files ?? [])] : [];
        if (!file && remove.length === 0) return;
        const seq = Math.max(-1, ...(snapshot?.files ?? []).map(seqOf)) + 1;
        const request: CommitRequest = {
          readVersion: snapshot?.version ?? -1,
          operation,
          add: file ? [{ ...file, tags: { ...file.tags, [SEQ_TAG]: String(seq) } }] : [],
          remove,
          ...(snapshot ? {} : { metadata: this.#metadata() }),
          // A replace read every live row: a concurrent commit with data makes it re-plan.
          ...(replace && snapshot ? { readPartitions: [''] } : {}),
          txn: { appId: this.appId, version: this.#txnVersion + 1 },
          info: { runId: this.#ctx.runId, list: this.#ctx.listId, commit: commitNo, rows: file?.numRecords ?? 0 },
        };
        try {
          await this.#ctx.beforeCommit?.(this.def.name);
          await this.#table.commit(request);
        } catch (error) {
          if (!isCommitConflict(error)) throw error;
          if (error.reason === 'txn') {
            if (await this.#landedAlready(commitNo)) {
              file = undefined;
              return;
            }
            throw this.#concurrentSync(error.conflictVersion);
          }
          if (attempt >= MAX_CONFLICT_RETRIES) throw error;
          await this.#refresh();
          continue;
        }
        file = undefined;
        this.#txnVersion++;
        this.#snapshot = await this.#table.snapshot();
        return;
      }
    } finally {
      // Written but not committed: invisible to every reader; deleting it only saves space.
      await this.#discard(file);
    }
  }

  /** After a txn conflict: is the winner this very commit (a retried write whose first attempt landed)? */
  async #landedAlready(commitNo: number): Promise<boolean> {
    const snapshot = await this.#table.snapshot();
    const app = await snapshot?.appCommit(this.appId);
    if (app === undefined || app.txnVersion !== this.#txnVersion + 1 || app.info['runId'] !== this.#ctx.runId || app.info['commit'] !== commitNo) return false;
    this.#txnVersion++;
    this.#snapshot = snapshot;
    return true;
  }

  /** APPEND `columns` (per-field values in schema order) as one commit; nothing when there are no rows. */
  async append(columns: readonly ColumnValues[]): Promise<void> {
    if ((columns[0]?.length ?? 0) === 0) return;
    // The same file serves every attempt: an append does not depend on what else is in the table.
    let written: AddFile | undefined;
    await this.#commit('WRITE', async () => (written ??= await this.#writeFile(columns)), false);
  }

  /**
   * REPLACE the table's rows with `build(live rows)` in one commit. `build` sees the rows of the snapshot the
   * commit is planned on, and runs again (and a new file is written) if a concurrent commit changed them.
   */
  async replace(build: (live: readonly Table[]) => readonly ColumnValues[]): Promise<void> {
    let written: AddFile | undefined;
    await this.#commit(
      'REPLACE',
      async (snapshot) => {
        await this.#discard(written);
        written = await this.#writeFile(build(await this.#read(snapshot)));
        return written;
      },
      true,
    );
  }
}
