/**
 * The SCD type 1 cdc merge of one call into a Delta table, copy-on-write and without per-cell work on the bulk
 * of the rows. The call's batches are staged (`CallStaging`) and their keys hashed into a `KeyHashIndex`
 * (8 bytes a row) while they arrive. Then:
 *  1. the key columns of the live files in the partitions the call touched are read and hashed; a live file
 *     holding a hash of the call is a "hit". A file whose stats put the source's `keyDerivedFrom` column out of the
 *     call's range (`keyRange`) cannot hold a key of the call and is not read;
 *  2. the suspects — hashes repeated within the call, and hashes hit in live files — are confirmed with exact
 *     keys and compared by `sequence_by` (the newest wins; an incoming row wins a tie with an existing one; within
 *     the call the later row wins a tie; `CopyResolver`). Only suspects (re-sent copies, updates) ever become JS
 *     values. A merge that rewrites no live file resolves the staged batches while it writes them (a batch is final
 *     once every copy of its suspects has been read, usually a batch or two later); any other merge first;
 *  3. staged batches are written with their losing rows dropped (`takeRows` over the Arrow buffers), hit files
 *     holding a losing row are rewritten from column slices of the rows they keep, and every other file is left
 *     alone. A touched partition with more than COMPACT_ABOVE_FILES live files is compacted into the new files.
 *     A partitioned table is written one partition at a time: each touched partition gets one new file, or several
 *     when it holds more than MAX_FILE_ROWS rows (staged rows cut into contiguous runs, rewritten files packed whole
 *     after them), and only one file is open per writer (one row group in its encoder), however the call's batches
 *     interleave partitions.
 * Copies re-sent within the call therefore collapse before anything is written.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { takeRows } from '../connector-spec/index.js';
import type { AddFile, ColumnRange, DeltaTable } from '../lakehouse/index.js';
import { columnsOf } from './arrow-rows.js';
import type { CallStaging } from './call-staging.js';
import { CopyResolver } from './copy-resolver.js';
import { hashKeys, type KeyHashIndex } from './key-index.js';
import { rowsOfPartition, type PartitionValue } from './partition-split.js';
import type { TableDataWriter } from './table-data-writer.js';

/** A touched partition holding more live files than this is compacted by the merge. */
export const COMPACT_ABOVE_FILES = 8;

export interface CdcMergeInput {
  readonly table: DeltaTable;
  /** Live files of the snapshot the call was planned on. */
  readonly live: readonly AddFile[];
  readonly staging: CallStaging;
  /** Hashes of every staged row's key, in staging order. */
  readonly index: KeyHashIndex;
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  readonly partitionBy?: string;
  /** The table's logical schema (what staged batches carry); live rows are read back cast to it. */
  readonly schema: Schema;
  /** Writes every new file, one at a time, encoding on the calling thread. */
  readonly writer: TableDataWriter;
  /**
   * Writers that encode on their own threads, one file at a time each (the run's `mergeEncoders`, default one): asked for only by
   * a merge that rewrites no live file and has at least `lanesFromRows` staged rows, whose files are then written on
   * all of them at once. The merge closes them, or aborts them when it fails.
   */
  readonly lanes?: () => readonly TableDataWriter[];
  /** Staged rows from which the lanes are used (default LANES_FROM_ROWS). */
  readonly lanesFromRows?: number;
  /** Rows above which a partition's new rows go to several files (default MAX_FILE_ROWS; tests set it low). */
  readonly maxFileRows?: number;
  /**
   * The staged rows' range of the source's `keyDerivedFrom` column: step 1 reads no keys of a live file whose stats
   * share no unit of `granularity` with it (no key of the call can be in it).
   */
  readonly keyRange?: { readonly range: ColumnRange; readonly granularity: number };
}

export interface CdcMergeResult {
  readonly add: AddFile[];
  readonly remove: AddFile[];
  /** Incoming rows that replaced an existing key, plus copies collapsed within the call. */
  readonly rowsMerged: number;
  /** Partition values the merge read (for the commit's conflict check); '' for an unpartitioned table. */
  readonly readPartitions: string[];
  /** Live files of the touched partitions whose keys step 1 read, and those it skipped by `keyRange`. */
  readonly keyFilesRead: number;
  readonly keyFilesSkipped: number;
}

