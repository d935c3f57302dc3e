/**
 * Parquet writer settings, measured: builds events batches from the first N lines of the bench JSONL with
 * EventBatchBuilder, then encodes them in-thread with parquet-wasm under several WriterProperties variants and
 * prints the encode CPU seconds (process.cpuUsage, not wall time: the machine is shared), output bytes and rows.
 * Every output is read back with DuckDB and compared with the baseline (row count, a whole-row hash, types).
 *
 *   [PARQUET_VARIANTS=regex] node --import tsx bench/parquet-settings.ts [lines=150000] [repeats=2] [file]
 */
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Table as ArrowTable, tableToIPC, type RecordBatch } from 'apache-arrow';
import {
  Compression,
  EnabledStatistics,
  Table as WasmTable,
  WriterPropertiesBuilder,
  transformParquetStream,
  type RecordBatch as WasmRecordBatch,
} from 'parquet-wasm';
import { EventBatchBuilder } from '../sources/mixpanel/events/builder.js';
import { EVENTS_METADATA, EVENTS_SCHEMA } from '../sources/mixpanel/events/schema.js';
import { openDuck, sqlString } from '../test/helpers/duckdb.js';
import { parquetColumnPlan, primaryKeysOf } from '../lakehouse/parquet/parquet-columns.js';
import { parquetWriterProperties } from '../lakehouse/parquet/parquet-properties.mjs';
import { withTableMetadata } from '../connector-spec/index.js';

const DEFAULT_FILE = path.resolve(import.meta.dirname, '../.bench/events-1000000-1d-s1/2026-03-31.jsonl');
const ROW_GROUP_ROWS = 32_768;

type Configure = (builder: WriterPropertiesBuilder) => WriterPropertiesBuilder;

interface Variant {
  readonly name: string;
  readonly configure: Configure;
}

/** Columns whose values are (nearly) unique per row in the events data: where a dictionary only costs. */
const HIGH_CARDINALITY = ['dedupe_key', 'insert_id', 'time', 'time_raw', 'mp_processing_time_ms', 'mp_api_timestamp_ms', 'device_id'];
/** The map's leaves, spelled the ways one might (parquet-wasm turns the string into a one-part ColumnPath). */
const MAP_LEAVES = ['custom_properties.entries.value', 'custom_properties.key_value.value'];

/** The table-metadata rule: primary key, cursor and sequence columns. */
function plainColumnsOf(meta: typeof EVENTS_METADATA): string[] {
  return [...new Set([...meta.primaryKeys, ...(meta.cursorField !== undefined ? [meta.cursorField] : []), ...(meta.sequenceBy ?? [])])];
}

/** The key-value metadata the runner embeds (the lakeflow.* schema metadata). */
const KV = new Map([...withTableMetadata(EVENTS_SCHEMA, EVENTS_METADATA).metadata].filter(([k]) => k.startsWith('lakeflow.')));

function noDictionary(columns: readonly string[]): Configure {
  return (b) => columns.reduce((acc, column) => acc.setColumnDictionaryEnabled(column, false), b);
}

function noStats(columns: readonly string[]): Configure {
  return (b) => columns.reduce((acc, column) => acc.setColumnStatisticsEnabled(column, EnabledStatistics.None), b);
}

/** Statistics off by default (so for the map's leaves), on for every top-level column. */
function topStats(level: EnabledStatistics): Configure {
  return (b) => [...firstBatchUnique, ...firstBatchRepeating].reduce((acc, column) => acc.setColumnStatisticsEnabled(column, level), b.setStatisticsEnabled(EnabledStatistics.None));
}

function both(...steps: Configure[]): Configure {
  return (b) => steps.reduce((acc, step) => step(acc), b);
}

/** Top-level columns whose first batch is mostly distinct values (the generic, data-driven rule). */
let firstBatchUnique: string[] = [];
let firstBatchRepeating: string[] = [];
let firstBatchUniqueStrings: string[] = [];

