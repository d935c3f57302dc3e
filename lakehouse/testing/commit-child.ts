/**
 * A writer in its own process, for the concurrency and SIGKILL tests (started with tsx).
 *
 *   commit-child.ts race <root> <appId> <rounds>
 *     Per round: wait for a `plan` line, take a fresh snapshot, plan a blind append with txn version = table's txn for appId + 1,
 *     print `{"ready":round}`, wait for a `go` line on stdin, commit, print the outcome. Two of these started
 *     together race on the same version every round.
 *   commit-child.ts loop <root> <appId> <total>
 *     Resume from the table's txn for appId and commit txn versions up to total - 1, one file each, printing
 *     `{"committing":n}` before and `{"committed":n,"version":v}` after every commit. The clock runs 40 days
 *     ahead and the checkpoint interval is 5, so checkpoints and log cleanups happen all the time.
 * The table is `events` under <root>.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { isCommitConflict, lakehouseOnStore } from '../index.js';
import { LocalStore } from '../storage/local.js';
import { EVENTS_METADATA, fakeAdd } from './tables.js';

const [mode, root, appId, countText] = process.argv.slice(2);
if (!mode || !root || !appId || !countText) throw new Error('usage: commit-child.ts race|loop <root> <appId> <count>');
const count = Number(countText);
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

async function race(): Promise<void> {
  const table = lakehouseOnStore(new LocalStore(root as string)).table('events');
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  for (let round = 0; round < count; round++) {
    // Plan only when told: both writers then plan on the same version.
    if ((await lines.next()).done) return;
    const snapshot = await table.snapshot();
    if (!snapshot) throw new Error('create the table first');
    const txnVersion = (snapshot.txns.get(appId as string)?.version ?? -1) + 1;
    const file = `${appId}-r${round}-${randomUUID()}.parquet`;
    print({ ready: round });
    const go = await lines.next();
    if (go.done) return;
    try {
      const result = await table.commit({ readVersion: snapshot.version, operation: 'WRITE', add: [fakeAdd(file)], remove: [], txn: { appId: appId as string, version: txnVersion }, info: { cursor: txnVersion } });
      print({ round, ok: true, file, txnVersion, ...result });
    } catch (error) {
      if (!isCommitConflict(error)) throw error;
      print({ round, ok: false, file, txnVersion, reason: error.reason });
    }
  }
}

async function loop(): Promise<void> {
  const clock = (): number => Date.now() + 40 * 24 * 60 * 60 * 1000;
  const table = lakehouseOnStore(new LocalStore(root as string), { now: clock, checkpointInterval: 5 }).table('events');
  const snapshot = await table.snapshot();
  let readVersion = snapshot?.version ?? -1;
  for (let n = (snapshot?.txns.get(appId as string)?.version ?? -1) + 1; n < count; n++) {
    print({ committing: n });
    const result = await table.commit({
      readVersion,
      operation: 'WRITE',
      add: [fakeAdd(`f-${n}-${randomUUID()}.parquet`)],
      remove: [],
      txn: { appId: appId as string, version: n },
      info: { cursor: { n } },
      ...(readVersion < 0 ? { metadata: { ...EVENTS_METADATA, configuration: { 'delta.logRetentionDuration': 'interval 1 days' } } } : {}),
    });
    print({ committed: n, version: result.version });
    readVersion = result.version;
  }
}

await (mode === 'race' ? race() : loop());
