/**
 * Run the bench directly: `node --import tsx bench/main.ts --events 1000000 [--windows 1d,30d] [--profiles N]
 * [--quick] [--cpu-prof] [--no-gzip] [--no-duckdb] [--keep] [--repeat N] [--node-flag=--max-old-space-size=256] [--no-real]
 * [--only-real] [--rate BYTES_PER_S]`.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runBench, type BenchOptions, type BenchWindow } from './index.js';

const USAGE = `usage: node --import tsx bench/main.ts [options]
  --events N[,N…]     event counts (default 1000000,5000000; --quick: 100000; 0 skips the events rows)
  --windows W[,W…]    1d and/or 30d (default both)
  --profiles N        engage profiles (default 1000000; --quick: 10000; 0 skips engage)
  --quick             smoke run: 100k events, 10k profiles
  --cpu-prof          profile each connector child and print the top self-time stages and functions
  --no-gzip           serve plain JSONL instead of gzip
  --no-duckdb         skip the DuckDB baseline
  --no-proxy          skip the tracking proxy's added-latency row
  --no-emulator       skip the emulator footprint row
  --keep              keep the written lakehouses under .bench/runs/
  --append-only       events with scd_type APPEND_ONLY (no merge by key): isolates the runner's merge cost
  --max-events-per-call N  the events option max_events_per_call (default: the connector's, 5000000; 0 = no limit)
  --merge-encoders N  the run option --merge-encoders: 1 (default) or 2
  --force             run sizes whose projected peak RSS exceeds half of RAM (skipped by default)
  --repeat N          run each measurement N times and keep the median (highest peak RSS)
  --node-flag F       extra node flag for the connector children (repeatable)
  --no-real           skip the real-shaped rows (re-sent copies, late and hostile events, export server in its own process)
  --only-real         only the real-shaped rows (and engage unless --profiles 0)
  --rate B            pace the real-shaped rows' export server at B bytes/s (default: as fast as the socket drains)`;

function count(text: string, name: string): number {
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${text}"\n${USAGE}`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      events: { type: 'string' },
      windows: { type: 'string' },
      profiles: { type: 'string' },
      quick: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      'no-gzip': { type: 'boolean' },
      'no-duckdb': { type: 'boolean' },
      'no-proxy': { type: 'boolean' },
      'no-emulator': { type: 'boolean' },
      keep: { type: 'boolean' },
      force: { type: 'boolean' },
      'append-only': { type: 'boolean' },
      'max-events-per-call': { type: 'string' },
      'merge-encoders': { type: 'string' },
      repeat: { type: 'string' },
      'node-flag': { type: 'string', multiple: true },
      'no-real': { type: 'boolean' },
      'only-real': { type: 'boolean' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const windows = values.windows?.split(',').map((w) => w.trim());
  for (const w of windows ?? []) if (w !== '1d' && w !== '30d') throw new Error(`--windows takes 1d and/or 30d, got "${w}"\n${USAGE}`);
  return {
    ...(values.events !== undefined ? { events: values.events.split(',').map((e) => count(e, '--events')).filter((n) => n > 0) } : {}),
    ...(windows !== undefined ? { windows: windows as BenchWindow[] } : {}),
    ...(values.profiles !== undefined ? { profiles: count(values.profiles, '--profiles') } : {}),
    ...(values.quick ? { quick: true } : {}),
    ...(values['cpu-prof'] ? { cpuProf: true } : {}),
    ...(values['no-gzip'] ? { gzip: false } : {}),
    ...(values['no-duckdb'] ? { noDuckdb: true } : {}),
    ...(values['no-proxy'] ? { noProxy: true } : {}),
    ...(values['no-emulator'] ? { noEmulator: true } : {}),
    ...(values.keep ? { keep: true } : {}),
    ...(values.force ? { force: true } : {}),
    ...(values['append-only'] ? { appendOnly: true } : {}),
    ...(values['max-events-per-call'] !== undefined ? { maxEventsPerCall: count(values['max-events-per-call'], '--max-events-per-call') } : {}),
    ...(values['merge-encoders'] !== undefined ? { mergeEncoders: count(values['merge-encoders'], '--merge-encoders') } : {}),
    ...(values.repeat !== undefined ? { repeat: Math.max(1, count(values.repeat, '--repeat')) } : {}),
    ...(values['node-flag'] ? { nodeFlags: values['node-flag'] } : {}),
    ...(values['no-real'] ? { noReal: true } : {}),
    ...(values['only-real'] ? { onlyReal: true } : {}),
    ...(values.rate !== undefined ? { rateBytesPerSecond: count(values.rate, '--rate') } : {}),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(parseBenchArgs(process.argv.slice(2)));
}
