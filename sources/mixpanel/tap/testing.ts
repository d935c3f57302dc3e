/** Test helpers of Singer mode: run the command in-process against an emulator and parse what it printed. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { LakeflowSource } from '../../../connector-spec/index.js';
import type { Emulator } from '../../../emulator/index.js';
import { FAST_LIMITS } from '../testing/emulator-source.js';
import { tables } from '../source.js';
import { annotations } from '../tables/annotations.js';
import { funnels } from '../tables/funnels.js';
import { revenue } from '../tables/revenue.js';
import { sourceOfTables } from '../reports/testing-source.js';
import type { MixpanelTable } from '../table.js';
import { runSingerCommand } from './index.js';

/** The registry plus the three tap-parity tables (until source.ts lists them). */
export const ALL_TABLES: readonly MixpanelTable[] = [...tables, funnels, annotations, revenue].filter((t, i, all) => all.findIndex((x) => x.name === t.name) === i);

export interface SingerMessage {
  readonly type: string;
  readonly stream?: string;
  readonly record?: Record<string, unknown>;
  readonly schema?: { properties: Record<string, { type?: string | string[] }>; additionalProperties?: boolean };
  readonly key_properties?: string[];
  readonly value?: { currently_syncing: string | null; bookmarks: Record<string, unknown>; mp_naming: Record<string, Record<string, string>> };
}

export interface SingerRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly messages: SingerMessage[];
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'singer-test-'));
}

export async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

export async function runSinger(
  emu: Emulator,
  now: () => number,
  args: { readonly config: string; readonly state?: string; readonly catalog?: string; readonly discover?: boolean },
  wrap: (source: LakeflowSource) => LakeflowSource = (s) => s,
): Promise<SingerRun> {
  const out = sink();
  const err = sink();
  const code = await runSingerCommand({
    ...args,
    env: { MIXPANEL_BASE_URL: emu.url },
    stdout: out.stream,
    stderr: err.stream,
    now,
    sleep: async () => undefined,
    limits: FAST_LIMITS,
    createSource: (config, o) => wrap(sourceOfTables(ALL_TABLES, config, o)),
  });
  const stdout = out.text();
  const messages = args.discover === true ? [] : stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SingerMessage);
  return { code, stdout, stderr: err.text(), messages };
}

const JSON_TYPES: Readonly<Record<string, (v: unknown) => boolean>> = {
  null: (v) => v === null,
  string: (v) => typeof v === 'string',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  array: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

/**
 * Problems of a message sequence against the Singer spec: each line one JSON message of a known type, a SCHEMA
 * before the RECORDs of its stream, every record field typed as its SCHEMA says (or allowed by
 * additionalProperties), every key property present, and a STATE last.
 */
export function singerProblems(run: SingerRun): string[] {
  const problems: string[] = [];
  const lines = run.stdout.split('\n');
  if (lines.at(-1) !== '') problems.push('output does not end with a newline');
  const schemas = new Map<string, SingerMessage>();
  run.messages.forEach((m, i) => {
    if (m.type === 'SCHEMA') {
      if (typeof m.stream !== 'string' || m.schema === undefined || !Array.isArray(m.key_properties)) problems.push(`line ${i + 1}: SCHEMA without stream, schema or key_properties`);
      else schemas.set(m.stream, m);
    } else if (m.type === 'RECORD') {
      const schema = m.stream === undefined ? undefined : schemas.get(m.stream);
      if (schema?.schema === undefined || m.record === undefined) {
        problems.push(`line ${i + 1}: RECORD of ${m.stream} before its SCHEMA`);
        return;
      }
      for (const key of schema.key_properties ?? []) if (!(key in m.record)) problems.push(`line ${i + 1}: key property ${key} missing`);
      for (const [k, v] of Object.entries(m.record)) {
        const prop = schema.schema.properties[k];
        if (prop === undefined) {
          if (schema.schema.additionalProperties !== true) problems.push(`line ${i + 1}: ${m.stream}.${k} not in its SCHEMA`);
          continue;
        }
        const types = prop.type === undefined ? Object.keys(JSON_TYPES) : Array.isArray(prop.type) ? prop.type : [prop.type];
        if (!types.some((t) => JSON_TYPES[t]?.(v) ?? false)) problems.push(`line ${i + 1}: ${m.stream}.${k}=${JSON.stringify(v)} is not ${types.join('|')}`);
      }
    } else if (m.type !== 'STATE') {
      problems.push(`line ${i + 1}: unknown message type ${m.type}`);
    }
  });
  if (run.messages.at(-1)?.type !== 'STATE') problems.push('the last message is not a STATE');
  return problems;
}

export function recordsOf(run: SingerRun, stream: string): Record<string, unknown>[] {
  return run.messages.filter((m) => m.type === 'RECORD' && m.stream === stream).map((m) => m.record!);
}

export function lastState(run: SingerRun): NonNullable<SingerMessage['value']> {
  const states = run.messages.filter((m) => m.type === 'STATE');
  return states.at(-1)!.value!;
}
