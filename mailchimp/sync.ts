/**
 * One sync of the lakehouse `engage` table into a Mailchimp audience:
 * read → contacts → (reconcile with Mailchimp on the first run) → plan → create new contacts with batch calls
 * (`update_existing: false`, ≤ 500 each, one after the other) → update changed ones with PUT (merge fields and
 * `status_if_new`, never `status`, ≤ 10 at once). The sync state is committed after each Mailchimp reply (group
 * commit), per-member errors go to `mailchimp_sync_errors`. `--dry-run` sends no write and writes the plan.
 *
 * The lakehouse is any `--lakehouse` location the runner takes (a folder, s3://, az://, abfss://), opened through
 * lakehouse/ with credentials from the environment. Before the first Mailchimp call: the location is writable,
 * `engage` is the runner's engage table, `--where` compiles against its columns, and each of the sync's tables
 * is absent or was created by the sync (an earlier release's table is converted to Delta first).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../connector-spec/index.js';
import { openLakehouse, type Lakehouse } from '../lakehouse/index.js';
import { normaliseEmail, payloadHash, selectContacts, type Collision, type Contact } from './contacts.js';
import { MailchimpClient, type MemberError, type RemoteMember, type RetryPolicy } from './client.js';
import type { SyncConfig } from './config.js';
import { openEngage, readEngage } from './engage-reader.js';
import { countActions, planContacts, type Known, type PlanEntry } from './plan.js';
import { acquireSyncLock } from './sync-lock.js';
import { SyncTable, type SyncTableContext } from './sync-table.js';
import { compactState, ERRORS_DEF, errorColumns, PLAN_DEF, readState, STATE_DEF, stateColumns, writePlan, type ErrorRow, type StateRow } from './tables.js';

export const BATCH_SIZE = 500;
export const MAX_CONCURRENT = 10;

export interface SyncHooks {
  readonly retry?: RetryPolicy;
  readonly now?: () => number;
  readonly out: (line: string) => void;
  readonly warn: (line: string) => void;
  /** Environment for the lakehouse's credentials (AWS_*, AZURE_STORAGE_*). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Test hook: runs after a commit's data file is written and before the commit (crash tests). */
  readonly beforeCommit?: (table: string) => Promise<void> | void;
}

export interface SyncResult {
  readonly runId: string;
  readonly profiles: number;
  readonly contacts: number;
  readonly collisions: readonly Collision[];
  readonly planned: Record<'create' | 'update' | 'skip', number>;
  readonly created: number;
  readonly updated: number;
  readonly alreadyThere: number;
  readonly errors: number;
  readonly batchCalls: number;
  readonly putCalls: number;
  readonly reconciled: boolean;
}

/** Commits state and error rows after replies; replies that arrive during a commit share the next one. */
class GroupCommitter {
  private state: StateRow[] = [];
  private errors: ErrorRow[] = [];
  private tail: Promise<void> = Promise.resolve();
  private scheduled: Promise<void> | null = null;
  commits = 0;

  constructor(
    private readonly stateTable: SyncTable,
    private readonly errorsTable: SyncTable,
  ) {}

  add(state: readonly StateRow[], errors: readonly ErrorRow[]): Promise<void> {
    this.state.push(...state);
    this.errors.push(...errors);
    if (this.scheduled === null) {
      this.scheduled = this.tail.then(() => this.flush());
      this.tail = this.scheduled;
    }
    return this.scheduled;
  }

