/**
 * Issue 19 Acceptance: a table of wrong settings, each run through the real CLI (a child process) against one
 * emulator on loopback, on a copy of a lakehouse a good run wrote (events, engage, and profiles_history fed by
 * engage). Each case checks three things: exit 2 before any API call (the emulator's request log stays empty,
 * with credentials and data that would have answered), one line on stderr naming the key or flag and the fix,
 * and every file and folder of the case unchanged byte for byte (the lakehouse, the state folder, the spec).
 * Three settings that look odd but are fine must run: a spec with a UTF-8 BOM, `--tables events,events` (one
 * run of events) and `--tables engage` (every destination engage feeds).
 */
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { MAILCHIMP_SYNC_WRITER, OWNER_KEYS } from '../lakehouse/index.js';
import { runCli, type CliResult } from '../runner/testing/cli-child.js';
import { lines, mountReadOnly, mountTmpfs, printedReport, treeDigest, unmount } from './helpers/mistakes-cli.js';

const CONNECTION = 'mistakes';
const GOOD_SPEC = {
  connection_name: CONNECTION,
  objects: [
    { table: { source_table: 'events', table_configuration: { safety_lag: '0' } } },
    { table: { source_table: 'engage' } },
    { table: { source_table: 'engage', destination_table: 'profiles_history', table_configuration: { scd_type: 'SCD_TYPE_2' } } },
  ],
};
const TABLES = ['engage', 'events', 'profiles_history'];

let emulator: Emulator;
let root: string;
let template: string;
let baseEnv: Record<string, string>;

/** A case's own folder: a copy of the good lakehouse and state, plus whatever the case adds. */
interface CaseDirs {
  readonly dir: string;
  readonly lakehouse: string;
  readonly state: string;
  readonly spec: string;
}

async function caseDirs(name: string): Promise<CaseDirs> {
  const dir = path.join(root, 'cases', name.replace(/[^a-z0-9]+/gi, '-'));
  await mkdir(dir, { recursive: true });
  await cp(path.join(template, 'lakehouse'), path.join(dir, 'lakehouse'), { recursive: true });
  await cp(path.join(template, 'state'), path.join(dir, 'state'), { recursive: true });
  await writeFile(path.join(dir, 'spec.json'), JSON.stringify(GOOD_SPEC, null, 2));
  return { dir, lakehouse: path.join(dir, 'lakehouse'), state: path.join(dir, 'state'), spec: path.join(dir, 'spec.json') };
}

function runArgs(c: CaseDirs, over: { spec?: string; lakehouse?: string; state?: string } = {}): string[] {
  return ['run', '--spec', over.spec ?? c.spec, '--lakehouse', over.lakehouse ?? c.lakehouse, '--state', over.state ?? c.state, '--log-format', 'json'];
}

async function writeSpec(c: CaseDirs, name: string, spec: unknown): Promise<string> {
  const file = path.join(c.dir, name);
  await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  return file;
}

const withTable = (i: number, table: Record<string, unknown>) => ({ ...GOOD_SPEC, objects: GOOD_SPEC.objects.map((o, j) => (j === i ? { table } : o)) });

/** A Delta table another writer created (its first commit written by hand, as another engine would). */
async function foreignDeltaTable(lakehouse: string, name: string, configuration: Record<string, string>): Promise<void> {
  const log = path.join(lakehouse, name, '_delta_log');
  await mkdir(log, { recursive: true });
  const schema = { type: 'struct', fields: [{ name: 'email', type: 'string', nullable: true, metadata: {} }] };
  const actions = [
    { commitInfo: { timestamp: 1_780_000_000_000, operation: 'CREATE TABLE', engineInfo: 'another-engine' } },
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    { metaData: { id: '6f1c2a52-0d7e-4a55-9d0e-2d0f3e3c9a11', format: { provider: 'parquet', options: {} }, schemaString: JSON.stringify(schema), partitionColumns: [], configuration, createdTime: 1_780_000_000_000 } },
  ];
  await writeFile(path.join(log, '00000000000000000000.json'), `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`);
}

interface MistakeCase {
  readonly name: string;
  /** Arguments of the CLI (default: `run` with the good spec on the case's copies). */
  readonly args?: (c: CaseDirs) => Promise<string[]> | string[];
  /** Environment changes; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Prepares the case (before the digest); returns an undo step, or a reason to skip on this machine. */
  readonly setup?: (c: CaseDirs) => Promise<{ readonly undo?: () => void; readonly skip?: string } | void>;
  /** The key or flag, and the fix, each must appear in the one-line message. */
  readonly says: readonly RegExp[];
}