/** The rows of one new file: staged batches (of one partition value) and files rewritten into it. */
interface WriteJob {
  readonly value: PartitionValue;
  readonly batches: number[];
  readonly files: { file: AddFile; drop: ReadonlySet<number> | undefined }[];
  /** Rows (staged batches counted whole, rewritten files by their numRecords): what the lanes balance. */
  rows: number;
}

/**
 * Lanes of a big merge (`--merge-encoders`, default one). Encoding (WebAssembly ZSTD Parquet) is most of a merge's
 * time: on the merging thread alone the other core idles; on one encoder worker the merging thread reads, filters and
 * hands over batches while the worker encodes (a 1M-event first load 7–20% faster, same peak); on two, the files are
 * shared out. Only merges that rewrite no live file use them: those read live rows back through the merging thread's
 * WebAssembly heap, and another heap beside it would cost more memory still (README, Measured, S and T).
 *
 * Staged rows from which a merge without rewrites is written on the lanes (below, worker start-up is not repaid).
 */
export const LANES_FROM_ROWS = 262_144;
/** A partition is cut for the lanes only into files of at least this many staged rows. */
export const MIN_LANE_FILE_ROWS = 131_072;
/**
 * No new file holds more rows than this (`splitJobs`), on the lanes or on the merging thread: a partition's staged rows
 * above it are cut into files of contiguous rows (a 2.5M-event day into three of ~830k), and the files a merge
 * rewrites are packed whole after them. An encoder's WebAssembly heap grows over a file and never shrinks (26 → 43 MiB
 * over 1.67M rows, 29 over 1M), and a file rewritten by every later incremental should not hold a whole big day.
 */
export const MAX_FILE_ROWS = 1_048_576;

/**
 * The jobs for `lanes` lanes, largest first: a partition holding about a lane's share of the rows or more (and at least
 * twice MIN_LANE_FILE_ROWS), or more than MAX_FILE_ROWS, is cut into contiguous runs of its staged batches, one file
 * each. Its rewritten files follow its staged rows, each joining the last run while that run stays within
 * MAX_FILE_ROWS and starting a new one otherwise (a file is never cut: its rows go to one new file). With one lane only
 * partitions above MAX_FILE_ROWS are cut, and the order is kept.
 */
export function splitJobs(jobs: readonly WriteJob[], lanes: number, rowsOf: (batch: number) => number, maxFileRows = MAX_FILE_ROWS): WriteJob[] {
  const total = jobs.reduce((n, j) => n + j.rows, 0);
  const share = Math.max(MIN_LANE_FILE_ROWS, Math.ceil(total / lanes));
  const out: WriteJob[] = [];
  for (const job of jobs) {
    const forLanes = lanes <= 1 ? 1 : Math.min(lanes, Math.floor(job.rows / MIN_LANE_FILE_ROWS), Math.round(job.rows / share));
    const pieces = Math.min(job.batches.length + job.files.length, Math.max(forLanes, Math.ceil(job.rows / maxFileRows)));
    if (pieces <= 1) {
      out.push(job);
      continue;
    }
    const per = job.rows / pieces;
    let current: WriteJob = { value: job.value, batches: [], files: [], rows: 0 };
    let made = 0;
    const cut = (): void => {
      made++;
      out.push(current);
      current = { value: job.value, batches: [], files: [], rows: 0 };
    };
    for (const b of job.batches) {
      const rows = rowsOf(b);
      if (current.rows > 0 && ((current.rows >= per && made + 1 < pieces) || current.rows + rows > maxFileRows)) cut();
      current.batches.push(b);
      current.rows += rows;
    }
    for (const file of job.files) {
      const rows = keptRowsOf(file);
      if (current.rows > 0 && current.rows + rows > maxFileRows) cut();
      current.files.push(file);
      current.rows += rows;
    }
    out.push(current);
  }
  return lanes <= 1 ? out : out.sort((a, b) => b.rows - a.rows);
}

