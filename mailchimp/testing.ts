/**
 * Test wiring (tests only): a real `engage` lakehouse table produced by the Mixpanel emulator → Mixpanel source →
 * runner, the Mailchimp emulator, a sync invocation capturing stdout/stderr, and DuckDB to read tables back from
 * their Delta logs (replayed in DuckDB SQL, never through our log reader).
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { startEmulator, type Emulator } from '../emulator/index.js';
import type { Lakehouse } from '../lakehouse/index.js';
import { parsePipelineSpec, runPipeline, silentLogger, type RunReport } from '../runner/index.js';
import { deltaScan } from '../runner/testing/duckdb.js';
import { emulatorSource } from '../sources/mixpanel/testing/emulator-source.js';
import type { MailchimpEmulator } from './emulator/index.js';
import { runMailchimpSync, type MailchimpSyncOptions, type SyncResult } from './index.js';

export const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const MINUTE = 60_000;

export interface SeedProfile {
  readonly id: string;
  readonly props: Readonly<Record<string, string>>;
}

/**
 * The acceptance population: 2,503 profiles — `A@x.io` and `a@x.io ` on two profiles (the later one wins), one
 * without email, one with `$name: ""`, one with only `$first_name`/`$last_name`, one invalid address, one
 * single-token name, and 2,496 ordinary users. 2,500 distinct valid emails.
 */
export function acceptanceProfiles(): SeedProfile[] {
  const out: SeedProfile[] = [
    { id: 'p-upper', props: { $email: 'A@x.io', $name: 'Alpha Old' } },
    { id: 'p-lower', props: { $email: 'a@x.io ', $name: 'Alpha  New Person' } },
    { id: 'p-nomail', props: { $name: 'No Mail' } },
    { id: 'p-emptyname', props: { $email: 'empty@x.io', $name: '' } },
    { id: 'p-firstlast', props: { $email: 'Ada.Lovelace@x.io', $first_name: 'Ada', $last_name: 'Lovelace' } },
    { id: 'p-invalid', props: { $email: 'not-an-email', $name: 'Bad Address' } },
    { id: 'p-mono', props: { $email: 'cher@x.io', $name: 'Cher' } },
  ];
  for (let i = 0; out.length < 2503; i++) out.push({ id: `u${i}`, props: { $email: `user${i}@example.com`, $name: `First${i} Last${i}` } });
  return out;
}

/** What Mailchimp must end with after a clean run: email → [FNAME, LNAME]. */
export function expectedMembers(): Map<string, [string, string]> {
  const m = new Map<string, [string, string]>([
    ['a@x.io', ['Alpha', 'New Person']],
    ['empty@x.io', ['', '']],
    ['ada.lovelace@x.io', ['Ada', 'Lovelace']],
    ['cher@x.io', ['Cher', '']],
  ]);
  for (let i = 0; m.size < 2500; i++) m.set(`user${i}@example.com`, [`First${i}`, `Last${i}`]);
  return m;
}

export interface Lake {
  readonly root: string;
  readonly lakehouse: string;
  readonly state: string;
  readonly mixpanel: Emulator;
  clock: number;
  /**
   * Run the runner's engage table against the Mixpanel emulator (a new source each run, clock + 1 min), into the
   * lake's folder or `dirs.lakehouse` (any --lakehouse location; `dirs.env` carries its credentials).
   */
  ingest(
    dirs?: { readonly lakehouse: string; readonly state: string; readonly env?: Readonly<Record<string, string>> },
    tableConfiguration?: Readonly<Record<string, string>>,
  ): Promise<RunReport>;
  /** A copy of the lakehouse and runner state (independent tests share one ingest). */
  copy(): Promise<{ lakehouse: string; state: string }>;
  close(): Promise<void>;
}

