/**
 * cdc merge by primary key with copy-on-write: the newest `sequence_by` wins and the current-state table
 * keeps one row per key (SCD type 1), or every version is kept with `__start_at`/`__end_at`
 * (SCD type 2). Only files holding an affected key (in the partitions the call touched) are rewritten.
 *
 * Memory: keys and sequence values of one call, plus one row group at a time. (SCD type 1 tables take the
 * indexed merge in merge-scd1.ts, which does not read the call back; this one serves SCD type 2.)
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { Field, Schema, type DataType, type Table, type Vector } from 'apache-arrow';
import { DataError } from '../connector-spec/index.js';
import { batchFromCells, cellOf, compareSequence, keyString, type Cell } from './arrow-rows.js';
import type { PartFile, PartitionedWriter } from './partitioned-writer.js';
import { readParquetRowGroups } from '../lakehouse/parquet/parquet-reader.js';

export const START_AT = '__start_at';
export const END_AT = '__end_at';
const OUTPUT_BATCH_ROWS = 16_384;

/** The rows a merge writes into one output partition, collected column by column and written in batches. */
export class PartitionRows {
  #columns: Cell[][];
  #rows = 0;

  constructor(
    private readonly writer: PartitionedWriter,
    private readonly schema: Schema,
    private readonly partition: string | undefined,
  ) {
    this.#columns = schema.fields.map(() => []);
  }