/** Rows a rewritten file keeps (its `numRecords` less its losers; 0 when the file has no stats). */
function keptRowsOf({ file, drop }: { readonly file: AddFile; readonly drop: ReadonlySet<number> | undefined }): number {
  return Math.max(0, (file.numRecords ?? 0) - (drop?.size ?? 0));
}

/**
 * Run `jobs` on the lanes: each lane takes the next job when its last one is done. A failure stops every lane from
 * taking another job; the first failure is thrown once every lane has stopped (nothing is left writing).
 */
async function runOnLanes<L, J>(jobs: readonly J[], lanes: readonly L[], run: (lane: L, job: J) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    lanes.map(async (lane) => {
      while (failure === undefined && next < jobs.length) {
        const job = jobs[next++]!;
        try {
          await run(lane, job);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure) throw failure.error;
}

export function partitionKey(value: PartitionValue): string {
  return value ?? '\u0000null';
}

/** Rows of `n` not in `drop`, as gather indices. */
function keptRows(n: number, drop: ReadonlySet<number>): Int32Array {
  const out = new Int32Array(n - drop.size);
  let k = 0;
  for (let r = 0; r < n; r++) if (!drop.has(r)) out[k++] = r;
  return out;
}

function partitionOfFile(file: AddFile, partitionBy: string | undefined): string {
  return partitionBy === undefined ? '' : partitionKey(file.partitionValues[partitionBy] ?? null);
}

export async function mergeCdc(input: CdcMergeInput): Promise<CdcMergeResult> {
  const { keys, sequenceBy, partitionBy, index, staging } = input;
  index.seal();

  // Partitions the call touched (one pass over the staged partition column).
  const touched = new Set<string>(partitionBy === undefined ? [''] : [...staging.partitions].map(partitionKey));
  const candidates = input.live.filter((f) => touched.has(partitionOfFile(f, partitionBy)));
  const filesPerPartition = new Map<string, AddFile[]>();
  for (const file of candidates) {
    const p = partitionOfFile(file, partitionBy);
    let list = filesPerPartition.get(p);
    if (!list) filesPerPartition.set(p, (list = []));
    list.push(file);
  }
  const compacted = new Set([...filesPerPartition].filter(([, files]) => files.length > COMPACT_ABOVE_FILES).map(([p]) => p));

  // 1. Which live files may hold a key of the call: key columns only, hashed at buffer level; files whose stats put
  // the key's source column out of the call's range are not read.
  const suspects = new Set<number>(index.duplicates());
  const hitFiles: AddFile[] = [];
  const keyRange = input.keyRange;
  const lookups = keyRange === undefined ? candidates : candidates.filter((file) => keyRange.range.near(file, keyRange.granularity));
  for (const file of lookups) {
    let hit = false;
    for await (const group of input.table.readDataFile(file, { columns: keys })) {
      const hashes = hashKeys(columnsOf(group, keys, file.path), group.numRows);
      for (let r = 0; r < hashes.length; r++) {
        if (index.has(hashes[r]!)) {
          suspects.add(hashes[r]!);
          hit = true;
        }
      }
    }
    if (hit) hitFiles.push(file);
  }
  index.release(); // every live file was looked up: the call's hashes are not needed while the rows are written

  // 2. Exact keys of the suspects decide the winners (copy-resolver.ts). A merge that rewrites no live file (no hit
  // file, no compaction) resolves staged batches while it writes them; any other reads everything first.
  const resolver = new CopyResolver({ staging, table: input.table, schema: input.schema, keys, sequenceBy, suspects, occurrences: (h) => index.occurrences(h), hitFiles });
  let stagedRows = 0;
  for (let b = 0; b < staging.batchCount; b++) stagedRows += staging.rowsOf(b);
  const onLanes = hitFiles.length === 0 && compacted.size === 0 && stagedRows >= (input.lanesFromRows ?? LANES_FROM_ROWS) && input.lanes !== undefined;
  if (!onLanes) await resolver.finish(); // (a job resolves its batches as it goes either way: through(b) below)

  // 3. Staged batches without their losers; hit files holding a loser and compacted partitions rewritten.
  const rewrite = new Map<string, { file: AddFile; drop: ReadonlySet<number> | undefined }>();
  hitFiles.forEach((file, j) => {
    const drop = resolver.losersOf(-(j + 1));
    if (drop && drop.size > 0) rewrite.set(file.path, { file, drop });
  });
  for (const p of compacted) for (const file of filesPerPartition.get(p)!) if (!rewrite.has(file.path)) rewrite.set(file.path, { file, drop: undefined });
  const rewriteFile = async (writer: TableDataWriter, file: AddFile, drop: ReadonlySet<number> | undefined, value: PartitionValue): Promise<void> => {
    let base = 0;
    for await (const group of input.table.readDataFile(file, { schema: input.schema })) {
      for (const batch of group.batches as RecordBatch[]) {
        const n = batch.numRows;
        let local: Set<number> | undefined;
        if (drop) for (const row of drop) if (row >= base && row < base + n) (local ??= new Set()).add(row - base);
        await writer.writeToPartition(value, local ? takeRows(batch, keptRows(n, local)) : batch);
        base += n;
      }
    }
  };
  // One job per new file: a partition's staged rows (an unpartitioned table's: all of them), then the rows kept from
  // its rewritten files; above MAX_FILE_ROWS, several (splitJobs). One file open at a time per writer, so its encoder
  // buffers one row group, not one per open file. A staged batch holding rows of several partitions (late events) is
  // read once for each.
  const byPartition = new Map<string, WriteJob>();
  const entry = (value: PartitionValue): WriteJob => {
    const k = partitionKey(value);
    let e = byPartition.get(k);
    if (!e) byPartition.set(k, (e = { value, batches: [], files: [], rows: 0 }));
    return e;
  };
  for (let b = 0; b < staging.batchCount; b++) {
    for (const value of partitionBy === undefined ? [null] : staging.partitionsOf(b)) {
      const e = entry(value);
      e.batches.push(b);
      e.rows += staging.rowsOf(b);
    }
  }
  for (const r of rewrite.values()) {
    const e = entry(partitionBy === undefined ? null : (r.file.partitionValues[partitionBy] ?? null));
    e.files.push(r);
    e.rows += keptRowsOf(r);
  }
  const runJob = async (writer: TableDataWriter, { value, batches, files }: WriteJob): Promise<void> => {
    for await (const { index: b, batch } of staging.read(batches)) {
      await resolver.through(b);
      const drop = resolver.losersOf(b);
      const rows = partitionBy === undefined ? (drop && drop.size > 0 ? keptRows(batch.numRows, drop) : null) : rowsOfPartition(batch, partitionBy, value, drop);
      await writer.writeToPartition(value, rows === null ? batch : takeRows(batch, rows));
    }
    for (const { file, drop } of files) await rewriteFile(writer, file, drop, value);
    await writer.finishPartition(value);
  };
  const lanes = onLanes ? input.lanes!() : [];
  if (lanes.length > 0) {
    const add: AddFile[] = [];
    try {
      await runOnLanes(splitJobs([...byPartition.values()], lanes.length, (b) => staging.rowsOf(b), input.maxFileRows), lanes, runJob);
      await resolver.finish(); // every batch was resolved for its job; this only completes the counts
      for (const lane of lanes) add.push(...(await lane.close()));
    } catch (error) {
      for (const lane of lanes) await lane.abort();
      await input.writer.discard(add); // files of lanes that closed before another failed
      throw error;
    }
    add.push(...(await input.writer.close())); // nothing was written to it
    return result(add);
  }
  for (const job of splitJobs([...byPartition.values()], 1, (b) => staging.rowsOf(b), input.maxFileRows)) await runJob(input.writer, job);
  await resolver.finish();
  return result(await input.writer.close());

  function result(add: AddFile[]): CdcMergeResult {
    return {
      add,
      remove: [...rewrite.values()].map((r) => r.file),
      rowsMerged: resolver.rowsMerged,
      keyFilesRead: lookups.length,
      keyFilesSkipped: candidates.length - lookups.length,
      readPartitions: partitionBy === undefined ? [''] : [...staging.partitions].map((v) => v ?? ''),
    };
  }
}
