/**
 * CPU seconds per 1M real-shaped export lines through the events parse path (`parseEventChunk`: 1 MiB chunks of
 * whole lines → Arrow batches), the work the main thread and the parse workers share. Lines come from the
 * real-shaped generator (bench/real/generator.ts: 1 in 10 events carries hostile values; `--hostile-only` keeps
 * only those); `--lines` distinct lines are parsed again and again until `--events` lines were parsed.
 *
 * A/B: every measurement runs in its own child process, the paths alternate, and the medians are printed.
 *   node --import tsx bench/parse-chunk-cpu.ts [--paths records,scan] [--runs 5] [--events 1000000]
 *                                             [--lines 100000] [--hostile-only]
 * `records` is the JSON.parse-per-line path (`parseEventChunkByRecords`), `scan` the byte scanner
 * (`parseEventChunk`). One measurement in this process: `--child --path scan`. CPU time (process.cpuUsage), not
 * wall time: the machine is shared. Not a test.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ChunkFramer, type BodyChunk } from '../sources/mixpanel/events/chunk-framer.js';
import * as parseChunk from '../sources/mixpanel/events/parse-chunk.js';
import type { ChunkResult, ChunkSettings } from '../sources/mixpanel/events/parse-chunk.js';
import { realShapedLines } from '../sources/mixpanel/events/testing/real-lines.js';
import { REAL_GENERATOR_VERSION } from './real/generator.js';

type ParseFn = (chunk: Uint8Array, baseOffset: number, settings: ChunkSettings) => ChunkResult;

const CHUNK_BYTES = 1 << 20;

async function body(count: number, hostileOnly: boolean): Promise<Buffer> {
  const dir = join(fileURLToPath(new URL('..', import.meta.url)), '.bench');
  const file = join(dir, `parse-lines-${count}${hostileOnly ? '-hostile' : ''}-g${REAL_GENERATOR_VERSION}.jsonl`);
  if (existsSync(file)) return readFile(file);
  const bytes = Buffer.from(`${realShapedLines(count, hostileOnly).join('\n')}\n`, 'utf8');
  await mkdir(dir, { recursive: true });
  await writeFile(`${file}.tmp-${process.pid}`, bytes);
  await rename(`${file}.tmp-${process.pid}`, file);
  return bytes;
}

function chunksOf(bytes: Buffer): BodyChunk[] {
  const framer = new ChunkFramer(CHUNK_BYTES);
  const chunks: BodyChunk[] = [];
  for (let at = 0; at < bytes.length; at += 64 * 1024) {
    const chunk = framer.push(bytes.subarray(at, Math.min(bytes.length, at + 64 * 1024)));
    if (chunk !== null) chunks.push(chunk);
  }
  const rest = framer.finish();
  if (rest.lines !== null) chunks.push(rest.lines);
  return chunks;
}

function parseFn(path: string): ParseFn {
  if (path === 'scan') return parseChunk.parseEventChunk;
  const byRecords = (parseChunk as Record<string, unknown>)['parseEventChunkByRecords'];
  if (path === 'records' && typeof byRecords === 'function') return byRecords as ParseFn;
  throw new Error(`--path must be scan or records (records needs parseEventChunkByRecords), got ${path}`);
}

interface Measurement {
  readonly path: string;
  readonly lines: number;
  readonly cpuSeconds: number;
  readonly perMillion: number;
  readonly rssMb: number;
  /** Lines the scanner sent to today's path. */
  readonly fallbacks: number;
}

async function measure(path: string, events: number, lines: number, hostileOnly: boolean): Promise<Measurement> {
  const parse = parseFn(path);
  const chunks = chunksOf(await body(lines, hostileOnly));
  const settings: ChunkSettings = { what: 'bench', legacyZone: null, selected: null };
  let parsed = 0;
  let fallbacks = 0;
  const cpu0 = process.cpuUsage();
  while (parsed < events) {
    for (const chunk of chunks) {
      const result = parse(new Uint8Array(chunk.bytes), chunk.baseOffset, settings);
      parsed += result.rows;
      fallbacks += result.fallbacks ?? result.rows;
      if (parsed >= events) break;
    }
  }
  const used = process.cpuUsage(cpu0);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return { path, lines: parsed, cpuSeconds, perMillion: (cpuSeconds * 1e6) / parsed, rssMb: Math.round(process.memoryUsage().rss / 1e6), fallbacks };
}

function child(path: string, args: readonly string[]): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--path', path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`child (${path}) exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as Measurement);
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean' },
      path: { type: 'string', default: 'scan' },
      paths: { type: 'string', default: 'records,scan' },
      runs: { type: 'string', default: '5' },
      events: { type: 'string', default: '1000000' },
      lines: { type: 'string', default: '100000' },
      'hostile-only': { type: 'boolean' },
    },
  });
  const events = Number(values.events);
  const lines = Number(values.lines);
  const hostileOnly = values['hostile-only'] === true;
  if (values.child) {
    console.log(JSON.stringify(await measure(values.path, events, lines, hostileOnly)));
    return;
  }
  await body(lines, hostileOnly); // generated once, before any child measures
  const paths = values.paths.split(',');
  const passOn = ['--events', String(events), '--lines', String(lines), ...(hostileOnly ? ['--hostile-only'] : [])];
  const results = new Map<string, Measurement[]>(paths.map((p) => [p, []]));
  for (let run = 0; run < Number(values.runs); run++) {
    for (const path of paths) {
      const m = await child(path, passOn);
      results.get(path)!.push(m);
      console.log(`run ${run + 1} ${path}: ${m.cpuSeconds.toFixed(2)} CPU-s for ${m.lines} lines = ${m.perMillion.toFixed(2)} CPU-s per 1M, rss ${m.rssMb} MB`);
    }
  }
  for (const [path, ms] of results) {
    console.log(`${path}: median ${median(ms.map((m) => m.perMillion)).toFixed(2)} CPU-s per 1M lines (runs: ${ms.map((m) => m.perMillion.toFixed(2)).join(', ')})${hostileOnly ? ' [hostile lines only]' : ''}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
