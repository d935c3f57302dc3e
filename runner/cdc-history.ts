/**
 * The SCD type 2 cdc merge: every version of a key is kept, each with `__start_at` (its own first sequence
 * value) and `__end_at` (the next version's, null for the current one). A call's versions are merged with the
 * versions of the same keys in the live files of the partitions it touched; only files holding such a key are
 * rewritten (copy-on-write), every other file is left alone. History tables are profile-sized, so versions are
 * compared as JS values here; the event-sized SCD type 1 merge (cdc-merge.ts) never does that.
 */
import { Field, Schema, type DataType, type Vector } from 'apache-arrow';
import { DataError } from '../connector-spec/index.js';
import type { AddFile, DeltaTable } from '../lakehouse/index.js';
import { batchFromCells, cellOf, compareSequence, keyString, type Cell } from './arrow-rows.js';
import type { CallStaging } from './call-staging.js';
import { partitionKey } from './cdc-merge.js';
import type { PartitionValue } from './partition-split.js';
import type { TableDataWriter } from './table-data-writer.js';

export const START_AT = '__start_at';
export const END_AT = '__end_at';
const OUTPUT_BATCH_ROWS = 16_384;

/** Output schema of an SCD2 table: source fields + `__start_at`/`__end_at` typed like the first sequence column. */
export function scd2Schema(schema: Schema, sequenceBy: readonly string[]): Schema {
  const first = schema.fields.find((f) => f.name === sequenceBy[0]);
  if (!first) throw new DataError(`sequence_by column ${sequenceBy[0]} is not in the schema; set table_configuration.sequence_by to a column of the table`, { code: 'RUNNER_BAD_SEQUENCE_BY' });
  const type: DataType = first.type;
  return new Schema([...schema.fields.filter((f) => f.name !== START_AT && f.name !== END_AT), new Field(START_AT, type, true), new Field(END_AT, type, true)], schema.metadata);
}

/** Rows for one output partition, collected column by column and written in batches. */
class PartitionRows {
  #columns: Cell[][];
  #rows = 0;

