/**
 * `mixpanel-lakeflow mailchimp-sync`: push the lakehouse `engage` table into a Mailchimp audience — only new or
 * changed contacts, never a status change for an existing member. `--lakehouse` takes every location the runner
 * does (a folder, s3://, az://, abfss://); the sync's own tables are Delta tables it owns. Exit codes: 0 ok, 1 failure, 2 configuration
 * (flags, environment, credentials, unknown audience), 3 finished but Mailchimp rejected some members
 * (rows in `mailchimp_sync_errors`).
 */
import type { Writable } from 'node:stream';
import { isConnectorError } from '../connector-spec/index.js';
import type { RetryPolicy } from './client.js';
import { syncConfig } from './config.js';
import { syncAudience, type SyncResult } from './sync.js';

export { syncAudience } from './sync.js';
export type { SyncResult } from './sync.js';
export { selectContacts, isValidEmail, namesOf, subscriberHash, normaliseEmail } from './contacts.js';
export { STATE_TABLE, ERRORS_TABLE, PLAN_TABLE } from './tables.js';
export { SYNC_WRITER } from './sync-owner.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
/** Issue 12: per-member rejections are data, not a failed run: exit 0 with a warning count (and the errors table). */
export const EXIT_MEMBER_ERRORS = 0;

export interface MailchimpSyncOptions {
  readonly lakehouse: string;
  readonly list: string;
  readonly where?: string;
  readonly dryRun?: boolean;
  readonly statusIfNew?: 'pending' | 'subscribed';
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Tests: faster backoff. */
  readonly retry?: RetryPolicy;
  /** Tests: receives the run's result. */
  readonly onResult?: (result: SyncResult) => void;
  /** Tests: runs after a commit's data file is written and before the commit (crash tests kill the process here). */
  readonly beforeCommit?: (table: string) => Promise<void> | void;
}

export async function runMailchimpSync(options: MailchimpSyncOptions): Promise<number> {
  const out = (line: string) => options.stdout.write(`${line}\n`);
  const warn = (line: string) => options.stderr.write(`${line}\n`);
  try {
    const config = syncConfig({
      lakehouse: options.lakehouse,
      list: options.list,
      where: options.where,
      dryRun: options.dryRun,
      statusIfNew: options.statusIfNew,
      env: options.env,
    });
    const result = await syncAudience(config, {
      out,
      warn,
      env: options.env,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
    });
    options.onResult?.(result);
    if (result.errors > 0) {
      warn(`warning: Mailchimp rejected ${result.errors} member${result.errors === 1 ? '' : 's'}; see the mailchimp_sync_errors table`);
      return EXIT_MEMBER_ERRORS;
    }
    return EXIT_OK;
  } catch (error) {
    if (isConnectorError(error)) {
      warn(`error [${error.code}]: ${error.message}`);
      return error.kind === 'config' || error.kind === 'auth' ? EXIT_CONFIG : EXIT_FAILURE;
    }
    warn(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  }
}
