/**
 * Sync tables of the release before Delta Lake (mailchimp/__fixtures__/legacy-sync-tables, written by that release)
 * are converted to Delta on first use: nothing is lost, the append order survives (the later of two live parts
 * wins for one@x.io), a committed-but-unpublished newest part is read from its staging folder, and the next sync
 * plans from the converted state without asking Mailchimp. A log that disagrees with its files changes nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMailchimpEmulator, type MailchimpEmulator } from './emulator/index.js';
import { hashOf } from './emulator/store.js';
import { duck, engageLake, logActions, scan, sync, tableProperties, type Lake, type Row } from './testing.js';

const FIXTURE = fileURLToPath(new URL('./__fixtures__/legacy-sync-tables/', import.meta.url));
const TABLES = ['mailchimp_sync_state', 'mailchimp_sync_errors', 'mailchimp_sync_plan'] as const;
/** The live parts of the fixture's newest commit records (see its README). */
const LIVE = {
  mailchimp_sync_state: ['part-00000000000000000002-dce1d53b.parquet', 'part-00000000000000000003-eaaf3e0a.parquet'],
  mailchimp_sync_errors: ['part-00000000000000000000-cf08035f.parquet', 'part-00000000000000000001-4770f616.parquet', 'part-00000000000000000002-b5bf39a3.parquet'],
  mailchimp_sync_plan: ['part-00000000000000000000-45957f10.parquet'],
} as const;
/** payload_hash of one@x.io in state part 3 (One Third) and part 2 (One Second). */
const ONE_THIRD = 'e6c307080fd305e6e08e54cc168d3d19';

let lake: Lake;
let mc: MailchimpEmulator | undefined;

beforeAll(async () => {
  // engage as it is after the fixture's runs: u1 renamed twice, u2 renamed once (that PUT never landed).
  lake = await engageLake([
    { id: 'u1', props: { $email: 'one@x.io', $name: 'One Third' } },
    { id: 'u2', props: { $email: 'two@x.io', $name: 'Two Second' } },
    { id: 'u3', props: { $email: 'three@x.io', $name: 'Three First' } },
    { id: 'u4', props: { $email: 'four@x.io', $name: 'Four First' } },
    { id: 'u5', props: { $email: 'bad@x.io', $name: 'Bad Address' } },
  ]);
  expect((await lake.ingest()).tables[0]!.status).toBe('ok');
});
afterAll(async () => {
  await lake.close();
});
afterEach(async () => {
  await mc?.close();
  mc = undefined;
});

async function withLegacyTables(): Promise<string> {
  const { lakehouse } = await lake.copy();
  for (const table of TABLES) await cp(path.join(FIXTURE, table), path.join(lakehouse, table), { recursive: true });
  return lakehouse;
}

/** Rows of a DuckDB table expression as sorted JSON, read by DuckDB. */
async function rowsOf(from: string): Promise<string[]> {
  const rows = await duck(`SELECT * FROM ${from}`);
  return rows.map((r: Row) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))))).sort();
}

function oldParts(lakehouse: string, table: (typeof TABLES)[number]): string {
  return `read_parquet([${LIVE[table].map((f) => `'${path.join(lakehouse, table, f)}'`).join(', ')}])`;
}

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return out;
}

