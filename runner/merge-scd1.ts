/**
 * The SCD type 1 cdc merge without reading the call's data back. While the call was written, its keys were
 * hashed into a `KeyHashIndex` (8 bytes a row). The merge then:
 *  1. reads only the key columns of the live files in the partitions the call touched, one row group at a
 *     time, and notes which of them may hold an incoming key (a hash hit);
 *  2. if no key repeats within the call and no live file was hit, commits the staged files as they are
 *     (a first load into an empty partition never reads anything back);
 *  3. otherwise confirms the suspects with exact keys (key + sequence columns only, of the staged files and
 *     the hit live files), picks the newest `sequence_by` per key (an incoming row wins a tie with an existing
 *     one; within the call, the later row wins a tie), and rewrites only the files that hold a losing row,
 *     streaming them one row group at a time.
 * A touched partition with more than COMPACT_ABOVE_FILES live files is compacted into one file.
 * Memory: the hash index, the versions of the suspect keys, and one row group.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import type { Schema, Table } from 'apache-arrow';
import { cellOf, compareSequence, keyString } from './arrow-rows.js';
import { hashKeys, type KeyHashIndex } from './key-index.js';
import { COMPACT_ABOVE_FILES, PartitionRows, partitionOf, vectors, type MergeResult, type Version } from './merge.js';
import type { PartFile, PartitionedWriter } from './partitioned-writer.js';
import { readParquetRowGroups } from '../lakehouse/parquet/parquet-reader.js';


export interface IndexedMergeOptions {
  /** Files the call staged (source rows, not merged yet). */
  readonly incoming: readonly PartFile[];
  /** Hashes of every incoming row's key. */
  readonly index: KeyHashIndex;
  /** Live files of the table, relative to `tableDir`. */
  readonly live: readonly string[];
  readonly tableDir: string;
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  readonly partitionBy?: string;
  readonly outputSchema: Schema;
  /** Staged data dir of this version: kept incoming files are moved here as they are. */
  readonly dataDir: string;
  /** Writes rewritten files into `dataDir`; its file numbers must not clash with the incoming files'. */
  readonly writer: PartitionedWriter;
}