  constructor(
    private readonly writer: TableDataWriter,
    private readonly schema: Schema,
    private readonly partition: PartitionValue,
  ) {
    this.#columns = schema.fields.map(() => []);
  }

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

interface Version {
  /** ≥ 0: staged batch index; < 0: −(live file index + 1). */
  readonly origin: number;
  readonly row: number;
  readonly seq: Cell[];
}

export interface HistoryMergeInput {
  readonly table: DeltaTable;
  readonly live: readonly AddFile[];
  readonly staging: CallStaging;
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  readonly partitionBy?: string;
  /** Schema of the staged (source) rows. */
  readonly sourceSchema: Schema;
  /** Schema of the table's rows (with `__start_at`/`__end_at`). */
  readonly outputSchema: Schema;
  readonly writer: TableDataWriter;
}

function columns(source: { getChild(name: string): Vector | null }, names: readonly string[], where: string): Vector[] {
  return names.map((name) => {
    const v = source.getChild(name);
    if (!v) throw new DataError(`${where}: column ${name} is missing; check primary_keys / sequence_by in table_configuration`, { code: 'RUNNER_MISSING_COLUMN' });
    return v;
  });
}

export async function mergeHistory(input: HistoryMergeInput): Promise<{ add: AddFile[]; remove: AddFile[]; rowsMerged: number; readPartitions: string[] }> {
  const { keys, sequenceBy, partitionBy, staging } = input;
  const keyAndSeq = [...new Set([...keys, ...sequenceBy])];
  const touched = new Set<string>(partitionBy === undefined ? [''] : [...staging.partitions].map(partitionKey));
  const partitionOf = (file: AddFile): string => (partitionBy === undefined ? '' : partitionKey(file.partitionValues[partitionBy] ?? null));

  // Versions of the call, by key then by sequence (a repeated version collapses; the later row wins).
  const history = new Map<string, Map<string, Version>>();
  for await (const { index: b, batch } of staging.batches()) {
    const kv = columns(batch, keys, 'staged batch');
    const sv = columns(batch, sequenceBy, 'staged batch');
    for (let r = 0; r < batch.numRows; r++) {
      const key = keyString(kv.map((v) => cellOf(v, r)));
      const seq = sv.map((v) => cellOf(v, r));
      let versions = history.get(key);
      if (!versions) history.set(key, (versions = new Map()));
      versions.set(keyString(seq), { origin: b, row: r, seq });
    }
  }
  // Live files holding a key of the call; their versions join (an incoming version wins a tie).
  const candidates = input.live.filter((f) => touched.has(partitionOf(f)));
  const affected: number[] = [];
  const updated = new Set<string>();
  for (let j = 0; j < candidates.length; j++) {
    let hit = false;
    let base = 0;
    for await (const group of input.table.readDataFile(candidates[j]!, { columns: keyAndSeq, schema: input.outputSchema })) {
      const kv = columns(group, keys, candidates[j]!.path);
      const sv = columns(group, sequenceBy, candidates[j]!.path);
      for (let r = 0; r < group.numRows; r++) {
        const key = keyString(kv.map((v) => cellOf(v, r)));
        const versions = history.get(key);
        if (!versions) continue;
        hit = true;
        updated.add(key);
        const seq = sv.map((v) => cellOf(v, r));
        const seqKey = keyString(seq);
        if (!versions.has(seqKey)) versions.set(seqKey, { origin: -(j + 1), row: base + r, seq });
      }
      base += group.numRows;
    }
    if (hit) affected.push(j);
  }
  // Each chosen version's end: the next version's first sequence value.
  const chosen = new Map<string, Cell>();
  for (const versions of history.values()) {
    const sorted = [...versions.values()].sort((a, b) => compareSequence(a.seq, b.seq));
    sorted.forEach((v, i) => chosen.set(`${v.origin}:${v.row}`, i + 1 < sorted.length ? sorted[i + 1]!.seq[0]! : null));
  }
  const fields = input.outputSchema.fields;
  const outputs = new Map<string, PartitionRows>();
  const outFor = (value: PartitionValue): PartitionRows => {
    const k = partitionKey(value);
    let out = outputs.get(k);
    if (!out) outputs.set(k, (out = new PartitionRows(input.writer, input.outputSchema, value)));
    return out;
  };
  const emit = async (value: PartitionValue, origin: number, row: number, get: (name: string) => Cell, seqFirst: Cell): Promise<void> => {
    const id = `${origin}:${row}`;
    if (!chosen.has(id)) return;
    const end = chosen.get(id)!;
    await outFor(value).push((c) => {
      const name = fields[c]!.name;
      if (name === START_AT) return seqFirst;
      if (name === END_AT) return end;
      return get(name);
    });
  };
  for await (const { index: b, batch } of staging.batches()) {
    const vectors = new Map(input.sourceSchema.fields.map((f) => [f.name, batch.getChild(f.name)]));
    const part = partitionBy === undefined ? undefined : batch.getChild(partitionBy);
    const first = batch.getChild(sequenceBy[0]!)!;
    for (let r = 0; r < batch.numRows; r++) {
      const cell = part ? cellOf(part, r) : null;
      const value = cell === null ? null : typeof cell === 'number' ? new Date(cell).toISOString().slice(0, 10) : String(cell);
      await emit(value, b, r, (name) => (vectors.get(name) ? cellOf(vectors.get(name)!, r) : null), cellOf(first, r));
    }
  }
  for (const j of affected) {
    const file = candidates[j]!;
    const value = partitionBy === undefined ? null : (file.partitionValues[partitionBy] ?? null);
    let base = 0;
    for await (const group of input.table.readDataFile(file, { schema: input.outputSchema })) {
      const kv = columns(group, keys, file.path);
      const first = group.getChild(sequenceBy[0]!)!;
      for (let r = 0; r < group.numRows; r++) {
        const id = `${-(j + 1)}:${base + r}`;
        if (chosen.has(id)) await emit(value, -(j + 1), base + r, (name) => cellOf(group.getChild(name)!, r), cellOf(first, r));
        else if (!history.has(keyString(kv.map((v) => cellOf(v, r))))) {
          // A row of a rewritten file whose key the call did not touch: kept as it is.
          await outFor(value).push((c) => cellOf(group.getChild(fields[c]!.name)!, r));
        }
      }
      base += group.numRows;
    }
  }
  for (const out of outputs.values()) await out.flush();
  const add = await input.writer.close();
  return { add, remove: affected.map((j) => candidates[j]!), rowsMerged: updated.size, readPartitions: partitionBy === undefined ? [''] : [...staging.partitions].map((v) => v ?? '') };
}
