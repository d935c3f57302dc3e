/**
 * Step 2 of the cdc merge (runner/cdc-merge.ts): which versions of the suspect keys lose. A suspect is a key hash
 * held by more than one staged row (a copy re-sent within the call) or by a row of a live file (a "hit" file). Only
 * suspect rows become JS values: their exact key (`keyString`) and sequence values decide.
 *
 * The rule: the newest `sequence_by` wins; an incoming (staged) row wins a tie with an existing one; within the call
 * the later row wins a tie. Rows of hit files are read first (an existing row stands only when strictly newer than
 * every staged version of its key); staged batches are then read in staging order.
 *
 * Staged batches are resolved as a stream: the index says how many staged rows hold each suspect hash, so batch `b`
 * is final as soon as every copy of every suspect key in it has been read, usually a batch or two later (a copy is
 * re-sent close to its original). `through(b)` reads just that far, which lets a merge write batch `b` while
 * later batches are still being read: on the merging thread, next to an encoder worker's encoding, not before it.
 * `finish()` reads everything (hit files' losers are known only then).
 */
import type { Schema } from 'apache-arrow';
import type { AddFile, DeltaTable } from '../lakehouse/index.js';
import { cellOf, columnsOf, compareSequence, keyString, type Cell } from './arrow-rows.js';
import type { CallStaging } from './call-staging.js';
import { hashKeys } from './key-index.js';

/** One version of a key: where the row is and its sequence values. */
interface Version {
  /** ≥ 0: staged batch index; < 0: −(hit file index + 1). */
  readonly origin: number;
  readonly row: number;
  readonly seq: Cell[];
}

/** Versions of a key found in hit files: the one that stands against them all, and the others. */
interface Existing {
  best: Version;
  readonly others: Version[];
}

export interface CopyResolverInput {
  readonly staging: CallStaging;
  readonly table: DeltaTable;
  /** The table's logical schema: hit files are read cast to it. */
  readonly schema: Schema;
  readonly keys: readonly string[];
  readonly sequenceBy: readonly string[];
  /** Key hashes that may have more than one version. */
  readonly suspects: ReadonlySet<number>;
  /** Staged rows holding `hash` (the call's KeyHashIndex). */
  readonly occurrences: (hash: number) => number;
  /** Live files holding a suspect hash. */
  readonly hitFiles: readonly AddFile[];
}

export class CopyResolver {
  readonly #in: CopyResolverInput;
  readonly #losers = new Map<number, Set<number>>();
  /** The standing version of each key seen in a staged batch. */
  readonly #winners = new Map<string, Version>();
  /** Versions in hit files of keys no staged row has shown yet. */
  readonly #existing = new Map<string, Existing>();
  readonly #updated = new Set<string>();
  #collapsed = 0;
  /** Staged rows of a suspect hash not read yet (set when the hash is first read). */
  readonly #remaining = new Map<number, number>();
  /** Batches read whose rows wait on a hash: hash → batch indexes. */
  readonly #waiters = new Map<number, number[]>();
  /** Hashes each read batch still waits on. */
  readonly #pending: Int32Array;
  /** Next staged batch to read; batches below `#resolved` are final. */
  #next = 0;
  #resolved = 0;
  #existingRead: Promise<void> | undefined;
  #tail: Promise<void> = Promise.resolve();
  #failure: { readonly error: unknown } | undefined;

  constructor(input: CopyResolverInput) {
    this.#in = input;
    const count = input.staging.batchCount;
    this.#pending = new Int32Array(count);
    if (input.suspects.size === 0) this.#next = this.#resolved = count; // nothing to decide: read nothing
  }

