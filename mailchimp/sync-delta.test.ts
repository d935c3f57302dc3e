/**
 * The sync on Delta tables (issue 16 Deliver 1, issue 19 Deliver 2):
 * - it never writes a table it did not create, and never reads profiles from a table that is not the runner's
 *   engage table: exit 2 saying what it found, before any Mailchimp call, the lakehouse unchanged byte for byte;
 * - two syncs of one audience never interleave their commits (txn), syncs of two audiences share the tables;
 * - against an `s3://` lakehouse on s3rver it gives the same state table as against a local folder;
 * - SIGKILL between a data file and its commit leaves nothing visible, and the re-run equals a clean run.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lakehouseOnStore, LocalStore, openLakehouse } from '../lakehouse/index.js';
import { startS3rver, type S3rverHandle } from '../lakehouse/testing/servers.js';
import { OWNER_KEYS as RUNNER_OWNER_KEYS, RUNNER_WRITER as RUNNER_WRITER_NAME } from '../runner/index.js';
import { startMailchimpEmulator, type MailchimpEmulator } from './emulator/index.js';
import { OWNER_KEYS, RUNNER_WRITER } from './sync-owner.js';
import { acquireSyncLock } from './sync-lock.js';
import { SyncTable } from './sync-table.js';
import { compactState, ERRORS_DEF, readState, STATE_DEF, stateColumns, type StateRow } from './tables.js';
import { downloadTable, duck, engageLake, logActions, scan, sync, type Lake, type SeedProfile } from './testing.js';

const CHILD = fileURLToPath(new URL('./testing/sync-child.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./__fixtures__/legacy-sync-tables/', import.meta.url));
const ROOT = path.resolve(path.dirname(CHILD), '..', '..');

/** 520 people: one full batch of 500 and one of 20. */
function profiles(): SeedProfile[] {
  return Array.from({ length: 520 }, (_, i) => ({ id: `u${i}`, props: { $email: `user${i}@example.com`, $name: `First${i} Last${i}` } }));
}

let lake: Lake;
let s3: S3rverHandle;
const emulators: MailchimpEmulator[] = [];

beforeAll(async () => {
  [lake, s3] = await Promise.all([engageLake(profiles()), startS3rver({ enforceIfNoneMatch: true })]);
  expect((await lake.ingest()).tables[0]!.status).toBe('ok');
}, 60_000);
afterAll(async () => {
  await Promise.all([lake?.close(), s3?.close()]);
});
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

async function mailchimp(): Promise<MailchimpEmulator> {
  const mc = await startMailchimpEmulator();
  emulators.push(mc);
  return mc;
}

/** Every file under `dir` with its SHA-256. */
async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return out;
}

/** The state table's rows without the sync time, sorted. */
async function stateRows(lakehouse: string): Promise<unknown[]> {
  return duck(`SELECT list_id, email, subscriber_hash, payload_hash, mailchimp_status, distinct_id FROM ${await scan(lakehouse, 'mailchimp_sync_state')} ORDER BY email`);
}