export async function mergeScd1Indexed(options: IndexedMergeOptions): Promise<MergeResult> {
  const { keys, sequenceBy, partitionBy, index } = options;
  index.seal();
  const keyAndSeq = [...new Set([...keys, ...sequenceBy])];
  const incomingPartitions = new Set(options.incoming.map((f) => partitionOf(f.relPath, partitionBy)));
  const candidates = options.live.filter((rel) => partitionBy === undefined || incomingPartitions.has(partitionOf(rel, partitionBy)));
  const livePerPartition = new Map<string, string[]>();
  for (const rel of candidates) {
    const p = partitionOf(rel, partitionBy);
    let list = livePerPartition.get(p);
    if (!list) livePerPartition.set(p, (list = []));
    list.push(rel);
  }
  const compacted = new Set([...livePerPartition].filter(([, files]) => files.length > COMPACT_ABOVE_FILES).map(([p]) => p));

  // 1. Which live files may hold an incoming key: key columns only, one row group at a time.
  const suspects = new Set<number>(index.duplicates());
  const hitFiles: string[] = [];
  for (const rel of candidates) {
    let hit = false;
    for await (const table of readParquetRowGroups(path.join(options.tableDir, rel), keys)) {
      const hashes = hashKeys(vectors(table, keys, rel), table.numRows);
      for (let r = 0; r < hashes.length; r++) {
        if (index.has(hashes[r]!)) {
          suspects.add(hashes[r]!);
          hit = true;
        }
      }
    }
    if (hit) hitFiles.push(rel);
  }

  // 2. Exact keys of the suspects decide the winners; every other version is a loser.
  const losers = new Map<number, Set<number>>();
  const lose = (v: Version) => {
    let rows = losers.get(v.origin);
    if (!rows) losers.set(v.origin, (rows = new Set()));
    rows.add(v.row);
  };
  let inCallCollapsed = 0;
  const updatedKeys = new Set<string>();
  if (suspects.size > 0) {
    const winners = new Map<string, Version>();
    for (let i = 0; i < options.incoming.length; i++) {
      const file = options.incoming[i]!;
      let base = 0;
      for await (const table of readParquetRowGroups(file.absPath, keyAndSeq)) {
        const kv = vectors(table, keys, file.relPath);
        const sv = vectors(table, sequenceBy, file.relPath);
        const hashes = hashKeys(kv, table.numRows);
        for (let r = 0; r < table.numRows; r++) {
          if (!suspects.has(hashes[r]!)) continue;
          const key = keyString(kv.map((v) => cellOf(v, r)));
          const version: Version = { seq: sv.map((v) => cellOf(v, r)), origin: i, row: base + r };
          const current = winners.get(key);
          if (!current) winners.set(key, version);
          else {
            inCallCollapsed++;
            if (compareSequence(version.seq, current.seq) >= 0) {
              lose(current);
              winners.set(key, version);
            } else lose(version);
          }
        }
        base += table.numRows;
      }
    }
    for (let j = 0; j < hitFiles.length; j++) {
      const rel = hitFiles[j]!;
      let base = 0;
      for await (const table of readParquetRowGroups(path.join(options.tableDir, rel), keyAndSeq)) {
        const kv = vectors(table, keys, rel);
        const sv = vectors(table, sequenceBy, rel);
        const hashes = hashKeys(kv, table.numRows);
        for (let r = 0; r < table.numRows; r++) {
          if (!suspects.has(hashes[r]!)) continue;
          const key = keyString(kv.map((v) => cellOf(v, r)));
          const current = winners.get(key);
          if (!current) continue; // a hash collision: not an incoming key
          updatedKeys.add(key);
          const version: Version = { seq: sv.map((v) => cellOf(v, r)), origin: -(j + 1), row: base + r };
          if (compareSequence(version.seq, current.seq) > 0) {
            lose(current); // strictly newer existing row wins over incoming
            winners.set(key, version);
          } else lose(version);
        }
        base += table.numRows;
      }
    }
  }

  // 3. Rewrite the files holding a loser (and every file of a compacted partition); move the others as they are.
  const rewriteLive = new Map<string, number>(); // rel → origin
  hitFiles.forEach((rel, j) => {
    if (losers.has(-(j + 1))) rewriteLive.set(rel, -(j + 1));
  });
  let extra = 0;
  for (const p of compacted) for (const rel of livePerPartition.get(p)!) if (!rewriteLive.has(rel)) rewriteLive.set(rel, -(hitFiles.length + ++extra));
  const add: PartFile[] = [];
  const sources = new Map<string, { origin: number; file: string }[]>();
  const addSource = (partition: string, origin: number, file: string) => {
    let list = sources.get(partition);
    if (!list) sources.set(partition, (list = []));
    list.push({ origin, file });
  };
  for (let i = 0; i < options.incoming.length; i++) {
    const file = options.incoming[i]!;
    const partition = partitionOf(file.relPath, partitionBy);
    if (losers.has(i) || compacted.has(partition)) {
      addSource(partition, i, file.absPath);
      continue;
    }
    const to = path.join(options.dataDir, file.relPath);
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.rename(file.absPath, to);
    add.push({ ...file, absPath: to });
  }
  for (const [rel, origin] of rewriteLive) addSource(partitionOf(rel, partitionBy), origin, path.join(options.tableDir, rel));
  const outFields = options.outputSchema.fields;
  for (const partition of [...sources.keys()].sort()) {
    const out = new PartitionRows(options.writer, options.outputSchema, partitionBy === undefined ? undefined : partition);
    for (const source of sources.get(partition)!) {
      const dropped = losers.get(source.origin);
      let base = 0;
      for await (const table of readParquetRowGroups(source.file)) {
        const outVectors = outFields.map((f) => table.getChild(f.name));
        for (let r = 0; r < table.numRows; r++) {
          if (dropped?.has(base + r)) continue;
          await out.push((c) => {
            const v = outVectors[c];
            return v ? cellOf(v, r) : null;
          });
        }
        base += table.numRows;
      }
    }
    await out.flush();
  }
  add.push(...(await options.writer.close()));
  return { add, remove: [...rewriteLive.keys()], rowsMerged: updatedKeys.size + inCallCollapsed };
}