  /** Resolve staged batches `0..b` (reading as few batches beyond `b` as their copies allow). */
  through(b: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (b < this.#resolved) return Promise.resolve();
    const run = this.#tail.then(() => this.#advance(b));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Read everything: every loser, of staged batches and of hit files, is known after it. */
  finish(): Promise<void> {
    return this.through(this.#in.staging.batchCount - 1).then(() => (this.#existingRead ??= this.#readExisting()));
  }

  /** Losing rows of staged batch `origin` (≥ 0, final once `through(origin)` returned) or of hit file j (−(j + 1), after `finish`). */
  losersOf(origin: number): ReadonlySet<number> | undefined {
    return this.#losers.get(origin);
  }

  /** Keys whose existing row was replaced or confirmed, plus staged copies collapsed: the merge's `rowsMerged`. */
  get rowsMerged(): number {
    return this.#updated.size + this.#collapsed;
  }

  async #advance(b: number): Promise<void> {
    if (this.#failure) throw this.#failure.error;
    try {
      await (this.#existingRead ??= this.#readExisting());
      const count = this.#in.staging.batchCount;
      while (this.#resolved <= b && this.#next < count) await this.#readBatch(this.#next++);
      if (this.#next >= count) this.#resolved = count; // all read: every version is known, whatever the counts said
    } catch (error) {
      this.#failure = { error };
      throw error;
    }
  }

  #lose(v: Version): void {
    let rows = this.#losers.get(v.origin);
    if (!rows) this.#losers.set(v.origin, (rows = new Set()));
    rows.add(v.row);
  }

  /** Existing versions of suspect keys, from the hit files' key and sequence columns. */
  async #readExisting(): Promise<void> {
    const { keys, sequenceBy, suspects, hitFiles, table, schema } = this.#in;
    const keyAndSeq = [...new Set([...keys, ...sequenceBy])];
    for (let j = 0; j < hitFiles.length; j++) {
      const file = hitFiles[j]!;
      let base = 0;
      for await (const group of table.readDataFile(file, { columns: keyAndSeq, schema })) {
        const kv = columnsOf(group, keys, file.path);
        const sv = columnsOf(group, sequenceBy, file.path);
        const hashes = hashKeys(kv, group.numRows);
        for (let r = 0; r < group.numRows; r++) {
          if (!suspects.has(hashes[r]!)) continue;
          const key = keyString(kv.map((v) => cellOf(v, r)));
          const version: Version = { origin: -(j + 1), row: base + r, seq: sv.map((v) => cellOf(v, r)) };
          const existing = this.#existing.get(key);
          if (!existing) this.#existing.set(key, { best: version, others: [] });
          else if (compareSequence(version.seq, existing.best.seq) > 0) {
            existing.others.push(existing.best); // a strictly newer existing row stands instead
            existing.best = version;
          } else existing.others.push(version);
        }
        base += group.numRows;
      }
    }
  }

  /** A staged version against the key's standing one. */
  #offer(key: string, version: Version): void {
    const current = this.#winners.get(key);
    if (current === undefined) {
      const existing = this.#existing.get(key);
      if (existing === undefined) {
        this.#winners.set(key, version);
        return;
      }
      // The key's first staged version meets its existing rows: the call updates it.
      this.#existing.delete(key);
      this.#updated.add(key);
      for (const other of existing.others) this.#lose(other);
      if (compareSequence(version.seq, existing.best.seq) >= 0) {
        this.#lose(existing.best);
        this.#winners.set(key, version);
      } else {
        this.#lose(version);
        this.#winners.set(key, existing.best);
      }
      return;
    }
    this.#collapsed++;
    if (compareSequence(version.seq, current.seq) >= 0) {
      this.#lose(current);
      this.#winners.set(key, version);
    } else this.#lose(version);
  }

  async #readBatch(b: number): Promise<void> {
    const { staging, keys, sequenceBy, suspects, occurrences } = this.#in;
    const batch = await staging.get(b);
    const kv = columnsOf(batch, keys, 'staged batch');
    const hashes = hashKeys(kv, batch.numRows);
    const sv = columnsOf(batch, sequenceBy, 'staged batch');
    let waiting: Set<number> | undefined;
    for (let r = 0; r < batch.numRows; r++) {
      const hash = hashes[r]!;
      if (!suspects.has(hash)) continue;
      this.#offer(keyString(kv.map((v) => cellOf(v, r))), { origin: b, row: r, seq: sv.map((v) => cellOf(v, r)) });
      const left = (this.#remaining.get(hash) ?? occurrences(hash)) - 1;
      this.#remaining.set(hash, left);
      if (left > 0) {
        (waiting ??= new Set()).add(hash);
        continue;
      }
      // Every staged copy of this hash has been read: batches waiting on it wait on one hash fewer.
      waiting?.delete(hash);
      for (const w of this.#waiters.get(hash) ?? []) this.#pending[w]!--;
      this.#waiters.delete(hash);
    }
    if (waiting) {
      this.#pending[b] = waiting.size;
      for (const hash of waiting) {
        let list = this.#waiters.get(hash);
        if (!list) this.#waiters.set(hash, (list = []));
        list.push(b);
      }
    }
    while (this.#resolved < this.#next && this.#pending[this.#resolved] === 0) this.#resolved++;
  }
}
