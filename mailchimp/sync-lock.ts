/**
 * One sync per audience and lakehouse at a time on this host: a lease (connector-spec/lease) in the OS temp folder,
 * keyed by the lakehouse location and the audience id, so it works for object-store lakehouses too and puts
 * nothing into the lakehouse. A crashed holder's lease is taken over by the lease rules. Syncs on two hosts are
 * kept apart by the tables' `txn` instead (the second one's commit is refused, see sync-table.ts).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { TransientError, acquireLease, describeExpiry, describeHolder, type Lease, type Logger } from '../connector-spec/index.js';
import { LocalStore, type Lakehouse } from '../lakehouse/index.js';

export function syncLockFile(lakehouse: Lakehouse, listId: string, dir: string = os.tmpdir()): string {
  const where = lakehouse.store instanceof LocalStore ? lakehouse.store.root : lakehouse.displayUrl;
  const key = createHash('sha256').update(`${where}\u0000${listId}`).digest('hex').slice(0, 24);
  return path.join(dir, 'mixpanel-lakeflow-locks', `mailchimp-sync-${key}.lock`);
}

export function acquireSyncLock(lakehouse: Lakehouse, listId: string, runId: string, logger: Logger): Promise<Lease> {
  return acquireLease(syncLockFile(lakehouse, listId), {
    owner: runId,
    logger,
    heldError: (held) =>
      new TransientError(
        `another mailchimp-sync of audience ${listId} into ${lakehouse.displayUrl} is running (${describeHolder(held.holder)}); ${describeExpiry(held.holder)}. ` +
          'This run sent nothing to Mailchimp: run it again when the other one has finished',
        { code: 'MAILCHIMP_SYNC_LOCKED', context: { list: listId } },
      ),
  });
}
