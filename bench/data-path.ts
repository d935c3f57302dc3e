/**
 * The data-file hot path, measured on real-shaped events (bench/generator.ts lines through EventBatchBuilder, in
 * 16k-row batches, one day so one partition): per N events, the CPU seconds of
 *   1. normalisation + stats: partition check and strip, ms → µs timestamps, Delta stats (lakehouse/data);
 *   2. Parquet encoding of the stored batches, in-thread (what the encoder worker spends), for scale;
 *   3. takeRows dropping ~1% of the rows (a merge dropping re-sent copies), and in a random order (worst case);
 *   4. the same selections cell by cell (runner/arrow-rows cellOf + batchFromCells), as the old merge did.
 * CPU time (process.cpuUsage) rather than wall time: the machine is shared. Not a test.
 *
 *   node --import tsx bench/data-path.ts [events=1000000] [repeats=3]
 */
import { Table as ArrowTable, tableToIPC, type RecordBatch } from 'apache-arrow';
import { takeRows, withTableMetadata } from '../connector-spec/index.js';
import { DataFileStats } from '../lakehouse/data/stats.js';
import { planStoredLayout, storedBatch } from '../lakehouse/data/stored-batch.js';
import { ParquetFileWriter } from '../lakehouse/parquet/parquet-writer.js';
import type { StoredObject, Upload } from '../lakehouse/storage/types.js';
import { batchFromCells, cellOf } from '../runner/arrow-rows.js';
import { EventBatchBuilder } from '../sources/mixpanel/events/builder.js';
import { EVENTS_METADATA, EVENTS_SCHEMA } from '../sources/mixpanel/events/schema.js';
import { eventLine, prng } from './generator.js';

const DAY_START = Date.UTC(2026, 2, 31);
const BATCH = 16_384;

function cpu(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function* batches(events: number): Generator<RecordBatch> {
  const builder = new EventBatchBuilder(null, 'bench');
  for (let i = 0; i < events; i++) {
    const timeMs = DAY_START + Math.floor((i / events) * 86_000_000);
    builder.line(eventLine(1, i, { timeMs, processingMs: timeMs + 5_000 }), 0);
    if (builder.rows >= BATCH) yield builder.flush();
  }
  if (builder.rows > 0) yield builder.flush();
}

class CountingUpload implements Upload {
  bytes = 0;
  async write(chunk: Uint8Array): Promise<void> {
    this.bytes += chunk.byteLength;
  }
  async close(): Promise<StoredObject> {
    return { path: 'bench.parquet', size: this.bytes, modifiedMs: 0 };
  }
  async abort(): Promise<void> {}
}

function dropOnePercent(n: number, rand: () => number): Int32Array {
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (rand() >= 0.01) keep.push(i);
  return Int32Array.from(keep);
}

function shuffled(n: number, rand: () => number): Int32Array {
  const out = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function perCell(batch: RecordBatch, indices: Int32Array): RecordBatch {
  const columns = batch.schema.fields.map((_, c) => {
    const vector = batch.getChildAt(c)!;
    return Array.from(indices, (row) => cellOf(vector, row));
  });
  return batchFromCells(batch.schema, columns);
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 1_000_000);
  const repeats = Number(process.argv[3] ?? 3);
  const schema = withTableMetadata(EVENTS_SCHEMA, EVENTS_METADATA);
  let start = process.cpuUsage();
  const input = [...batches(events)];
  const day = String(input[0]!.getChild('event_date')!.get(0));
  console.log(`${events} events in ${input.length} batches (${schema.fields.length} columns, partition event_date=${day}), built in ${cpu(start).toFixed(1)} CPU s`);

  const rows: { stage: string; seconds: number[] }[] = [];
  const time = async (stage: string, work: () => unknown, times = repeats): Promise<void> => {
    const seconds: number[] = [];
    for (let r = 0; r < times; r++) {
      const since = process.cpuUsage();
      await work();
      seconds.push(cpu(since));
    }
    rows.push({ stage, seconds });
  };

  const layout = planStoredLayout(schema, { event_date: day });
  const stored: RecordBatch[] = [];
  await time('normalise + stats (lakehouse/data)', () => {
    stored.length = 0;
    const stats = new DataFileStats(layout.schema.fields, new Set(['dedupe_key']), layout.partitions);
    for (const batch of input) {
      const out = storedBatch(batch, layout);
      stats.add(out);
      stored.push(out);
    }
    return stats.toJson();
  });
  await time('  of which stats only', () => {
    const stats = new DataFileStats(layout.schema.fields, new Set(['dedupe_key']), layout.partitions);
    for (const batch of stored) stats.add(batch);
    return stats.toJson();
  });
  await time('Parquet encode, in-thread (for scale)', async () => {
    const upload = new CountingUpload();
    const writer = await ParquetFileWriter.open({ upload, keyValueMetadata: new Map() });
    for (const batch of stored) await writer.write(batch);
    await writer.close();
  });
  await time('  of which Arrow IPC of the batches (worker hand-off)', () => {
    for (const batch of stored) tableToIPC(new ArrowTable([batch]), 'stream');
  });

  const rand = prng(7);
  const drops = input.map((b) => dropOnePercent(b.numRows, rand));
  const orders = input.map((b) => shuffled(b.numRows, rand));
  await time('takeRows, drop 1% (runs)', () => input.forEach((b, i) => takeRows(b, drops[i]!)));
  await time('takeRows, random order', () => input.forEach((b, i) => takeRows(b, orders[i]!)));
  // Per cell is slow: one run each.
  await time('per cell (cellOf + batchFromCells), drop 1%', () => input.forEach((b, i) => perCell(b, drops[i]!)), 1);
  await time('per cell, random order', () => input.forEach((b, i) => perCell(b, orders[i]!)), 1);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nCPU seconds per ${events} events (median of ${repeats} runs, per cell: 1 run; min – max)`);
  for (const row of rows) {
    console.log(`  ${row.stage.padEnd(52)} ${median(row.seconds).toFixed(3).padStart(7)}  (${Math.min(...row.seconds).toFixed(3)} – ${Math.max(...row.seconds).toFixed(3)})`);
  }
  const norm = median(rows[0]!.seconds);
  const encode = median(rows[2]!.seconds);
  console.log(`\nnormalise + stats = ${((norm / encode) * 100).toFixed(1)}% of in-thread encoding`);
  console.log(`takeRows vs per cell: drop 1% ${(median(rows[6]!.seconds) / median(rows[4]!.seconds)).toFixed(0)}× faster, random order ${(median(rows[7]!.seconds) / median(rows[5]!.seconds)).toFixed(0)}× faster`);
}

await main();