export async function engageLake(profiles: readonly SeedProfile[]): Promise<Lake> {
  let copies = 0;
  const clock = { now: T0 };
  const mixpanel = await startEmulator({ now: () => clock.now, limits: { queryPerHour: Infinity, queryConcurrent: Infinity } });
  const root = await mkdtemp(path.join(os.tmpdir(), 'mailchimp-sync-'));
  const lake: Lake = {
    root,
    lakehouse: path.join(root, 'lakehouse'),
    state: path.join(root, 'state'),
    get clock() {
      return clock.now;
    },
    set clock(v: number) {
      clock.now = v;
    },
    mixpanel,
    async ingest(dirs, tableConfiguration) {
      lake.clock += MINUTE;
      return runPipeline({
        spec: parsePipelineSpec(
          JSON.stringify({ connection_name: 'mixpanel', objects: [{ table: { source_table: 'engage', ...(tableConfiguration ? { table_configuration: tableConfiguration } : {}) } }] }),
          'spec.json',
        ),
        source: emulatorSource(lake.mixpanel, { now: () => lake.clock }),
        lakehouse: dirs?.lakehouse ?? lake.lakehouse,
        env: dirs?.env ?? {},
        stateDir: dirs?.state ?? lake.state,
        logger: silentLogger,
      });
    },
    async copy() {
      copies++;
      const dir = path.join(root, `copy-${copies}`);
      await cp(lake.lakehouse, path.join(dir, 'lakehouse'), { recursive: true });
      await cp(lake.state, path.join(dir, 'state'), { recursive: true });
      return { lakehouse: path.join(dir, 'lakehouse'), state: path.join(dir, 'state') };
    },
    async close() {
      await lake.mixpanel.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  // Profiles seen one minute apart, in order, so the later of two profiles has the later $last_seen.
  profiles.forEach((p, i) => {
    lake.clock = T0 - 3 * 24 * 3_600_000 + i * MINUTE;
    lake.mixpanel.data.setProfile(p.id, p.props);
  });
  lake.clock = T0;
  return lake;
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface SyncRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly result: SyncResult | undefined;
}

export async function sync(
  emulator: MailchimpEmulator,
  options: Partial<Omit<MailchimpSyncOptions, 'stdout' | 'stderr' | 'onResult'>> & { readonly lakehouse: string },
): Promise<SyncRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  let result: SyncResult | undefined;
  const code = await runMailchimpSync({
    list: 'list1',
    env: { MAILCHIMP_API_KEY: emulator.apiKey, MAILCHIMP_BASE_URL: emulator.url },
    retry: { attempts: 4, baseMs: 5, capMs: 2_000 },
    ...options,
    stdout,
    stderr,
    onResult: (r) => (result = r),
  });
  return { code, stdout: stdout.text, stderr: stderr.text, result };
}

export type Row = Record<string, unknown>;

export async function duck(sql: string): Promise<Row[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Row[];
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

/** A DuckDB table expression over a local lakehouse table's live rows, from its Delta log. */
export function scan(lakehouse: string, table: string): Promise<string> {
  return deltaScan(lakehouse, table);
}

/** Copy every object of `table` from a lakehouse on any store into `<dir>/<table>` (to read it with DuckDB). */
export async function downloadTable(lakehouse: Lakehouse, table: string, dir: string): Promise<void> {
  for await (const object of lakehouse.store.list(`${table}/`)) {
    const bytes = await lakehouse.store.read(object.path);
    if (bytes === undefined) continue;
    const file = path.join(dir, ...object.path.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
}

/** Every action of one kind (`txn`, `add`, `commitInfo`, …) in a local table's JSON commit files, oldest first. */
export async function logActions(lakehouse: string, table: string, kind: string): Promise<Record<string, unknown>[]> {
  const dir = path.join(lakehouse, table, '_delta_log');
  const names = (await readdir(dir)).filter((n) => /^\d{20}\.json$/.test(n)).sort();
  const out: Record<string, unknown>[] = [];
  for (const name of names) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      const action = (JSON.parse(line) as Record<string, Record<string, unknown> | undefined>)[kind];
      if (action !== undefined) out.push(action);
    }
  }
  return out;
}

/** The Delta `metaData.configuration` of a local table, read from its first commit file. */
export async function tableProperties(lakehouse: string, table: string): Promise<Record<string, string>> {
  const text = await readFile(path.join(lakehouse, table, '_delta_log', '00000000000000000000.json'), 'utf8');
  for (const line of text.split('\n')) {
    if (!line.includes('"metaData"')) continue;
    return (JSON.parse(line) as { metaData: { configuration: Record<string, string> } }).metaData.configuration;
  }
  throw new Error(`no metaData in the first commit of ${table}`);
}

/** Calls of a kind in the emulator log since index `from`. */
export function writesSince(emulator: MailchimpEmulator, from: number): { batch: number; put: number } {
  const calls = emulator.log.slice(from);
  return { batch: calls.filter((c) => c.kind === 'batch').length, put: calls.filter((c) => c.kind === 'put').length };
}