describe('earlier releases\' sync tables', () => {
  it('are converted losslessly on first use (newest part from staging too), and the sync plans from them without reconciling', async () => {
    expect.hasAssertions();
    const lakehouse = await withLegacyTables();
    const before = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await rowsOf(oldParts(lakehouse, t))] as const)));
    expect(before.mailchimp_sync_state).toHaveLength(5);
    expect(before.mailchimp_sync_errors).toHaveLength(3);
    expect(before.mailchimp_sync_plan).toHaveLength(5);
    // The newest state record was committed but never published: its part is still in the old staging folder.
    const staged = path.join(lakehouse, '_lakeflow_staging', 'mailchimp_sync_state', '3', 'data');
    await mkdir(staged, { recursive: true });
    await rename(path.join(lakehouse, 'mailchimp_sync_state', LIVE.mailchimp_sync_state[1]), path.join(staged, LIVE.mailchimp_sync_state[1]));

    // A dry run converts and writes only the plan; what it reads is the converted state.
    mc = await startMailchimpEmulator();
    const dry = await sync(mc, { lakehouse, dryRun: true });
    expect(dry.code).toBe(0);
    expect(dry.stdout).not.toContain('reconciled');
    expect(dry.result?.planned).toEqual({ create: 1, update: 1, skip: 3 });
    for (const table of TABLES) {
      expect(existsSync(path.join(lakehouse, table, '_lakeflow_log'))).toBe(false);
      expect((await readdir(path.join(lakehouse, table))).filter((f) => f.startsWith('part-0000000000000000'))).toEqual([]);
      expect(await tableProperties(lakehouse, table)).toMatchObject({ 'mixpanelLakeflow.writer': 'mailchimp-sync' });
      expect((await logActions(lakehouse, table, 'commitInfo'))[0]).toMatchObject({ operation: 'CONVERT' });
    }
    expect(existsSync(path.join(lakehouse, '_lakeflow_staging', 'mailchimp_sync_state'))).toBe(false);
    expect(await rowsOf(await scan(lakehouse, 'mailchimp_sync_state'))).toEqual(before.mailchimp_sync_state);
    expect(await rowsOf(await scan(lakehouse, 'mailchimp_sync_errors'))).toEqual(before.mailchimp_sync_errors);
    const plan = await duck(`SELECT email, action FROM ${await scan(lakehouse, 'mailchimp_sync_plan')} ORDER BY email`);
    expect(plan).toEqual([
      { email: 'bad@x.io', action: 'create' },
      { email: 'four@x.io', action: 'skip' },
      { email: 'one@x.io', action: 'skip' },
      { email: 'three@x.io', action: 'skip' },
      { email: 'two@x.io', action: 'update' },
    ]);

    // The real run, against an empty audience: only what the converted state says is new or changed is sent.
    // (Lost state would create all five; the older part winning would PUT one@x.io.)
    mc.reject('bad@x.io', 'bad@x.io looks fake or invalid, please enter a real email address.');
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(0);
    expect(mc.log.filter((c) => c.kind === 'batch').map((c) => c.members)).toEqual([1]);
    expect(mc.log.filter((c) => c.kind === 'put').map((c) => c.path)).toEqual([`/3.0/lists/list1/members/${hashOf('two@x.io')}`]);
    const state = await duck(`SELECT email, payload_hash FROM ${await scan(lakehouse, 'mailchimp_sync_state')} ORDER BY email`);
    expect(state.map((r) => r['email'])).toEqual(['four@x.io', 'one@x.io', 'three@x.io', 'two@x.io']);
    expect(state.find((r) => r['email'] === 'one@x.io')?.['payload_hash']).toBe(ONE_THIRD);
    const [errors] = await duck(`SELECT count(*)::INT n, count(DISTINCT run_id)::INT runs FROM ${await scan(lakehouse, 'mailchimp_sync_errors')} WHERE email = 'bad@x.io'`);
    expect(errors).toEqual({ n: 4, runs: 4 });
  });

  it('a crash between the Delta commit and the cleanup leaves leftovers the next run deletes, without converting twice', async () => {
    expect.hasAssertions();
    const lakehouse = await withLegacyTables();
    mc = await startMailchimpEmulator();
    expect((await sync(mc, { lakehouse, dryRun: true })).code).toBe(0);
    const converted = await rowsOf(await scan(lakehouse, 'mailchimp_sync_errors'));
    // Put the old log and parts back, as if the process died right after the CONVERT commit.
    await cp(path.join(FIXTURE, 'mailchimp_sync_errors'), path.join(lakehouse, 'mailchimp_sync_errors'), { recursive: true });
    expect((await sync(mc, { lakehouse, dryRun: true })).code).toBe(0);
    expect(existsSync(path.join(lakehouse, 'mailchimp_sync_errors', '_lakeflow_log'))).toBe(false);
    expect((await readdir(path.join(lakehouse, 'mailchimp_sync_errors'))).filter((f) => f.startsWith('part-0000000000000000'))).toEqual([]);
    expect(await rowsOf(await scan(lakehouse, 'mailchimp_sync_errors'))).toEqual(converted);
    expect((await logActions(lakehouse, 'mailchimp_sync_errors', 'commitInfo')).map((c) => c['operation'])).toEqual(['CONVERT']);
  });

  it.each([
    {
      name: 'a table whose old log has runner commits (a destination named like a sync table)',
      code: 'MAILCHIMP_TABLE_NOT_OURS',
      exit: 2,
      says: 'mailchimp_sync_state is an earlier release\'s table with 1 of 4 commit(s) written by mixpanel-lakeflow-runner (source table events), not by mailchimp-sync; mailchimp-sync converts and writes only tables it created, so it changed nothing. Fix: ',
      break: async (table: string) => {
        const log = path.join(table, '_lakeflow_log', '00000000000000000000.json');
        await writeFile(log, (await readFile(log, 'utf8')).replace('"appId": "mixpanel-lakeflow-mailchimp-sync"', '"appId": "mixpanel-lakeflow-runner"').replace('"sourceTable": "mailchimp_sync_state"', '"sourceTable": "events"'));
      },
    },
    {
      name: 'a log that counts other rows than its files hold',
      code: 'MAILCHIMP_LEGACY_ROW_COUNT',
      break: async (table: string) => {
        const log = path.join(table, '_lakeflow_log', '00000000000000000003.json');
        await writeFile(log, (await readFile(log, 'utf8')).replace('"rows": 1', '"rows": 2'));
      },
    },
    {
      name: 'a live part that is gone',
      code: 'MAILCHIMP_LEGACY_FILE_MISSING',
      break: async (table: string) => {
        await rename(path.join(table, LIVE.mailchimp_sync_state[0]), path.join(table, '..', 'moved-away.parquet'));
      },
    },
  ])('$name: refused naming the fix, before any Mailchimp call; the old table is left as it was', async (c) => {
    expect.hasAssertions();
    const lakehouse = await withLegacyTables();
    const table = path.join(lakehouse, 'mailchimp_sync_state');
    await c.break(table);
    const before = await hashes(table);
    mc = await startMailchimpEmulator();
    const run = await sync(mc, { lakehouse });
    expect(run.code).toBe(c.exit ?? 1);
    expect(run.stderr).toContain(`error [${c.code}]`);
    expect(run.stderr).toContain(c.says ?? 'nothing was changed. Fix: ');
    expect(mc.log).toEqual([]);
    expect(await hashes(table)).toEqual(before);
    expect(existsSync(path.join(table, '_delta_log'))).toBe(false);
  });
});