function members(mc: MailchimpEmulator): [string, string, string, string][] {
  return [...mc.list('list1').members.values()].map((m) => [m.email, m.status, m.mergeFields['FNAME'] ?? '', m.mergeFields['LNAME'] ?? ''] as [string, string, string, string]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

describe('a table the sync did not create', () => {
  it('agrees with the runner on the owner property keys', () => {
    expect(OWNER_KEYS).toBe(RUNNER_OWNER_KEYS); // one vocabulary (lakehouse/owners.ts), not two copies
    expect(RUNNER_WRITER).toBe(RUNNER_WRITER_NAME);
  });

  it.each([
    {
      what: 'a runner table that arrived under the name mailchimp_sync_state',
      arrange: async (lakehouse: string) => cp(path.join(lakehouse, 'engage'), path.join(lakehouse, 'mailchimp_sync_state'), { recursive: true }),
      code: 'MAILCHIMP_TABLE_NOT_OURS',
      says: 'mailchimp_sync_state is a table written by the runner (source table engage of source mixpanel for connection mixpanel); mailchimp-sync writes only tables it created, so it wrote nothing. Fix: move that table out of the way',
    },
    {
      what: 'a runner table under a sync name that also holds an earlier release\'s sync log (nothing in it is converted or deleted)',
      arrange: async (lakehouse: string) => {
        await cp(path.join(lakehouse, 'engage'), path.join(lakehouse, 'mailchimp_sync_state'), { recursive: true });
        await cp(path.join(FIXTURE, 'mailchimp_sync_state'), path.join(lakehouse, 'mailchimp_sync_state'), { recursive: true });
      },
      code: 'MAILCHIMP_TABLE_NOT_OURS',
      says: 'mailchimp_sync_state is a table written by the runner (source table engage',
    },
    {
      what: 'a Delta table another engine created as mailchimp_sync_errors',
      arrange: async (lakehouse: string) => {
        const table = lakehouseOnStore(new LocalStore(lakehouse)).table('mailchimp_sync_errors');
        await table.commit({ readVersion: -1, operation: 'CREATE TABLE', add: [], remove: [], metadata: { schema: ERRORS_DEF.schema, partitionColumns: [], configuration: {} } });
      },
      code: 'MAILCHIMP_TABLE_NOT_OURS',
      says: 'mailchimp_sync_errors is a Delta table that mixpanel-lakeflow did not create (no mixpanelLakeflow.writer property)',
    },
    {
      what: 'an engage table that is not the runner\'s engage table',
      arrange: async (lakehouse: string) => {
        await rename(path.join(lakehouse, 'engage'), path.join(lakehouse, 'engage_moved'));
        const table = lakehouseOnStore(new LocalStore(lakehouse)).table('engage');
        await table.commit({ readVersion: -1, operation: 'CREATE TABLE', add: [], remove: [], metadata: { schema: STATE_DEF.schema, partitionColumns: [], configuration: { [OWNER_KEYS.writer]: 'mailchimp-sync' } } });
      },
      code: 'MAILCHIMP_ENGAGE_NOT_RUNNER',
      says: "engage is a table written by mailchimp-sync (mixpanelLakeflow.writer = mailchimp-sync), not the runner's engage table",
    },
    {
      what: 'an engage table still in an earlier release\'s layout',
      arrange: async (lakehouse: string) => {
        await rm(path.join(lakehouse, 'engage'), { recursive: true });
        await mkdir(path.join(lakehouse, 'engage', '_lakeflow_log'), { recursive: true });
        await writeFile(path.join(lakehouse, 'engage', '_lakeflow_log', '00000000000000000000.json'), '{"format":1,"version":0,"add":[],"remove":[]}');
      },
      code: 'MAILCHIMP_ENGAGE_NOT_CONVERTED',
      says: "/engage is in an earlier release's layout (_lakeflow_log); convert it to Delta Lake first with `mixpanel-lakeflow migrate`",
    },
    {
      what: 'an engage data file missing from storage',
      arrange: async (lakehouse: string) => {
        const file = (await readdir(path.join(lakehouse, 'engage'))).find((f) => f.endsWith('.parquet'))!;
        await rm(path.join(lakehouse, 'engage', file));
      },
      code: 'MAILCHIMP_ENGAGE_FILES_LOST',
      exit: 1,
      says: 'live data file(s) are missing from storage or changed size',
      prefix: false,
    },
  ])('$what: exit 2 (1 for lost files) saying what it found and the fix, no Mailchimp call, the lakehouse unchanged', async (c) => {
    expect.hasAssertions();
    const mc = await mailchimp();
    const { lakehouse } = await lake.copy();
    await c.arrange(lakehouse);
    const before = await hashes(lakehouse);
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(c.exit ?? 2);
    expect(run.stderr).toContain(c.prefix === false ? `error [${c.code}]: ${lakehouse}/engage: ` : `error [${c.code}]: --lakehouse ${lakehouse}: `);
    expect(run.stderr).toContain(c.says);
    expect(mc.log).toEqual([]);
    expect(await hashes(lakehouse)).toEqual(before);
  });
});

describe('one sync per audience', () => {
  it('a second sync of an audience on this host while one runs exits 1 naming the holder, and sends nothing', async () => {
    expect.hasAssertions();
    const mc = await mailchimp();
    const { lakehouse } = await lake.copy();
    const held = await openLakehouse(lakehouse, { env: {} });
    const lease = await acquireSyncLock(held, 'list1', 'the-other-run', { debug() {}, info() {}, warn() {}, error() {} });
    try {
      const run = await sync(mc, { lakehouse });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`error [MAILCHIMP_SYNC_LOCKED]: another mailchimp-sync of audience list1 into ${lakehouse} is running (pid ${process.pid}`);
      expect(run.stderr).toContain('run the-other-run');
      expect(mc.log).toEqual([]);
      // Another audience is not held up.
      expect((await sync(mc, { lakehouse, list: 'list2', dryRun: true })).stderr).not.toContain('MAILCHIMP_SYNC_LOCKED');
    } finally {
      await lease.release();
      await held.close();
    }
    expect((await sync(mc, { lakehouse, dryRun: true })).code).toBe(0);
  });
});

describe('commits of the sync tables', () => {
  const row = (listId: string, email: string, payloadHash = 'p'): StateRow => ({ listId, email, subscriberHash: 'h', payloadHash, lastSyncedAt: 1, status: 'pending', distinctId: null });

  it('appends are replayed in commit order (the newest row of an email wins), and compaction keeps exactly those rows', async () => {
    expect.hasAssertions();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mailchimp-order-'));
    try {
      const lakehouse = lakehouseOnStore(new LocalStore(dir));
      const table = await SyncTable.open({ lakehouse, listId: 'list1', runId: 'r1' }, STATE_DEF);
      // Six commits for one email (data file names are random, so only the commit order can tell them apart).
      for (let n = 1; n <= 6; n++) await table.append(stateColumns([row('list1', 'a@x.io', `p${n}`), row('list1', `only${n}@x.io`)]));
      await table.append(stateColumns([row('list2', 'a@x.io', 'other-list')]));
      const reopened = await SyncTable.open({ lakehouse, listId: 'list1', runId: 'r2' }, STATE_DEF);
      expect((await readState(reopened, 'list1')).rows.get('a@x.io')?.payloadHash).toBe('p6');
      await compactState(reopened);
      expect(await duck(`SELECT list_id, email, payload_hash FROM ${await scan(dir, 'mailchimp_sync_state')} ORDER BY list_id, email`)).toEqual([
        { list_id: 'list1', email: 'a@x.io', payload_hash: 'p6' },
        ...[1, 2, 3, 4, 5, 6].map((n) => ({ list_id: 'list1', email: `only${n}@x.io`, payload_hash: 'p' })),
        { list_id: 'list2', email: 'a@x.io', payload_hash: 'other-list' },
      ]);
      expect((await logActions(dir, 'mailchimp_sync_state', 'commitInfo')).at(-1)).toMatchObject({ operation: 'REPLACE' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a second sync of the same audience is stopped at its commit; another audience\'s sync shares the table', async () => {
    expect.hasAssertions();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mailchimp-txn-'));
    try {
      const lakehouse = lakehouseOnStore(new LocalStore(dir));
      const open = (listId: string) => SyncTable.open({ lakehouse, listId, runId: randomUUID() }, STATE_DEF);
      const [a, b, other] = [await open('list1'), await open('list1'), await open('list2')];
      await a.append(stateColumns([row('list1', 'a@x.io')]));
      const refused = await b.append(stateColumns([row('list1', 'b@x.io')])).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'MAILCHIMP_CONCURRENT_SYNC', retryable: true });
      expect((refused as Error).message).toContain('another mailchimp-sync of audience list1 committed to this table');
      await other.append(stateColumns([row('list2', 'c@x.io')]));
      await a.append(stateColumns([row('list1', 'd@x.io')]));
      expect(await duck(`SELECT list_id, email FROM ${await scan(dir, 'mailchimp_sync_state')} ORDER BY email`)).toEqual([
        { list_id: 'list1', email: 'a@x.io' },
        { list_id: 'list2', email: 'c@x.io' },
        { list_id: 'list1', email: 'd@x.io' },
      ]);
      expect((await logActions(dir, 'mailchimp_sync_state', 'txn')).map((t) => [t['appId'], t['version']])).toEqual([
        ['mailchimp-sync/list1/mailchimp_sync_state', 0],
        ['mailchimp-sync/list2/mailchimp_sync_state', 0],
        ['mailchimp-sync/list1/mailchimp_sync_state', 1],
      ]);
      // b's data file was deleted: only the three committed files are on disk.
      expect((await readdir(path.join(dir, 'mailchimp_sync_state'))).filter((f) => f.endsWith('.parquet'))).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('engage as SCD type 2', () => {
  it('only the current version of each profile is read', async () => {
    expect.hasAssertions();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mailchimp-scd2-'));
    try {
      const dirs = { lakehouse: path.join(dir, 'lakehouse'), state: path.join(dir, 'state') };
      expect((await lake.ingest(dirs, { scd_type: 'SCD_TYPE_2' })).tables[0]!.status).toBe('ok');
      lake.clock += 60 * 60_000;
      lake.mixpanel.data.setProfile('u7', { $email: 'user7@example.com', $name: 'Seven Renamed' });
      try {
        expect((await lake.ingest(dirs, { scd_type: 'SCD_TYPE_2' })).tables[0]!.status).toBe('ok');
      } finally {
        lake.mixpanel.data.setProfile('u7', { $email: 'user7@example.com', $name: 'First7 Last7' });
      }
      const [history] = await duck(`SELECT count(*)::INT n, count(*) FILTER (WHERE __end_at IS NULL)::INT live FROM ${await scan(dirs.lakehouse, 'engage')} WHERE distinct_id = 'u7'`);
      expect(history).toEqual({ n: 2, live: 1 });
      const run = await sync(await mailchimp(), { lakehouse: dirs.lakehouse, dryRun: true });
      expect([run.code, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toContain('520 profiles, 520 selected');
      expect(await duck(`SELECT fname, lname FROM ${await scan(dirs.lakehouse, 'mailchimp_sync_plan')} WHERE email = 'user7@example.com'`)).toEqual([{ fname: 'Seven', lname: 'Renamed' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('object stores', () => {
  it('a sync into s3:// (s3rver) gives the same state table and audience as one into a local folder', async () => {
    expect.hasAssertions();
    const location = `s3://${s3.bucket}/lake-${randomUUID()}`;
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mailchimp-s3-state-'));
    const download = await mkdtemp(path.join(os.tmpdir(), 'mailchimp-s3-copy-'));
    try {
      expect((await lake.ingest({ lakehouse: location, state: stateDir, env: s3.env })).tables[0]!.status).toBe('ok');
      const remote = await mailchimp();
      const local = await mailchimp();
      const { lakehouse } = await lake.copy();
      const onS3 = await sync(remote, { lakehouse: location, env: { MAILCHIMP_API_KEY: remote.apiKey, MAILCHIMP_BASE_URL: remote.url, ...s3.env } });
      expect([onS3.code, onS3.stderr]).toEqual([0, '']);
      expect((await sync(local, { lakehouse })).code).toBe(0);
      expect(onS3.result?.created).toBe(520);
      expect(members(remote)).toEqual(members(local));

      const store = await openLakehouse(location, { env: s3.env });
      try {
        await downloadTable(store, 'mailchimp_sync_state', download);
      } finally {
        await store.close();
      }
      const remoteRows = await stateRows(download);
      expect(remoteRows).toHaveLength(520);
      expect(remoteRows).toEqual(await stateRows(lakehouse));
      expect((await logActions(download, 'mailchimp_sync_state', 'metaData'))[0]).toMatchObject({ configuration: { [OWNER_KEYS.writer]: 'mailchimp-sync' } });
      // Credentials from the environment only: a missing key fails before any Mailchimp call, naming --lakehouse.
      const noCreds = await mailchimp();
      const refused = await sync(noCreds, { lakehouse: location, env: { MAILCHIMP_API_KEY: noCreds.apiKey, MAILCHIMP_BASE_URL: noCreds.url, AWS_ENDPOINT_URL: s3.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' } });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--lakehouse');
      expect(noCreds.log).toEqual([]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await rm(download, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('crash safety', () => {
  it('SIGKILL between a data file and its commit leaves nothing visible; the re-run equals a clean run', async () => {
    expect.hasAssertions();
    const mc = await mailchimp();
    const { lakehouse } = await lake.copy();
    // Commit 1: batch 1's 500 rows. Commit 2 (batch 2's 20 rows): killed after its data file is written.
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, lakehouse, 'list1', mc.url, mc.apiKey, '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((done) => child.on('close', (_code, s) => done(s)));
    expect(signal).toBe('SIGKILL');
    expect(stderr).not.toMatch(/error/i);
    expect(stdout).toContain('{"killing":"mailchimp_sync_state","commit":2}');
    expect(mc.log.filter((c) => c.kind === 'batch').map((c) => c.members)).toEqual([500, 20]);

    const [visible] = await duck(`SELECT count(*)::INT n FROM ${await scan(lakehouse, 'mailchimp_sync_state')}`);
    expect(visible).toEqual({ n: 500 });
    const files = (await readdir(path.join(lakehouse, 'mailchimp_sync_state'))).filter((f) => f.endsWith('.parquet'));
    expect(files).toHaveLength(2); // the committed file and the orphan no reader sees
    expect(await logActions(lakehouse, 'mailchimp_sync_state', 'add')).toHaveLength(1);

    const rerun = await sync(mc, { lakehouse });
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('20 were already in Mailchimp');
    const clean = await mailchimp();
    const { lakehouse: cleanLake } = await lake.copy();
    expect((await sync(clean, { lakehouse: cleanLake })).code).toBe(0);
    expect(await stateRows(lakehouse)).toEqual(await stateRows(cleanLake));
    expect(members(mc)).toEqual(members(clean));
    expect(mc.statusChanges).toEqual([]);
  }, 60_000);
});
