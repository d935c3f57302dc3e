/**
 * The set of profile ids one Engage scan has delivered, kept compactly: no JS string per id.
 *
 * Each id is stored as its UTF-8 bytes in one growable byte arena; an open-addressing table (linear probing on a
 * 32-bit hash of the bytes, load ≤ 1/2) holds entry numbers, and an entry is its arena offset. A lookup compares
 * the bytes of the entries it probes (length first), so the answer is **exact**: a hash collision between two
 * different ids never makes the second one look delivered (which would lose a row); it costs a byte compare.
 * Hashes are not stored: a rehash (when the table doubles) hashes the arena's bytes again.
 *
 * Memory per id: 8–16 bytes of table (load 1/2 … 1/4 after a doubling), 4–8 of offset, and the id's UTF-8 length
 * (the arena grows by 1/4 once past 4 MiB, so little slack). 1M ids like `user-123456` hold 25 MB of typed
 * arrays; a `Set<string>` of them holds about 53 MB of JS heap.
 *
 * An id whose UTF-8 form holds U+FFFD (a real replacement character, or a lone surrogate that UTF-8 cannot
 * represent, so two different JS strings could encode alike) is kept exactly in a small `Set<string>` instead.
 */

const INITIAL_SLOTS = 1 << 12;
const INITIAL_ARENA = 1 << 16;
/** Past this size the arena grows by a quarter instead of doubling. */
const ARENA_DOUBLING_LIMIT = 1 << 22;
/** Arena offsets are uint32: at most 4 GiB of id bytes (4 billion ASCII characters). */
const MAX_ARENA = 2 ** 32 - 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export interface DeliveredIdsOptions {
  /**
   * Hash of an id's UTF-8 bytes (tests pass a constant to force every id into one collision chain). Default:
   * FNV-1a over the bytes, finished with murmur3's fmix32.
   */
  readonly hash?: (bytes: Uint8Array, start: number, end: number) => number;
}

export function fnv1aFmix32(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** True when bytes[start, end) contain EF BF BD (U+FFFD, also what a lone surrogate encodes to). */
function holdsReplacementChar(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i + 2 < end; i++) if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) return true;
  return false;
}

export class DeliveredIds {
  readonly #hash: (bytes: Uint8Array, start: number, end: number) => number;
  /** Entry number + 1 per slot; 0 = empty. Length is a power of two. */
  #slots = new Uint32Array(INITIAL_SLOTS);
  /** Per entry: start offset in the arena; entry i ends where entry i + 1 starts (`#offsets[count]` = used). */
  #offsets = new Uint32Array(INITIAL_SLOTS / 2 + 1);
  #arena = new Uint8Array(INITIAL_ARENA);
  #count = 0;
  /** Ids that UTF-8 cannot tell apart from another string (see the module note): kept as strings, exactly. */
  readonly #irregular = new Set<string>();

  constructor(options: DeliveredIdsOptions = {}) {
    this.#hash = options.hash ?? fnv1aFmix32;
  }

  /** Number of distinct ids added. */
  get size(): number {
    return this.#count + this.#irregular.size;
  }

  /** Bytes held by the typed arrays (what the set costs outside the few irregular ids). */
  get byteLength(): number {
    return this.#slots.byteLength + this.#offsets.byteLength + this.#arena.byteLength;
  }

  /** Adds `id`; true when it was not there before (the caller delivers it), false when it was. */
  add(id: string): boolean {
    const start = this.#offsets[this.#count]!;
    const end = this.#encodeAtTail(id, start);
    if (holdsReplacementChar(this.#arena, start, end)) {
      if (this.#irregular.has(id)) return false;
      this.#irregular.add(id);
      return true;
    }
    const mask = this.#slots.length - 1;
    let slot = this.#hash(this.#arena, start, end) & mask;
    for (;;) {
      const entry = this.#slots[slot]!;
      if (entry === 0) break;
      if (this.#sameBytes(entry - 1, start, end)) return false;
      slot = (slot + 1) & mask;
    }
    const index = this.#count;
    if (index + 1 >= this.#offsets.length) this.#growEntries();
    this.#offsets[index + 1] = end;
    this.#count = index + 1;
    this.#slots[slot] = index + 1;
    if (this.#count * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    return true;
  }

  /** Whether `id` was added. */
  has(id: string): boolean {
    const start = this.#offsets[this.#count]!;
    const end = this.#encodeAtTail(id, start);
    if (holdsReplacementChar(this.#arena, start, end)) return this.#irregular.has(id);
    const mask = this.#slots.length - 1;
    for (let slot = this.#hash(this.#arena, start, end) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot]!;
      if (entry === 0) return false;
      if (this.#sameBytes(entry - 1, start, end)) return true;
    }
  }

  /** Every id, decoded (in insertion order, then the irregular ones). */
  *values(): IterableIterator<string> {
    for (let i = 0; i < this.#count; i++) yield decoder.decode(this.#arena.subarray(this.#offsets[i]!, this.#offsets[i + 1]!));
    yield* this.#irregular;
  }

  /** Writes the UTF-8 bytes of `id` after the last entry (not committed); returns their end offset. */
  #encodeAtTail(id: string, start: number): number {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const need = start + id.length * 3;
    if (need > this.#arena.length) this.#growArena(need);
    const { written } = encoder.encodeInto(id, this.#arena.subarray(start));
    return start + written;
  }

  #sameBytes(entry: number, start: number, end: number): boolean {
    const from = this.#offsets[entry]!;
    const to = this.#offsets[entry + 1]!;
    if (to - from !== end - start) return false;
    const a = this.#arena;
    for (let i = 0; i < end - start; i++) if (a[from + i] !== a[start + i]) return false;
    return true;
  }

  #growArena(need: number): void {
    if (need > MAX_ARENA) throw new RangeError(`DeliveredIds: more than ${MAX_ARENA} bytes of profile ids in one scan`);
    let size = this.#arena.length;
    while (size < need) size = Math.min(MAX_ARENA, size < ARENA_DOUBLING_LIMIT ? size * 2 : size + (size >>> 2));
    const next = new Uint8Array(size);
    next.set(this.#arena.subarray(0, this.#offsets[this.#count]!));
    this.#arena = next;
  }

  #growEntries(): void {
    const offsets = new Uint32Array((this.#offsets.length - 1) * 2 + 1);
    offsets.set(this.#offsets);
    this.#offsets = offsets;
  }

  #rehash(size: number): void {
    const slots = new Uint32Array(size);
    const mask = size - 1;
    for (let i = 0; i < this.#count; i++) {
      let slot = this.#hash(this.#arena, this.#offsets[i]!, this.#offsets[i + 1]!) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    this.#slots = slots;
  }
}