function classify(batch: RecordBatch): void {
  firstBatchUnique = [];
  firstBatchRepeating = [];
  firstBatchUniqueStrings = [];
  for (const field of batch.schema.fields) {
    const column = batch.getChild(field.name)!;
    if (field.typeId === 17 /* Map */) continue;
    const seen = new Set<unknown>();
    let values = 0;
    for (let i = 0; i < column.length; i++) {
      const v = column.get(i);
      if (v === null || v === undefined) continue;
      values++;
      seen.add(v);
    }
    (values > 0 && seen.size / values >= 0.5 ? firstBatchUnique : firstBatchRepeating).push(field.name);
    if (values > 0 && seen.size / values >= 0.5 && field.typeId === 5 /* Utf8 */) firstBatchUniqueStrings.push(field.name);
  }
}

const variants: readonly Variant[] = [
  { name: 'current (zstd, defaults)', configure: (b) => b },
  { name: 'no dict: high-card columns', configure: (b) => noDictionary(HIGH_CARDINALITY)(b) },
  { name: 'no dict: high-card + map value', configure: noDictionary([...HIGH_CARDINALITY, ...MAP_LEAVES]) },
  { name: 'no dict: key + cursor + sequence_by', configure: noDictionary(plainColumnsOf(EVENTS_METADATA)) },
  { name: 'no dict: first-batch unique >= 50%', configure: (b) => noDictionary(firstBatchUnique)(b) },
  { name: 'dict only: first-batch repeating', configure: (b) => firstBatchRepeating.reduce((acc, c) => acc.setColumnDictionaryEnabled(c, true), b.setDictionaryEnabled(false)) },
  { name: 'no dict: everywhere', configure: (b) => b.setDictionaryEnabled(false) },
  { name: 'stats none', configure: (b) => b.setStatisticsEnabled(EnabledStatistics.None) },
  { name: 'stats chunk', configure: (b) => b.setStatisticsEnabled(EnabledStatistics.Chunk) },
  { name: 'data page 8 MiB', configure: (b) => b.setDataPageSizeLimit(8 << 20) },
  { name: 'write batch 8192', configure: (b) => b.setWriteBatchSize(8192) },
  { name: 'write batch 256', configure: (b) => b.setWriteBatchSize(256) },
  { name: 'dict page 256 KiB', configure: (b) => b.setDictionaryPageSizeLimit(256 << 10) },
  { name: 'first-batch unique + stats chunk', configure: (b) => noDictionary(firstBatchUnique)(b).setStatisticsEnabled(EnabledStatistics.Chunk) },
  { name: 'first-batch unique + write batch 8192', configure: (b) => noDictionary(firstBatchUnique)(b).setWriteBatchSize(8192) },
  { name: 'unique + dict page 256 KiB', configure: (b) => noDictionary(firstBatchUnique)(b).setDictionaryPageSizeLimit(256 << 10) },
  { name: 'unique + stats none', configure: (b) => noDictionary(firstBatchUnique)(b).setStatisticsEnabled(EnabledStatistics.None) },
  { name: 'unique + no stats on unique strings', configure: (b) => noStats(firstBatchUniqueStrings)(noDictionary(firstBatchUnique)(b)) },
  { name: 'unique + dict 256K + no stats uniq str', configure: (b) => noStats(firstBatchUniqueStrings)(noDictionary(firstBatchUnique)(b)).setDictionaryPageSizeLimit(256 << 10) },
  { name: 'unique + stats only top-level (page)', configure: (b) => topStats(EnabledStatistics.Page)(noDictionary(firstBatchUnique)(b)) },
  { name: 'unique + stats only top-level (chunk)', configure: (b) => topStats(EnabledStatistics.Chunk)(noDictionary(firstBatchUnique)(b)) },
  { name: 'dict only repeating + stats top-level', configure: (b) => topStats(EnabledStatistics.Page)(firstBatchRepeating.reduce((acc, c) => acc.setColumnDictionaryEnabled(c, true), b.setDictionaryEnabled(false))) },
  { name: 'lz4_raw (for scale)', configure: (b) => b.setCompression(Compression.LZ4_RAW) },
  { name: 'uncompressed (for scale)', configure: (b) => b.setCompression(Compression.UNCOMPRESSED) },
  { name: 'CHOSEN: runner parquetWriterProperties', configure: (b) => b },
];
const CHOSEN = variants.length - 1;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function buildBatches(file: string, lines: number): Promise<RecordBatch[]> {
  const builder = new EventBatchBuilder(null, 'bench');
  const batches: RecordBatch[] = [];
  const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let count = 0;
  let offset = 0;
  for await (const text of input) {
    builder.line(text, offset);
    offset += Buffer.byteLength(text) + 1;
    if (++count >= lines) break;
    if (builder.rows >= 16_384) batches.push(builder.flush());
  }
  input.close();
  if (builder.rows > 0) batches.push(builder.flush());
  return batches;
}

