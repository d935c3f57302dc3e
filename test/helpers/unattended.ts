/**
 * Helpers of the unattended-run tests (test/unattended-*.test.ts): events seeded into the emulator, the events
 * table read back through its Delta log by DuckDB (exactly-once checks), and the real CLI as a child process a test
 * can signal while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Emulator, IngestEvent } from '../../emulator/index.js';
import { deltaScan, query } from '../../runner/testing/duckdb.js';
import { CLI, REPO_ROOT } from '../../runner/testing/cli-child.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * `count` events with insert ids `<prefix>-0…`, spread over the `days` days up to `newestMs`, processed by
 * Mixpanel at `processingTimeMs`; returns their insert ids.
 */
export function seedEvents(emulator: Emulator, options: { readonly prefix: string; readonly count: number; readonly newestMs: number; readonly days: number; readonly processingTimeMs: number }): string[] {
  const events: IngestEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const time = options.newestMs - Math.floor((((i * 7919) % options.count) / options.count) * options.days * DAY) - 1000;
    events.push({ event: i % 3 === 0 ? 'Signed up' : 'Viewed page', properties: { time, distinct_id: `user-${i % 41}`, $insert_id: `${options.prefix}-${i}`, plan: i % 2 === 0 ? 'pro' : 'free' } });
  }
  emulator.data.importEvents(events, { processingTimeMs: options.processingTimeMs });
  return events.map((e) => String(e.properties['$insert_id']));
}

export interface EventsTable {
  readonly rows: number;
  readonly distinctKeys: number;
  /** Sorted insert ids of the live rows. */
  readonly insertIds: string[];
}

/** The events table as an outside engine reads it (DuckDB over the Delta log). */
export async function readEventsTable(lakehouse: string): Promise<EventsTable> {
  if (!existsSync(path.join(lakehouse, 'events', '_delta_log'))) return { rows: 0, distinctKeys: 0, insertIds: [] };
  const rows = await query(`SELECT insert_id, dedupe_key FROM ${await deltaScan(lakehouse, 'events')} ORDER BY insert_id`);
  return { rows: rows.length, distinctKeys: new Set(rows.map((r) => String(r['dedupe_key']))).size, insertIds: rows.map((r) => String(r['insert_id'])) };
}

/** Sorted `cohort_id:distinct_id` pairs of the cohort_members table. */
export async function readCohortMembers(lakehouse: string): Promise<string[]> {
  if (!existsSync(path.join(lakehouse, 'cohort_members', '_delta_log'))) return [];
  const rows = await query(`SELECT cohort_id, distinct_id FROM ${await deltaScan(lakehouse, 'cohort_members')}`);
  return rows.map((r) => `${String(r['cohort_id'])}:${String(r['distinct_id'])}`).sort();
}

/** Sorted `cohort_id:distinct_id` pairs the emulator holds. */
export function emulatorCohortMembers(emulator: Emulator): string[] {
  return emulator.data
    .listCohorts()
    .flatMap((c) => emulator.data.getCohortMembers(c.id).map((m) => `${c.id}:${m}`))
    .sort();
}

/** The real CLI as a running child process. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is complete. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  /** Wait until stderr (JSON log lines and messages) matches `re`. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Start `mixpanel-lakeflow <args>` from the TypeScript sources with exactly `env` (plus PATH). The process is
 * SIGKILLed after `timeoutMs` so a hang fails the test instead of blocking the suite.
 */
export function startCli(args: readonly string[], env: Readonly<Record<string, string>>, options: { readonly timeoutMs?: number } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', MIXPANEL_LAKEFLOW_FROM_SOURCE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStderr(re, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      let done = false;
      void exited.then(() => (done = true));
      while (!re.test(err)) {
        if (done) throw new Error(`the CLI exited before printing ${re}; stderr:\n${err}\nstdout:\n${out}`);
        if (Date.now() > until) throw new Error(`timed out waiting for ${re}; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** The arguments of `run` on one spec, lakehouse and state folder, with JSON logs. */
export function runArgs(dir: string, specFile: string, extra: readonly string[] = []): string[] {
  return ['run', '--spec', specFile, '--lakehouse', path.join(dir, 'lakehouse'), '--state', path.join(dir, 'state'), '--log-format', 'json', ...extra];
}

/** The JSON log lines of a CLI run's stderr. */
export function logLines(stderr: string): { readonly msg?: string; readonly [key: string]: unknown }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg?: string }];
      } catch {
        return [];
      }
    });
}