  /** Append one row given as its cell per output field; writes a batch when full. */
  async push(cellAt: (column: number) => Cell): Promise<void> {
    for (let c = 0; c < this.#columns.length; c++) this.#columns[c]!.push(cellAt(c));
    if (++this.#rows >= OUTPUT_BATCH_ROWS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#rows === 0) return;
    await this.writer.writeToPartition(this.partition, batchFromCells(this.schema, this.#columns));
    this.#columns = this.schema.fields.map(() => []);
    this.#rows = 0;
  }
}
/** A touched partition holding more live files than this is compacted into one file by the merge. */
export const COMPACT_ABOVE_FILES = 8;

export interface MergeOptions {
  readonly table: string;
  /** Files the call staged (source rows, not merged yet). */
  readonly incoming: readonly PartFile[];
  /** Live files of the table, relative to `tableDir`. */
  readonly live: readonly string[];
  readonly tableDir: string;
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  readonly scd2: boolean;
  readonly partitionBy?: string;
  readonly outputSchema: Schema;
  /** Where merged files go (staged data dir of this version). */
  readonly writer: PartitionedWriter;
  /** Staged data dir, for the fast path (incoming files moved as they are). */
  readonly dataDir: string;
}

export interface MergeResult {
  readonly add: PartFile[];
  readonly remove: string[];
  readonly rowsMerged: number;
}

/** One version of a key: its sequence values and where the row is. */
export interface Version {
  readonly seq: Cell[];
  /** ≥ 0: incoming file index; < 0: −(live or hit file index + 1). */
  readonly origin: number;
  readonly row: number;
  end?: Cell;
}

/** Output schema of an SCD2 table: source fields + `__start_at`/`__end_at` typed like the first sequence column. */
export function scd2Schema(schema: Schema, sequenceBy: readonly string[]): Schema {
  const first = schema.fields.find((f) => f.name === sequenceBy[0]);
  if (!first) throw new DataError(`sequence_by column ${sequenceBy[0]} is not in the schema; set table_configuration.sequence_by to a column of the table`, { code: 'RUNNER_BAD_SEQUENCE_BY' });
  const type: DataType = first.type;
  return new Schema([...schema.fields.filter((f) => f.name !== START_AT && f.name !== END_AT), new Field(START_AT, type, true), new Field(END_AT, type, true)], schema.metadata);
}

/** `event_date=2026-11-20` of a relative path, or '' for an unpartitioned file. */
export function partitionOf(relPath: string, partitionBy: string | undefined): string {
  if (partitionBy === undefined) return '';
  const first = relPath.split('/')[0] ?? '';
  return first.startsWith(`${partitionBy}=`) && relPath.includes('/') ? first.slice(partitionBy.length + 1) : '';
}

/** The named columns of a table read back from `file`; a missing one is a DataError naming the spec keys. */
export function vectors(table: Table, names: readonly string[], file: string): Vector[] {
  return names.map((name) => {
    const v = table.getChild(name);
    if (!v) throw new DataError(`${file}: column ${name} is missing; check primary_keys / sequence_by in table_configuration`, { code: 'RUNNER_MISSING_COLUMN', context: { path: file } });
    return v;
  });
}

export async function mergeCdc(options: MergeOptions): Promise<MergeResult> {
  const { keys, sequenceBy, scd2, partitionBy } = options;
  const keyAndSeq = [...new Set([...keys, ...sequenceBy])];
  const incomingPartitions = new Set(options.incoming.map((f) => partitionOf(f.relPath, partitionBy)));
  // Phase A: versions from the incoming files.
  const winners = new Map<string, Version>(); // SCD1
  const history = new Map<string, Map<string, Version>>(); // SCD2
  let incomingRows = 0;
  for (let i = 0; i < options.incoming.length; i++) {
    const file = options.incoming[i]!;
    let base = 0;
    for await (const table of readParquetRowGroups(file.absPath, keyAndSeq)) {
      const kv = vectors(table, keys, file.relPath);
      const sv = vectors(table, sequenceBy, file.relPath);
      for (let r = 0; r < table.numRows; r++) {
        incomingRows++;
        const key = keyString(kv.map((v) => cellOf(v, r)));
        const version: Version = { seq: sv.map((v) => cellOf(v, r)), origin: i, row: base + r };
        if (scd2) {
          let versions = history.get(key);
          if (!versions) history.set(key, (versions = new Map()));
          versions.set(keyString(version.seq), version);
        } else {
          const current = winners.get(key);
          if (!current || compareSequence(version.seq, current.seq) >= 0) winners.set(key, version);
        }
      }
      base += table.numRows;
    }
  }
  const incomingKeys = scd2 ? history : winners;
  // Phase B: which live files hold an incoming key; their versions compete.
  const candidates = options.live.filter((rel) => partitionBy === undefined || incomingPartitions.has(partitionOf(rel, partitionBy)));
  const affected: number[] = [];
  const updatedKeys = new Set<string>();
  for (let j = 0; j < candidates.length; j++) {
    const rel = candidates[j]!;
    let hit = false;
    let base = 0;
    for await (const table of readParquetRowGroups(path.join(options.tableDir, rel), keyAndSeq)) {
      const kv = vectors(table, keys, rel);
      const sv = vectors(table, sequenceBy, rel);
      for (let r = 0; r < table.numRows; r++) {
        const key = keyString(kv.map((v) => cellOf(v, r)));
        if (!incomingKeys.has(key)) continue;
        hit = true;
        updatedKeys.add(key);
        const version: Version = { seq: sv.map((v) => cellOf(v, r)), origin: -(j + 1), row: base + r };
        if (scd2) {
          const versions = history.get(key)!;
          const seqKey = keyString(version.seq);
          if (!versions.has(seqKey)) versions.set(seqKey, version); // incoming wins a tie
        } else if (compareSequence(version.seq, winners.get(key)!.seq) > 0) {
          winners.set(key, version); // strictly newer existing row wins over incoming
        }
      }
      base += table.numRows;
    }
    if (hit) affected.push(j);
  }
  // Compaction: a touched partition with many small files is rewritten as one.
  const perPartition = new Map<string, number[]>();
  candidates.forEach((rel, j) => {
    const p = partitionOf(rel, partitionBy);
    perPartition.set(p, [...(perPartition.get(p) ?? []), j]);
  });
  for (const files of perPartition.values()) {
    if (files.length > COMPACT_ABOVE_FILES) for (const j of files) if (!affected.includes(j)) affected.push(j);
  }
  affected.sort((a, b) => a - b);
  const rowsMerged = updatedKeys.size + (scd2 ? 0 : incomingRows - winners.size);
  // Fast path: nothing to merge, no duplicates: the incoming files are the new files.
  if (!scd2 && affected.length === 0 && incomingRows === winners.size) {
    const add: PartFile[] = [];
    for (const file of options.incoming) {
      const to = path.join(options.dataDir, file.relPath);
      await fs.mkdir(path.dirname(to), { recursive: true });
      await fs.rename(file.absPath, to);
      add.push({ ...file, absPath: to });
    }
    return { add, remove: [], rowsMerged };
  }
  // Chosen rows: origin:row → end value (SCD2) or true.
  const chosen = new Map<string, Cell | true>();
  if (scd2) {
    for (const versions of history.values()) {
      const sorted = [...versions.values()].sort((a, b) => compareSequence(a.seq, b.seq));
      sorted.forEach((v, i) => chosen.set(`${v.origin}:${v.row}`, i + 1 < sorted.length ? sorted[i + 1]!.seq[0]! : null));
    }
  } else {
    for (const v of winners.values()) chosen.set(`${v.origin}:${v.row}`, true);
  }
  // Phase C: per partition, rewrite affected files + winning incoming rows into one new file.
  const partitions = new Set<string>(incomingPartitions);
  for (const j of affected) partitions.add(partitionOf(candidates[j]!, partitionBy));
  const outFields = options.outputSchema.fields;
  for (const partition of [...partitions].sort()) {
    const sources: { origin: number; file: string }[] = [];
    options.incoming.forEach((f, i) => {
      if (partitionOf(f.relPath, partitionBy) === partition) sources.push({ origin: i, file: f.absPath });
    });
    for (const j of affected) {
      if (partitionOf(candidates[j]!, partitionBy) === partition) sources.push({ origin: -(j + 1), file: path.join(options.tableDir, candidates[j]!) });
    }
    const out = new PartitionRows(options.writer, options.outputSchema, partitionBy === undefined ? undefined : partition);
    for (const source of sources) {
      let base = 0;
      for await (const table of readParquetRowGroups(source.file)) {
        const kv = vectors(table, keys, source.file);
        const sv = vectors(table, sequenceBy, source.file);
        const outVectors = outFields.map((f) => table.getChild(f.name));
        for (let r = 0; r < table.numRows; r++) {
          const id = `${source.origin}:${base + r}`;
          let end: Cell | undefined;
          if (chosen.has(id)) {
            const mark = chosen.get(id)!;
            end = mark === true ? undefined : mark;
          } else {
            // Not a chosen version: drop it if its key was merged, keep untouched rows of rewritten files.
            if (source.origin >= 0 || incomingKeys.has(keyString(kv.map((v) => cellOf(v, r))))) continue;
          }
          await out.push((c) => {
            const name = outFields[c]!.name;
            if (scd2 && name === START_AT && (source.origin >= 0 || end !== undefined)) return cellOf(sv[0]!, r);
            if (scd2 && name === END_AT && end !== undefined) return end;
            const v = outVectors[c];
            return v ? cellOf(v, r) : null;
          });
        }
        base += table.numRows;
      }
    }
    await out.flush();
  }
  const add = await options.writer.close();
  return { add, remove: affected.map((j) => candidates[j]!), rowsMerged };
}