function toWasm(ipc: Uint8Array): WasmRecordBatch[] {
  const table = WasmTable.fromIPCStream(ipc);
  try {
    return table.recordBatches();
  } finally {
    table.free();
  }
}

/** Encode once; returns the encode CPU seconds (IPC → wasm conversion excluded) and the file bytes. */
async function encode(batches: readonly RecordBatch[], ipcs: readonly Uint8Array[], index: number, out: string): Promise<{ cpu: number; bytes: Uint8Array }> {
  const wasm = ipcs.flatMap(toWasm);
  const kv = KV;
  const start = process.cpuUsage(); // the chosen variant's column plan (sampling the first batch) is counted
  const props =
    index === CHOSEN
      ? parquetWriterProperties({ keyValueMetadata: kv, rowGroupRows: ROW_GROUP_ROWS, createdBy: 'bench', columns: parquetColumnPlan([batches[0]!], primaryKeysOf(kv)) })
      : variants[index]!.configure(
          new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setMaxRowGroupSize(ROW_GROUP_ROWS).setCreatedBy('bench').setKeyValueMetadata(kv),
        ).build();
  let next = 0;
  const input = new ReadableStream<WasmRecordBatch>({
    pull(controller) {
      const batch = wasm[next++];
      if (batch) controller.enqueue(batch);
      else controller.close();
    },
  });
  const output = (await transformParquetStream(input, props)) as ReadableStream<Uint8Array>;
  const chunks: Uint8Array[] = [];
  for await (const chunk of output) chunks.push(chunk);
  const cpu = cpuSeconds(start);
  const bytes = Buffer.concat(chunks);
  await fs.writeFile(out, bytes);
  return { cpu, bytes };
}

interface Check {
  readonly rows: number;
  readonly hash: string;
  readonly types: string;
}