const CASES: readonly MistakeCase[] = [
  // --spec
  { name: '--spec names a missing file', args: (c) => runArgs(c, { spec: path.join(c.dir, 'nope.json') }), says: [/--spec \S*nope\.json/, /no such file; check the path/] },
  {
    name: '--spec is unreadable',
    setup: async (c) => {
      if (process.getuid?.() === 0) return { skip: 'running as root: chmod 000 does not stop root from reading' };
      await chmod(c.spec, 0o000);
      return { undo: () => void chmod(c.spec, 0o644) };
    },
    says: [/--spec/, /permissions/],
  },
  { name: '--spec is a folder', args: (c) => runArgs(c, { spec: c.dir }), says: [/--spec/, /it is a folder; pass the spec file itself/] },
  {
    name: 'the spec has two "objects" keys',
    args: async (c) =>
      runArgs(c, { spec: await writeSpec(c, 'dup.json', `{"connection_name":"${CONNECTION}","objects":[{"table":{"source_table":"events"}}],\n"objects":[{"table":{"source_table":"engage"}}]}`) }),
    says: [/dup\.json:2:1: objects: duplicate key \(first at line 1/, /merge the two or remove one/],
  },
  {
    name: 'the spec is YAML',
    args: async (c) => runArgs(c, { spec: await writeSpec(c, 'spec.yaml.json', `connection_name: ${CONNECTION}\nobjects:\n  - table:\n      source_table: events\n`) }),
    says: [/spec\.yaml\.json:1:1: this looks like YAML/, /must be JSON: rewrite it as \{/],
  },
  // --lakehouse, --state
  {
    name: '--lakehouse is a file',
    args: async (c) => runArgs(c, { lakehouse: await writeSpec(c, 'a-file', 'not a folder') }),
    says: [/--lakehouse \S*a-file/, /a file is in the way of the folder/],
  },
  {
    name: '--state is a file',
    args: async (c) => runArgs(c, { state: await writeSpec(c, 'a-file', 'not a folder') }),
    says: [/--state \S*a-file/, /a file is in the way: point --state at a folder/],
  },
  {
    name: 'the lakehouse is read-only',
    setup: async (c) => {
      if (process.getuid?.() !== 0) {
        await chmod(c.lakehouse, 0o555);
        return { undo: () => void chmod(c.lakehouse, 0o755) };
      }
      const refused = mountReadOnly(c.lakehouse);
      return refused !== undefined ? { skip: refused } : { undo: () => unmount(c.lakehouse) };
    },
    says: [/--lakehouse \S*lakehouse: cannot write a file in the folder/, /read-only file system: choose a writable folder|may not write to .*: fix its permissions/],
  },
  {
    name: 'the state disk is full',
    args: (c) => runArgs(c, { state: path.join(c.dir, 'small', 'state') }),
    setup: async (c) => {
      const small = path.join(c.dir, 'small');
      await mkdir(small);
      const refused = mountTmpfs(small, '64k');
      if (refused !== undefined) return { skip: refused };
      await cp(c.state, path.join(small, 'state'), { recursive: true });
      // Fill it: a write past the size fails with ENOSPC, which is the point.
      await writeFile(path.join(small, 'fill'), Buffer.alloc(128 * 1024)).catch(() => undefined);
      return { undo: () => unmount(small) };
    },
    says: [/--state \S*small\/state is not a writable folder \(ENOSPC\)/, /the disk is full: free space there, or point --state elsewhere/],
  },
  // destination tables
  {
    name: 'a 256-character destination_table',
    args: async (c) => runArgs(c, { spec: await writeSpec(c, 'long.json', withTable(1, { source_table: 'engage', destination_table: 'e'.repeat(256) })) }),
    says: [/objects\[1\]\.table\.destination_table: "e{40}…" is 256 characters long; the limit is 128/, /choose a shorter name/],
  },
  {
    name: 'destination_table "mailchimp_sync_state"',
    args: async (c) => runArgs(c, { spec: await writeSpec(c, 'reserved.json', withTable(1, { source_table: 'engage', destination_table: 'mailchimp_sync_state' })) }),
    says: [/objects\[1\]\.table\.destination_table: "mailchimp_sync_state" is reserved for the Mailchimp sync/, /choose another name/],
  },
  {
    // The first table is new and fine: without a check of every table up front, it would be read and written first.
    name: 'a destination table another connection wrote',
    args: async (c) =>
      runArgs(c, {
        spec: await writeSpec(c, 'other.json', {
          connection_name: 'another_connection',
          objects: [{ table: { source_table: 'engage', destination_table: 'engage_copy' } }, { table: { source_table: 'events', table_configuration: { safety_lag: '0' } } }],
        }),
      }),
    says: [/events was written for connection mistakes \(this run: another_connection\)/, /choose another destination_table at objects\[1\]\.table\.destination_table, or move the existing table away/],
  },
  {
    name: 'a destination table the Mailchimp sync created',
    setup: async (c) => foreignDeltaTable(c.lakehouse, 'audience', { [OWNER_KEYS.writer]: MAILCHIMP_SYNC_WRITER }),
    args: async (c) =>
      runArgs(c, {
        spec: await writeSpec(c, 'audience.json', { ...GOOD_SPEC, objects: [...GOOD_SPEC.objects, { table: { source_table: 'engage', destination_table: 'audience' } }] }),
      }),
    says: [/audience belongs to mailchimp-sync \(table property mixpanelLakeflow\.writer\)/, /choose another destination_table at objects\[3\]\.table\.destination_table/],
  },
  {
    name: 'a destination table another engine created',
    setup: async (c) => foreignDeltaTable(c.lakehouse, 'audience', {}),
    args: async (c) =>
      runArgs(c, {
        spec: await writeSpec(c, 'foreign.json', { ...GOOD_SPEC, objects: [...GOOD_SPEC.objects, { table: { source_table: 'engage', destination_table: 'audience' } }] }),
      }),
    says: [/audience is a Delta table that mixpanel-lakeflow did not create/, /choose another destination_table at objects\[3\]\.table\.destination_table/],
  },
  // table options
  {
    name: 'start_date in the future',
    args: async (c) => runArgs(c, { spec: await writeSpec(c, 'future.json', withTable(0, { source_table: 'events', table_configuration: { safety_lag: '0', start_date: '2099-01-01' } })) }),
    says: [/table_configuration\.start_date of events is in the future \(2099-01-01/, /set the first event date to read, on or before \d{4}-\d\d-\d\d/],
  },
  {
    name: 'where with the injection string of the issue',
    args: async (c) =>
      runArgs(c, { spec: await writeSpec(c, 'inject.json', withTable(0, { source_table: 'events', table_configuration: { safety_lag: '0', where: 'properties["$os"] == "iOS") or (true' } })) }),
    says: [/table_configuration\.where of events is not a valid Mixpanel segmentation expression/, /remove the unmatched "\)"/],
  },
  // --tables, --full-refresh
  { name: "--tables ''", args: (c) => [...runArgs(c), '--tables', ''], says: [/--tables is empty/, /name one or more tables of .*\(events, engage, profiles_history\), or leave the flag out/] },
  { name: '--tables names an unknown table', args: (c) => [...runArgs(c), '--tables', 'evnts'], says: [/--tables evnts: not a table of/, /did you mean events\?/] },
  { name: '--full-refresh names an unknown table', args: (c) => [...runArgs(c), '--full-refresh', 'profile_history'], says: [/--full-refresh profile_history: not a table of/, /did you mean profiles_history\?/] },
  {
    name: '--full-refresh events would drop history older than it re-reads',
    args: (c) => [...runArgs(c), '--full-refresh', 'events'],
    env: { MIXPANEL_HISTORICAL_DAYS: '1' },
    says: [/--full-refresh events re-reads from event_date \d{4}-\d\d-\d\d \(MIXPANEL_HISTORICAL_DAYS=1/, /holds \d+ row\(s\) from \d{4}-\d\d-\d\d/, /Add --drop-history to drop them/],
  },
  // the environment and the other flags
  { name: 'no credentials', env: { MIXPANEL_API_SECRET: undefined }, says: [/No Mixpanel credentials/, /Set MIXPANEL_API_SECRET, or MIXPANEL_USERNAME \+ MIXPANEL_SECRET \+ MIXPANEL_PROJECT_ID/] },
  { name: 'an unknown --source', args: (c) => [...runArgs(c), '--source', 'mixpanl'], says: [/--source mixpanl: unknown source/, /valid sources: mixpanel, mixpanel_proxy/] },
  { name: 'a bad --max-wait', args: (c) => [...runArgs(c), '--max-wait', 'soon'], says: [/--max-wait "soon"/, /expected a duration such as 0, 90s, 5m/] },
  { name: 'a bad --lock-lease', args: (c) => [...runArgs(c), '--lock-lease', '0'], says: [/--lock-lease=0: expected a lease length in seconds between 3 and 86400/] },
  { name: 'a bad --log-level', args: (c) => [...runArgs(c), '--log-level', 'loud'], says: [/--log-level must be debug, info, warn or error, got loud/] },
  { name: 'a bad --merge-encoders', args: (c) => [...runArgs(c), '--merge-encoders', '3'], says: [/--merge-encoders must be 1 or 2, got 3/, /2 on two at once/] },
  { name: 'an unknown MIXPANEL_REGION', env: { MIXPANEL_REGION: 'MARS' }, says: [/MIXPANEL_REGION must be US, EU or IN/, /got "MARS"/] },
  { name: 'MIXPANEL_BASE_URL is not a URL', env: { MIXPANEL_BASE_URL: '127.0.0.1 port 8080' }, says: [/MIXPANEL_BASE_URL must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8080/] },
];

function envFor(over: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { ...baseEnv, ...over };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

beforeAll(async () => {
  emulator = await startEmulator({ seed: 19, eventsPerDay: 60, days: 3, profiles: 20 });
  root = await mkdtemp(path.join(tmpdir(), 'operator-mistakes-'));
  template = path.join(root, 'template');
  await mkdir(template);
  await writeFile(path.join(template, 'spec.json'), JSON.stringify(GOOD_SPEC));
  baseEnv = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret, MIXPANEL_HISTORICAL_DAYS: '2' };
  const good = await runCli(['run', '--spec', path.join(template, 'spec.json'), '--lakehouse', path.join(template, 'lakehouse'), '--state', path.join(template, 'state'), '--log-format', 'json'], baseEnv);
  expect(good.code, good.stderr).toBe(0);
  expect(emulator.log.entries.length).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a wrong setting exits 2 before any API call, names the key or flag and the fix, and changes nothing', () => {
  it('the good lakehouse holds the three tables every case starts from', async () => {
    const digest = await treeDigest(path.join(template, 'lakehouse'));
    for (const table of TABLES) expect(digest.get(path.join(table, '_delta_log', '00000000000000000000.json')), table).toMatch(/^[0-9a-f]{64}$/);
  });

  for (const c of CASES) {
    it(c.name, async (ctx) => {
      const dirs = await caseDirs(c.name);
      const prepared = (await c.setup?.(dirs)) ?? {};
      if (prepared.skip !== undefined) {
        ctx.skip(prepared.skip);
        return;
      }
      let result: CliResult;
      let before: Map<string, string>;
      try {
        const args = c.args ? await c.args(dirs) : runArgs(dirs);
        before = await treeDigest(dirs.dir);
        emulator.log.clear();
        result = await runCli(args, envFor(c.env));
        expect(emulator.log.entries.map((e) => `${e.method} ${e.path}`), 'API calls made').toEqual([]);
        expect(await treeDigest(dirs.dir)).toEqual(before);
      } finally {
        prepared.undo?.();
      }
      expect(result.code, result.stderr).toBe(2);
      const message = lines(result.stderr);
      expect(message, result.stderr).toHaveLength(1);
      for (const pattern of c.says) expect(message[0]).toMatch(pattern);
      expect(result.stdout).toBe('');
      expect(message[0]).not.toContain(emulator.project.apiSecret);
    });
  }
});

describe('settings that look odd but are fine run', () => {
  it('a spec that starts with a UTF-8 byte order mark runs every table (exit 0)', async () => {
    const dirs = await caseDirs('bom');
    const spec = await writeSpec(dirs, 'bom.json', `\uFEFF${JSON.stringify(GOOD_SPEC, null, 2)}`);
    const result = await runCli(runArgs(dirs, { spec }), envFor());
    expect(result.code, result.stderr).toBe(0);
    const report = await printedReport(result.stdout);
    expect(report.tables.map((t) => [t['table'], t['status']])).toEqual([
      ['events', 'ok'],
      ['engage', 'ok'],
      ['profiles_history', 'ok'],
    ]);
  });

  it('--tables events,events runs events once', async () => {
    const dirs = await caseDirs('tables-twice');
    emulator.log.clear();
    const result = await runCli([...runArgs(dirs), '--tables', 'events,events'], envFor());
    expect(result.code, result.stderr).toBe(0);
    const report = await printedReport(result.stdout);
    expect(report.tables.map((t) => t['table'])).toEqual(['events']);
    expect(emulator.log.entries.filter((e) => e.path === '/api/2.0/export').length).toBe(report.tables[0]!['apiCalls']);
    expect(emulator.log.entries.every((e) => e.path === '/api/2.0/export')).toBe(true);
  });

  it('--tables engage runs every destination engage feeds: engage and profiles_history', async () => {
    const dirs = await caseDirs('tables-source');
    const result = await runCli([...runArgs(dirs), '--tables', 'engage'], envFor());
    expect(result.code, result.stderr).toBe(0);
    const report = await printedReport(result.stdout);
    expect(report.tables.map((t) => [t['table'], t['sourceTable'], t['status']])).toEqual([
      ['engage', 'engage', 'ok'],
      ['profiles_history', 'engage', 'ok'],
    ]);
  });
});
