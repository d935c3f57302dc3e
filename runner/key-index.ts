/**
 * A compact index of a call's primary keys, filled while the call's batches are written: one 53-bit hash
 * per row (8 bytes, no strings kept). It only says "this key may be present": every hit is confirmed with
 * the exact key (`keyString`) before anything is merged, so a hash collision costs a check, never a row.
 */
import { Type, type Data, type Vector } from 'apache-arrow';
import { cellOf, keyString } from './arrow-rows.js';

const CHUNK = 65_536;
const EMPTY = new Float64Array(0);

function finish(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function isUtf8(vector: Vector): boolean {
  return vector.type.typeId === Type.Utf8;
}

/** Hash of each row's key tuple (`vectors` = the key columns, same length). Same key ⇒ same hash. */
export function hashKeys(vectors: readonly Vector[], numRows: number): Float64Array {
  const out = new Float64Array(numRows);
  if (vectors.length === 1 && isUtf8(vectors[0]!)) {
    // Fast path: hash the UTF-8 bytes straight from the Arrow buffers, no string decoding.
    let row = 0;
    for (const data of vectors[0]!.data as Data<never>[]) {
      const offsets = data.valueOffsets as Int32Array;
      const values = data.values as Uint8Array;
      const bitmap = data.nullBitmap;
      const base = data.offset;
      for (let r = 0; r < data.length; r++) {
        const i = base + r;
        let h1 = 0xdeadbeef;
        let h2 = 0x41c6ce57;
        if (data.nullCount > 0 && bitmap && bitmap.length > 0 && ((bitmap[i >> 3]! >> (i & 7)) & 1) === 0) {
          h1 = Math.imul(h1 ^ 0x1ff, 2654435761);
        } else {
          // Offsets are sliced with the data (index r); the validity bitmap is not (index offset + r).
          const end = offsets[r + 1]!;
          for (let p = offsets[r]!; p < end; p++) {
            const b = values[p]!;
            h1 = Math.imul(h1 ^ b, 2654435761);
            h2 = Math.imul(h2 ^ b, 1597334677);
          }
        }
        out[row++] = finish(h1, h2);
      }
    }
    return out;
  }
  for (let r = 0; r < numRows; r++) {
    const cells = vectors.map((v) => cellOf(v, r));
    const only = cells.length === 1 ? cells[0] : undefined;
    if (typeof only === 'string') {
      // A one-column string key hashes its UTF-8 bytes, like the fast path (whatever the string encoding).
      out[r] = hashBytes(encoder.encode(only));
    } else if (cells.length === 1 && only === null) {
      out[r] = finish(Math.imul(0xdeadbeef ^ 0x1ff, 2654435761), 0x41c6ce57);
    } else {
      const s = keyString(cells);
      let h1 = 0xdeadbeef ^ 0x55;
      let h2 = 0x41c6ce57 ^ 0x55;
      for (let p = 0; p < s.length; p++) {
        const c = s.charCodeAt(p);
        h1 = Math.imul(h1 ^ c, 2654435761);
        h2 = Math.imul(h2 ^ c, 1597334677);
      }
      out[r] = finish(h1, h2);
    }
  }
  return out;
}

const encoder = new TextEncoder();

function hashBytes(bytes: Uint8Array): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let p = 0; p < bytes.length; p++) {
    const b = bytes[p]!;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  return finish(h1, h2);
}

/**
 * The key hashes of one call. `add` while writing, then `seal()` once; then `has`, `duplicates` and `occurrences`.
 *
 * Memory: 8 bytes per row. `seal` sorts each 64k chunk in place and finds the in-call duplicates with a k-way merge
 * of the sorted chunks, so a first load (no existing rows, `has` never asked) never holds a second copy. The first
 * `has` merges the chunks into one sorted array for binary search, releasing each chunk as it is consumed.
 */
export class KeyHashIndex {
  private chunks: Float64Array[] = [];
  private fill = CHUNK;
  private count = 0;
  private sealed = false;
  private released = false;
  private merged: Float64Array | undefined;
  private dups: Map<number, number> | undefined;
  private dupSet: Set<number> | undefined;

  get size(): number {
    return this.count;
  }

  add(hashes: Float64Array): void {
    if (this.sealed) throw new Error('KeyHashIndex is sealed');
    for (let i = 0; i < hashes.length; i++) {
      if (this.fill === CHUNK) {
        this.chunks.push(new Float64Array(CHUNK));
        this.fill = 0;
      }
      this.chunks[this.chunks.length - 1]![this.fill++] = hashes[i]!;
    }
    this.count += hashes.length;
  }

  /** Sort each chunk and find the hashes seen more than once (across chunks too). */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    const last = this.chunks.length - 1;
    if (last >= 0 && this.fill < CHUNK) this.chunks[last] = this.chunks[last]!.slice(0, this.fill);
    for (const chunk of this.chunks) chunk.sort();
    const dups = new Map<number, number>();
    let previous = Number.NaN;
    this.mergeChunks((value) => {
      if (value === previous) dups.set(value, (dups.get(value) ?? 1) + 1);
      previous = value;
    }, false);
    this.dups = dups;
    this.dupSet = new Set(dups.keys());
  }

  has(hash: number): boolean {
    if (!this.sealed) throw new Error('KeyHashIndex is not sealed');
    if (this.released) throw new Error('KeyHashIndex was released');
    let a = this.merged;
    if (!a) {
      const all = new Float64Array(this.size);
      let at = 0;
      this.mergeChunks((value) => {
        all[at++] = value;
      }, true);
      this.merged = a = all;
    }
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = a[mid]!;
      if (v === hash) return true;
      if (v < hash) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /**
   * Drop the hashes once nothing will ask `has` again (the merge has looked up every live file): 8 bytes per
   * staged row, held otherwise through the call's whole write. `duplicates()` stays available.
   */
  release(): void {
    if (!this.sealed) throw new Error('KeyHashIndex is not sealed');
    this.released = true;
    this.chunks = [];
    this.merged = undefined;
  }

  /** Hashes seen more than once in the call (possible in-call duplicates; exact keys decide). */
  duplicates(): ReadonlySet<number> {
    if (!this.dupSet) throw new Error('KeyHashIndex is not sealed');
    return this.dupSet;
  }

  /** How many added rows hold `hash`, for a hash of `duplicates()` (≥ 2); 1 for any other hash the index holds. */
  occurrences(hash: number): number {
    if (!this.dups) throw new Error('KeyHashIndex is not sealed');
    return this.dups.get(hash) ?? 1;
  }

  /** Visit every hash in ascending order (a binary heap over the sorted chunks' heads); `consume` drops the chunks. */
  private mergeChunks(visit: (value: number) => void, consume: boolean): void {
    const chunks = this.chunks;
    const pos = new Int32Array(chunks.length);
    const heap: number[] = []; // chunk indexes, ordered by their current head
    const head = (c: number): number => chunks[c]![pos[c]!]!;
    const down = (from: number): void => {
      let i = from;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) return;
        const r = l + 1;
        const m = r < heap.length && head(heap[r]!) < head(heap[l]!) ? r : l;
        if (head(heap[m]!) >= head(heap[i]!)) return;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    };
    for (let c = 0; c < chunks.length; c++) if (chunks[c]!.length > 0) heap.push(c);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    while (heap.length > 0) {
      const c = heap[0]!;
      visit(head(c));
      if (++pos[c]! < chunks[c]!.length) {
        down(0);
        continue;
      }
      if (consume) chunks[c] = EMPTY;
      const tail = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = tail;
        down(0);
      }
    }
    if (consume) this.chunks = [];
  }
}