async function main(): Promise<void> {
  const lines = Number(process.argv[2] ?? 150_000);
  const repeats = Number(process.argv[3] ?? 2);
  const file = process.argv[4] ?? DEFAULT_FILE;
  // PARQUET_VARIANTS=regex limits the run to matching variants (the baseline and the chosen one always run).
  const only = process.env.PARQUET_VARIANTS ? new RegExp(process.env.PARQUET_VARIANTS) : undefined;
  const selected = (i: number) => i === 0 || i === CHOSEN || only === undefined || only.test(variants[i]!.name);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parquet-settings-'));

  let start = process.cpuUsage();
  const batches = await buildBatches(file, lines);
  const rows = batches.reduce((n, b) => n + b.numRows, 0);
  console.log(`built ${batches.length} batches, ${rows} rows in ${cpuSeconds(start).toFixed(2)} CPU s`);
  const ipcs = batches.map((b) => tableToIPC(new ArrowTable([b]), 'stream'));
  start = process.cpuUsage();
  for (const ipc of ipcs) for (const b of toWasm(ipc)) b.free();
  console.log(`IPC → wasm conversion (not in the numbers below): ${cpuSeconds(start).toFixed(2)} CPU s\n`);

  const duck = await openDuck();
  const check = async (parquet: string): Promise<Check> => {
    const scan = `read_parquet(${sqlString(parquet)})`;
    const [row] = await duck.all(
      `SELECT count(*)::INTEGER AS rows, sum(hash(t))::VARCHAR AS hash,
              any_value(typeof(t.time)) || ' / ' || any_value(typeof(t.custom_properties)) AS types FROM ${scan} t`,
    );
    return row as unknown as Check;
  };

  // A few values straight from the Arrow batches, looked up in the chosen file below.
  const first = batches[0]!;
  const samples = [0, 1, Math.floor(first.numRows / 2), first.numRows - 1].map((i) => ({
    dedupe: String(first.getChild('dedupe_key')!.get(i)),
    time: Number(first.getChild('time')!.get(i)),
    insertId: first.getChild('insert_id')!.get(i) as string | null,
    custom: first.getChild('custom_properties')!.get(i)?.toJSON() as Record<string, string> | undefined,
  }));

  classify(first);
  console.log(`first-batch unique columns: ${firstBatchUnique.join(', ')}`);
  const plan = parquetColumnPlan([first], primaryKeysOf(KV));
  console.log(`runner plan, no dictionary: ${plan.statistics.filter((c) => !plan.dictionary.includes(c)).join(', ')}\n`);
  await encode(batches, ipcs, 0, path.join(dir, 'warm-up.parquet')); // JIT and WASM memory growth out of the numbers
  // Rounds interleave the variants, so a burst of load from elsewhere hits them all alike; min and median per variant.
  const cpus = variants.map(() => [] as number[]);
  const sizes = variants.map(() => 0);
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < variants.length; i++) {
      if (!selected(i)) continue;
      const result = await encode(batches, ipcs, i, path.join(dir, `v${i}.parquet`));
      cpus[i]!.push(result.cpu);
      sizes[i] = result.bytes.byteLength;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;
  let baseline: Check | undefined;
  console.log('variant'.padEnd(42) + 'CPU min'.padStart(9) + 'CPU med'.padStart(9) + 'Δ med'.padStart(8) + 'bytes'.padStart(12) + 'Δ bytes'.padStart(9) + 'rows'.padStart(8) + '  readback');
  for (let i = 0; i < variants.length; i++) {
    if (!selected(i)) continue;
    const got = await check(path.join(dir, `v${i}.parquet`));
    baseline ??= got;
    const same = got.rows === rows && got.hash === baseline.hash && got.types === baseline.types;
    console.log(
      variants[i]!.name.padEnd(42) +
        Math.min(...cpus[i]!).toFixed(3).padStart(9) +
        median(cpus[i]!).toFixed(3).padStart(9) +
        pct(median(cpus[i]!), median(cpus[0]!)).padStart(8) +
        String(sizes[i]).padStart(12) +
        pct(sizes[i]!, sizes[0]!).padStart(9) +
        String(got.rows).padStart(8) +
        `  ${same ? 'same' : `DIFFERENT ${JSON.stringify(got)}`}`,
    );
  }
  console.log(`\nbaseline types: ${baseline!.types}`);

  const chosen = `read_parquet(${sqlString(path.join(dir, `v${CHOSEN}.parquet`))})`;
  for (const s of samples) {
    const [row] = await duck.all(
      `SELECT epoch_ms(time)::BIGINT AS time, insert_id, map_keys(custom_properties) AS k, map_values(custom_properties) AS v
       FROM ${chosen} WHERE dedupe_key = ${sqlString(s.dedupe)}`,
    );
    const custom = row ? Object.fromEntries((row.k as string[]).map((k, j) => [k, (row.v as string[])[j]])) : undefined;
    const ok = row !== undefined && Number(row.time) === s.time && row.insert_id === s.insertId && JSON.stringify(custom) === JSON.stringify(s.custom ?? {});
    console.log(`sample ${s.dedupe.slice(0, 16)}…: ${ok ? 'equal' : `MISMATCH ${JSON.stringify({ row, s }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`}`);
  }
  const encodings = await duck.all(
    `SELECT path_in_schema AS col, string_agg(DISTINCT encodings, ' | ') AS enc, bool_or(stats_min_value IS NOT NULL) AS stats
     FROM parquet_metadata(${sqlString(path.join(dir, `v${CHOSEN}.parquet`))})
     WHERE path_in_schema IN ('dedupe_key', 'time', 'event', 'custom_properties, key_value, value', 'custom_properties, entries, value') OR path_in_schema LIKE 'custom_properties%'
     GROUP BY 1 ORDER BY 1`,
  );
  console.log('chosen encodings:', JSON.stringify(encodings));
  duck.close();
  await fs.rm(dir, { recursive: true, force: true });
}

await main();