  private async flush(): Promise<void> {
    this.scheduled = null;
    const errors = this.errors.splice(0);
    const state = this.state.splice(0);
    if (errors.length > 0) await this.errorsTable.append(errorColumns(errors));
    if (state.length > 0) {
      await this.stateTable.append(stateColumns(state));
      this.commits++;
    }
  }
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

function collisionLines(collisions: readonly Collision[]): string[] {
  const lines = collisions.slice(0, 20).map((c) => `warning: ${c.dropped.length + 1} profiles share ${c.email}: kept ${c.kept} (latest last_seen, then smallest distinct_id), ignored ${c.dropped.join(', ')}`);
  if (collisions.length > 20) lines.push(`warning: … and ${collisions.length - 20} more email collisions`);
  return lines;
}

function stderrLogger(warn: (line: string) => void): Logger {
  const noop = () => {};
  return { debug: noop, info: noop, warn: (msg, fields) => warn(`warning: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`), error: (msg) => warn(`error: ${msg}`) };
}

export async function syncAudience(config: SyncConfig, hooks: SyncHooks): Promise<SyncResult> {
  const lakehouse = await openLakehouse(config.lakehouse, { env: hooks.env, logger: stderrLogger(hooks.warn), engineInfo: 'mixpanel-lakeflow mailchimp-sync' });
  try {
    return await syncInto(lakehouse, config, hooks);
  } finally {
    await lakehouse.close();
  }
}

async function syncInto(lakehouse: Lakehouse, config: SyncConfig, hooks: SyncHooks): Promise<SyncResult> {
  const now = hooks.now ?? Date.now;
  const runId = `${new Date(now()).toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const { listId } = config;
  const location = lakehouse.displayUrl.replace(/\/+$/, '');

  // Configuration first: nothing is written and Mailchimp is not called until all of it holds.
  await lakehouse.store.checkWritable('--lakehouse');
  const engageTable = await openEngage(lakehouse, config.where);
  const engage = await readEngage(engageTable, config.where, location);
  const selection = selectContacts(engage.rows);
  const { contacts, collisions, skipped } = selection;
  hooks.out(`engage version ${engage.version}: ${engage.scanned} profiles, ${engage.rows.length} selected${config.where ? ' by --where' : ''}`);
  hooks.out(`contacts: ${contacts.length} (not synced: ${skipped.deleted} deleted, ${skipped.noEmail} without email, ${skipped.invalidEmail} invalid email; ${collisions.length} email collisions)`);
  for (const line of collisionLines(collisions)) hooks.warn(line);
  if (selection.invalidSamples.length > 0) hooks.warn(`warning: invalid emails not synced: ${selection.invalidSamples.join(', ')}${skipped.invalidEmail > selection.invalidSamples.length ? ', …' : ''}`);

  const lock = await acquireSyncLock(lakehouse, listId, runId, stderrLogger(hooks.warn));
  try {
    const tableCtx: SyncTableContext = { lakehouse, listId, runId, ...(hooks.beforeCommit ? { beforeCommit: hooks.beforeCommit } : {}) };
    const stateTable = await SyncTable.open(tableCtx, STATE_DEF);
    const errorsTable = await SyncTable.open(tableCtx, ERRORS_DEF);
    const planTable = await SyncTable.open(tableCtx, PLAN_DEF);
    const client = new MailchimpClient({
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      maxConcurrent: MAX_CONCURRENT,
      ...(hooks.retry ? { retry: hooks.retry } : {}),
      onRetry: (r) => hooks.warn(`warning: ${r.what} failed${r.status !== null ? ` (HTTP ${r.status})` : ''}; retry ${r.attempt} in ${r.delayMs} ms`),
    });
    const list = await client.getList(listId);
    hooks.out(`audience ${listId}${list.name ? ` (${list.name})` : ''}`);

    const state = await readState(stateTable, listId);
    const known = new Map<string, Known>();
    const discovered: StateRow[] = [];
    const byEmail = new Map(contacts.map((c) => [c.email, c]));
    const stateRowOf = (c: Contact, hash: string | null, status: string | null): StateRow => ({
      listId,
      email: c.email,
      subscriberHash: c.subscriberHash,
      payloadHash: hash,
      lastSyncedAt: now(),
      status,
      distinctId: c.distinctId,
    });
    const remember = (members: readonly RemoteMember[]) => {
      for (const m of members) {
        const c = byEmail.get(normaliseEmail(m.email));
        if (c === undefined) continue;
        const hash = payloadHash(m);
        known.set(c.email, { payloadHash: hash, status: m.status });
        discovered.push(stateRowOf(c, hash, m.status));
      }
    };
    let reconciled = false;
    if (!state.exists) {
      // First run for this audience (or lost state): learn what Mailchimp already has, archived contacts included.
      remember(await client.allMembers(listId));
      remember(await client.allMembers(listId, 'archived'));
      reconciled = true;
      hooks.out(`reconciled with Mailchimp: ${discovered.length} of the contacts are already in the audience`);
    } else {
      for (const [email, row] of state.rows) known.set(email, { payloadHash: row.payloadHash, status: row.status });
      if (planContacts(contacts, known, new Set()).some((e) => e.action !== 'skip')) {
        // Before writing: contacts archived in Mailchimp since the last run must not be re-added.
        for (const m of await client.allMembers(listId, 'archived')) {
          const c = byEmail.get(normaliseEmail(m.email));
          if (c !== undefined && known.get(c.email)?.status !== 'archived') remember([m]);
        }
      }
    }
    const plan = planContacts(contacts, known, new Set());
    const planned = countActions(plan);
    hooks.out(`plan: create ${planned.create}, update ${planned.update}, skip ${planned.skip}`);

    const result = { runId, profiles: engage.scanned, contacts: contacts.length, collisions, planned, reconciled };
    if (config.dryRun) {
      const rows = plan.map((e: PlanEntry) => ({
        email: e.contact.email,
        subscriberHash: e.contact.subscriberHash,
        distinctId: e.contact.distinctId,
        action: e.action,
        reason: e.reason,
        fname: e.contact.fname,
        lname: e.contact.lname,
        statusIfNew: e.action === 'skip' ? null : config.statusIfNew,
      }));
      await writePlan(planTable, runId, listId, now(), rows);
      hooks.out(`dry run: no write sent to Mailchimp; plan written to ${location}/${PLAN_DEF.name}`);
      return { ...result, created: 0, updated: 0, alreadyThere: 0, errors: 0, batchCalls: 0, putCalls: 0 };
    }

    const committer = new GroupCommitter(stateTable, errorsTable);
    if (discovered.length > 0) await committer.add(discovered, []);
    const errorRow = (c: Contact, operation: 'create' | 'update', e: MemberError): ErrorRow => ({
      runId,
      at: now(),
      listId,
      email: c.email,
      subscriberHash: c.subscriberHash,
      distinctId: c.distinctId,
      operation,
      errorCode: e.code,
      error: e.message,
      field: e.field,
    });

    let created = 0;
    let updated = 0;
    let alreadyThere = 0;
    let errors = 0;
    let batchCalls = 0;
    let putCalls = 0;
    const updates: PlanEntry[] = plan.filter((e) => e.action === 'update');
    const creates = plan.filter((e) => e.action === 'create');
    for (let i = 0; i < creates.length; i += BATCH_SIZE) {
      const chunk = creates.slice(i, i + BATCH_SIZE);
      const reply = await client.batchCreate(
        listId,
        chunk.map((e) => ({ email: e.contact.email, status: config.statusIfNew, fname: e.contact.fname, lname: e.contact.lname })),
      );
      batchCalls++;
      const entries = new Map(chunk.map((e) => [e.contact.email, e]));
      const stateRows: StateRow[] = [];
      const errorRows: ErrorRow[] = [];
      for (const m of [...reply.created, ...reply.updated]) {
        const e = entries.get(normaliseEmail(m.email));
        if (e === undefined) continue;
        stateRows.push(stateRowOf(e.contact, e.payloadHash, m.status));
        created++;
      }
      for (const err of reply.errors) {
        const e = entries.get(normaliseEmail(err.email));
        if (e === undefined) continue;
        if (err.code === 'ERROR_CONTACT_EXISTS') {
          // Already in the audience (added elsewhere): keep its status, send the merge fields with PUT.
          alreadyThere++;
          updates.push({ ...e, action: 'update', reason: 'already in Mailchimp' });
        } else {
          errors++;
          errorRows.push(errorRow(e.contact, 'create', err));
        }
      }
      await committer.add(stateRows, errorRows);
    }

    await pool(updates, MAX_CONCURRENT, async (e) => {
      const reply = await client.putMember(listId, e.contact.subscriberHash, {
        email: e.contact.email,
        fname: e.contact.fname,
        lname: e.contact.lname,
        statusIfNew: config.statusIfNew,
      });
      putCalls++;
      if ('status' in reply) {
        updated++;
        await committer.add([stateRowOf(e.contact, e.payloadHash, reply.status)], []);
      } else {
        errors++;
        await committer.add([], [errorRow(e.contact, 'update', reply)]);
      }
    });
    await committer.add([], []);
    if (committer.commits > 0) await compactState(stateTable);
    hooks.out(
      `done: created ${created} in ${batchCalls} batch call${batchCalls === 1 ? '' : 's'}, updated ${updated}` +
        `${alreadyThere > 0 ? ` (${alreadyThere} were already in Mailchimp)` : ''}, ${errors} member error${errors === 1 ? '' : 's'}` +
        `${errors > 0 ? ` (rows in ${location}/${ERRORS_DEF.name})` : ''}; ${client.stats.retries} retries`,
    );
    return { ...result, created, updated, alreadyThere, errors, batchCalls, putCalls };
  } finally {
    await lock.release();
  }
}
