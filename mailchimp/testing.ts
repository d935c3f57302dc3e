/**
 * Test wiring (tests only): a real `engage` lakehouse table produced by the Mixpanel emulator → Mixpanel source →
 * runner, the Mailchimp emulator, a sync invocation capturing stdout/stderr, and DuckDB to read tables back.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { parsePipelineSpec, runPipeline, silentLogger, type RunReport } from '../runner/index.js';
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
  /** Run the runner's engage table against the Mixpanel emulator (a new source each run, clock + 1 min). */
  ingest(dirs?: { readonly lakehouse: string; readonly state: string }): Promise<RunReport>;
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
    async ingest(dirs) {
      lake.clock += MINUTE;
      return runPipeline({
        spec: parsePipelineSpec(JSON.stringify({ connection_name: 'mixpanel', objects: [{ table: { source_table: 'engage' } }] }), 'spec.json'),
        source: emulatorSource(lake.mixpanel, { now: () => lake.clock }),
        lakehouse: dirs?.lakehouse ?? lake.lakehouse,
        env: {},
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

export function tableGlob(lakehouse: string, table: string): string {
  return `read_parquet('${lakehouse}/${table}/*.parquet')`;
}

/** Calls of a kind in the emulator log since index `from`. */
export function writesSince(emulator: MailchimpEmulator, from: number): { batch: number; put: number } {
  const calls = emulator.log.slice(from);
  return { batch: calls.filter((c) => c.kind === 'batch').length, put: calls.filter((c) => c.kind === 'put').length };
}
