/**
 * A validating byte scanner for one export line, `{"event": …, "properties": {…}}`, over the chunk's UTF-8 bytes.
 * One walk, no JS objects and no strings: for each property it records where the key and the value are, the value's
 * kind and a few flags, and the slot a `KeyIndex` gives the key (a standard column, a core property, or custom).
 *
 * It takes only what it can map exactly as `JSON.parse` + the record mapper would, and says no (`scan` returns
 * false, `reason` says why) to everything else, which then goes through today's path: a line that is not one
 * object (or not valid JSON: a raw control character, a bad escape, a bad number, trailing text), `properties`
 * missing or not an object, `event` or `properties` twice, an escaped top-level or property key, a property key
 * that starts with a digit (JSON.parse enumerates integer-like keys first) or is `__proto__`, a repeated property
 * key, a nested object with a repeated or escaped key (JSON.stringify would rewrite its text), nesting beyond
 * MAX_DEPTH. The caller checks UTF-8 validity (a chunk at a time).
 */

/** Value kinds. */
export const STRING = 1;
export const NUMBER = 2;
export const TRUE = 3;
export const FALSE = 4;
export const NULL = 5;
export const OBJECT = 6;
export const ARRAY = 7;

/** Value flags: a string with a backslash escape; a container with whitespace inside; a number with no fraction or exponent. */
export const ESCAPED = 1;
export const SPACED = 2;
export const INTEGER = 4;

/** The slot `KeyIndex.find` gives a key it does not hold. */
export const CUSTOM = -100;

/** Custom keys of a line checked for repeats by a list (more: by a hash set). */
const CUSTOM_LIST = 32;

/** Deepest nesting taken (deeper values fall back). */
export const MAX_DEPTH = 64;

/** Why a line was not taken (for tests and the bench; every reason falls back to today's path). */
export const REASONS = [
  'taken',
  'not one JSON object',
  'invalid JSON',
  'no properties object',
  'event or properties twice',
  'escaped key',
  'integer-like or __proto__ key',
  'repeated key',
  'nested too deep',
] as const;
export type Reason = (typeof REASONS)[number];

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The hash of the key `b[from, to)` (the scanner's and `KeyIndex`'s): its length and five of its bytes (first,
 * second, middle, second to last, last), so a key costs a few multiplications rather than one per byte. Equal keys
 * hash equal; a collision only costs a byte comparison.
 */
export function keyHash(b: Uint8Array, from: number, to: number): number {
  const length = to - from;
  if (length === 0) return 0;
  let h = Math.imul(length ^ FNV_OFFSET, FNV_PRIME);
  h = Math.imul(h ^ b[from]!, FNV_PRIME);
  h = Math.imul(h ^ b[from + (length >> 1)]!, FNV_PRIME);
  h = Math.imul(h ^ b[to - 1]!, FNV_PRIME);
  if (length > 3) {
    h = Math.imul(h ^ b[from + 1]!, FNV_PRIME);
    h = Math.imul(h ^ b[to - 2]!, FNV_PRIME);
  }
  return h ^ (h >>> 15);
}

function sameBytes(a: Uint8Array, aFrom: number, b: Uint8Array, bFrom: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[aFrom + k] !== b[bFrom + k]) return false;
  return true;
}

/**
 * Key bytes → entry, for a fixed set of names (the standard and core properties of a column set): `find` gives the
 * entry number (or -1), `slotOf` its slot. The names sit in one byte pool; a probe compares hash and length first.
 */
export class KeyIndex {
  readonly size: number;
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  private readonly slots: Int32Array;
  private readonly pool: Uint8Array;

  constructor(entries: Iterable<readonly [string, number]>) {
    const names: Buffer[] = [];
    const slots: number[] = [];
    for (const [name, slot] of entries) {
      names.push(Buffer.from(name, 'utf8'));
      slots.push(slot);
    }
    this.size = names.length;
    this.pool = Buffer.concat(names);
    this.hashes = new Int32Array(names.length);
    this.starts = new Int32Array(names.length);
    this.lengths = new Int32Array(names.length);
    this.slots = Int32Array.from(slots);
    let size = 64;
    while (size < names.length * 4) size *= 2;
    this.table = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    let start = 0;
    names.forEach((name, n) => {
      const hash = keyHash(name, 0, name.length);
      this.hashes[n] = hash;
      this.starts[n] = start;
      this.lengths[n] = name.length;
      start += name.length;
      let at = hash & this.mask;
      while (this.table[at] !== -1) at = (at + 1) & this.mask;
      this.table[at] = n;
    });
  }

  /** The entry of the key `b[from, to)` whose `keyHash` is `hash`, or -1. */
  find(b: Uint8Array, from: number, to: number, hash: number): number {
    const length = to - from;
    const pool = this.pool;
    for (let at = hash & this.mask; ; at = (at + 1) & this.mask) {
      const n = this.table[at]!;
      if (n < 0) return -1;
      if (this.hashes[n] === hash && this.lengths[n] === length) {
        const start = this.starts[n]!;
        let k = 0;
        while (k < length && pool[start + k] === b[from + k]) k++;
        if (k === length) return n;
      }
    }
  }

  /** The slot of entry `n`. */
  slotOf(n: number): number {
    return this.slots[n]!;
  }
}

/** A set of key byte ranges of one line or one object: `add` answers false for a key already in it. */
class KeySet {
  private size = 0;
  private mask = 0;
  private hashes = new Int32Array(0);
  private froms = new Int32Array(0);
  private tos = new Int32Array(0);
  private stamps = new Int32Array(0);
  private stamp = 1;
  private count = 0;

  constructor(size = 1024) {
    this.allocate(size);
  }

  private allocate(size: number): void {
    this.size = size;
    this.mask = size - 1;
    this.hashes = new Int32Array(size);
    this.froms = new Int32Array(size);
    this.tos = new Int32Array(size);
    this.stamps = new Int32Array(size);
    this.stamp = 1;
  }

  clear(): void {
    this.count = 0;
    if (++this.stamp === 0x7fffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  add(b: Uint8Array, from: number, to: number, hash: number): boolean {
    if (this.count * 2 >= this.size) this.grow(b);
    return this.put(b, from, to, hash);
  }

  private put(b: Uint8Array, from: number, to: number, hash: number): boolean {
    const length = to - from;
    for (let at = hash & this.mask; ; at = (at + 1) & this.mask) {
      if (this.stamps[at] !== this.stamp) {
        this.stamps[at] = this.stamp;
        this.hashes[at] = hash;
        this.froms[at] = from;
        this.tos[at] = to;
        this.count++;
        return true;
      }
      if (this.hashes[at] === hash && this.tos[at]! - this.froms[at]! === length && sameBytes(b, this.froms[at]!, b, from, length)) return false;
    }
  }

  private grow(b: Uint8Array): void {
    const { hashes, froms, tos, stamps, stamp, size } = this;
    this.allocate(size * 2);
    this.count = 0;
    for (let at = 0; at < size; at++) if (stamps[at] === stamp) this.put(b, froms[at]!, tos[at]!, hashes[at]!);
  }
}

/** Bytes that stand for themselves inside a JSON string (not a quote, a backslash or a control character). */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 256; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

const PROTO = Buffer.from('__proto__');
const EVENT = Buffer.from('event');
const PROPERTIES = Buffer.from('properties');

/** The scan of one line: filled by `scan`, valid until the next call. */
export class LineScanner {
  /** Properties found (text order). */
  count = 0;
  keyFrom = new Int32Array(64);
  keyTo = new Int32Array(64);
  slot = new Int32Array(64);
  valueFrom = new Int32Array(64);
  valueTo = new Int32Array(64);
  kind = new Uint8Array(64);
  flags = new Uint8Array(64);
  /** The top-level `event` value: kind (0: absent), range, flags. */
  eventKind = 0;
  eventFrom = 0;
  eventTo = 0;
  eventFlags = 0;
  /** Why the last line was not taken. */
  reason: Reason = 'taken';

  /** Kind and flags of the value `scanValue` just read. */
  private lastKind = 0;
  private lastFlags = 0;
  /** Repeated-key check: the line's stamp on each KeyIndex entry seen; the custom keys so far (a KeySet beyond CUSTOM_LIST). */
  private lineStamp = 0;
  private readonly entryStamps: Int32Array;
  private customCount = 0;
  private readonly customHash = new Int32Array(CUSTOM_LIST);
  private readonly customFrom = new Int32Array(CUSTOM_LIST);
  private readonly customTo = new Int32Array(CUSTOM_LIST);
  private readonly customKeys = new KeySet(1024);
  private readonly nestedKeys = new KeySet(64);
  /** Keys of the open nested objects (stack), for the repeated-key check when each closes. */
  private nestedFrom = new Int32Array(64);
  private nestedTo = new Int32Array(64);
  private nestedHash = new Int32Array(64);
  private nestedCount = 0;
  private readonly openers = new Uint8Array(MAX_DEPTH);
  private readonly keyBase = new Int32Array(MAX_DEPTH);

  constructor(private readonly keys: KeyIndex) {
    this.entryStamps = new Int32Array(keys.size);
  }

  /** Record a custom key of the line; false when it is already there. */
  private addCustomKey(b: Uint8Array, from: number, to: number, hash: number): boolean {
    const n = this.customCount++;
    if (n < CUSTOM_LIST) {
      const length = to - from;
      for (let k = 0; k < n; k++) {
        if (this.customHash[k] === hash && this.customTo[k]! - this.customFrom[k]! === length && sameBytes(b, this.customFrom[k]!, b, from, length)) return false;
      }
      this.customHash[n] = hash;
      this.customFrom[n] = from;
      this.customTo[n] = to;
      return true;
    }
    if (n === CUSTOM_LIST) {
      this.customKeys.clear();
      for (let k = 0; k < n; k++) this.customKeys.add(b, this.customFrom[k]!, this.customTo[k]!, this.customHash[k]!);
    }
    return this.customKeys.add(b, from, to, hash);
  }

  /** Scan the line `b[from, to)` (no `\n`). True: taken, the fields describe it; false: `reason` says why not. */
  scan(b: Uint8Array, from: number, to: number): boolean {
    this.count = 0;
    this.eventKind = 0;
    this.customCount = 0;
    if (++this.lineStamp === 0x7fffffff) {
      this.lineStamp = 1;
      this.entryStamps.fill(0);
    }
    let i = this.skip(b, from, to);
    if (i >= to || b[i] !== 0x7b) return this.no('not one JSON object');
    i = this.skip(b, i + 1, to);
    let seenProperties = false;
    if (i >= to) return this.no('invalid JSON');
    if (b[i] !== 0x7d) {
      for (;;) {
        if (i >= to || b[i] !== 0x22) return this.no('invalid JSON');
        const keyFrom = i + 1;
        let j = keyFrom;
        while (PLAIN[b[j]!] === 1) j++;
        if (j >= to) return this.no('invalid JSON');
        if (b[j] === 0x5c) return this.no('escaped key');
        if (b[j] !== 0x22) return this.no('invalid JSON');
        const keyTo = j;
        i = this.skip(b, j + 1, to);
        if (i >= to || b[i] !== 0x3a) return this.no('invalid JSON');
        i = this.skip(b, i + 1, to);
        const length = keyTo - keyFrom;
        if (length === 10 && sameBytes(b, keyFrom, PROPERTIES, 0, 10)) {
          if (seenProperties) return this.no('event or properties twice');
          seenProperties = true;
          if (i >= to || b[i] !== 0x7b) return this.no('no properties object');
          i = this.scanProperties(b, i, to);
        } else if (length === 5 && sameBytes(b, keyFrom, EVENT, 0, 5)) {
          if (this.eventKind !== 0) return this.no('event or properties twice');
          this.eventFrom = i;
          i = this.scanValue(b, i, to);
          this.eventTo = i;
          this.eventKind = this.lastKind;
          this.eventFlags = this.lastFlags;
        } else {
          i = this.scanValue(b, i, to);
        }
        if (i < 0) return false;
        i = this.skip(b, i, to);
        if (i >= to) return this.no('invalid JSON');
        if (b[i] === 0x2c) {
          i = this.skip(b, i + 1, to);
          continue;
        }
        if (b[i] === 0x7d) break;
        return this.no('invalid JSON');
      }
    }
    if (this.skip(b, i + 1, to) !== to) return this.no('invalid JSON');
    if (!seenProperties) return this.no('no properties object');
    this.reason = 'taken';
    return true;
  }

  private no(reason: Reason): false {
    this.reason = reason;
    return false;
  }

  private skip(b: Uint8Array, i: number, to: number): number {
    while (i < to && isSpace(b[i]!)) i++;
    return i;
  }

  /** The `properties` object at `open`: each member recorded. Returns the index after its `}`, or -1. */
  private scanProperties(b: Uint8Array, open: number, to: number): number {
    let i = this.skip(b, open + 1, to);
    if (i < to && b[i] === 0x7d) return i + 1;
    for (;;) {
      if (i >= to || b[i] !== 0x22) return this.fail('invalid JSON');
      const keyFrom = i + 1;
      let j = keyFrom;
      while (PLAIN[b[j]!] === 1) j++;
      if (j >= to) return this.fail('invalid JSON');
      const c = b[j];
      if (c === 0x5c) return this.fail('escaped key');
      if (c !== 0x22) return this.fail('invalid JSON');
      const keyTo = j;
      const h = keyHash(b, keyFrom, keyTo);
      if (keyTo > keyFrom && isDigit(b[keyFrom]!)) return this.fail('integer-like or __proto__ key');
      let slot = CUSTOM;
      const entry = this.keys.find(b, keyFrom, keyTo, h);
      if (entry >= 0) {
        if (this.entryStamps[entry] === this.lineStamp) return this.fail('repeated key');
        this.entryStamps[entry] = this.lineStamp;
        slot = this.keys.slotOf(entry);
      } else {
        if (keyTo - keyFrom === 9 && sameBytes(b, keyFrom, PROTO, 0, 9)) return this.fail('integer-like or __proto__ key');
        if (!this.addCustomKey(b, keyFrom, keyTo, h)) return this.fail('repeated key');
      }
      i = this.skip(b, keyTo + 1, to);
      if (i >= to || b[i] !== 0x3a) return this.fail('invalid JSON');
      i = this.skip(b, i + 1, to);
      const valueFrom = i;
      i = this.scanValue(b, i, to);
      if (i < 0) return -1;
      const n = this.count;
      if (n === this.keyFrom.length) this.grow();
      this.keyFrom[n] = keyFrom;
      this.keyTo[n] = keyTo;
      this.slot[n] = slot;
      this.valueFrom[n] = valueFrom;
      this.valueTo[n] = i;
      this.kind[n] = this.lastKind;
      this.flags[n] = this.lastFlags;
      this.count = n + 1;
      i = this.skip(b, i, to);
      if (i >= to) return this.fail('invalid JSON');
      if (b[i] === 0x2c) {
        i = this.skip(b, i + 1, to);
        continue;
      }
      if (b[i] === 0x7d) return i + 1;
      return this.fail('invalid JSON');
    }
  }

  private fail(reason: Reason): -1 {
    this.reason = reason;
    return -1;
  }

  private grow(): void {
    const size = this.keyFrom.length * 2;
    const int = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(size);
      next.set(a);
      return next;
    };
    const byte = (a: Uint8Array): Uint8Array<ArrayBuffer> => {
      const next = new Uint8Array(size);
      next.set(a);
      return next;
    };
    this.keyFrom = int(this.keyFrom);
    this.keyTo = int(this.keyTo);
    this.slot = int(this.slot);
    this.valueFrom = int(this.valueFrom);
    this.valueTo = int(this.valueTo);
    this.kind = byte(this.kind);
    this.flags = byte(this.flags);
  }

  /** One JSON value at `i` (no leading whitespace): its end, or -1; sets lastKind and lastFlags. */
  private scanValue(b: Uint8Array, i: number, to: number): number {
    if (i >= to) return this.fail('invalid JSON');
    const c = b[i];
    if (c === 0x22) {
      this.lastKind = STRING;
      return this.scanString(b, i, to);
    }
    if (c === 0x7b || c === 0x5b) return this.scanContainer(b, i, to);
    return this.scanScalar(b, i, to);
  }

  /** A string at `i`: the index after its closing quote, or -1; lastFlags = ESCAPED when it holds an escape. */
  private scanString(b: Uint8Array, i: number, to: number): number {
    let j = i + 1;
    let flags = 0;
    for (;;) {
      while (PLAIN[b[j]!] === 1) j++;
      if (j >= to) return this.fail('invalid JSON');
      const c = b[j]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        flags = ESCAPED;
        const e = b[j + 1];
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) j += 2;
        else if (e === 0x75 && j + 5 < to && isHex(b[j + 2]!) && isHex(b[j + 3]!) && isHex(b[j + 4]!) && isHex(b[j + 5]!)) j += 6;
        else return this.fail('invalid JSON');
        continue;
      }
      if (c < 0x20) return this.fail('invalid JSON');
      j++;
    }
    this.lastFlags = flags;
    return j + 1;
  }

  /** A number or literal at `i`: its end (checked to be followed by a delimiter), or -1. */
  private scanScalar(b: Uint8Array, i: number, to: number): number {
    const c = b[i];
    let j = i;
    if (c === 0x74) {
      if (b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return this.fail('invalid JSON');
      this.lastKind = TRUE;
      j = i + 4;
    } else if (c === 0x66) {
      if (b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return this.fail('invalid JSON');
      this.lastKind = FALSE;
      j = i + 5;
    } else if (c === 0x6e) {
      if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return this.fail('invalid JSON');
      this.lastKind = NULL;
      j = i + 4;
    } else {
      // -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
      let flags = INTEGER;
      if (b[j] === 0x2d) j++;
      if (b[j] === 0x30) j++;
      else if (j < to && isDigit(b[j]!)) while (j < to && isDigit(b[j]!)) j++;
      else return this.fail('invalid JSON');
      if (b[j] === 0x2e) {
        flags = 0;
        j++;
        if (!(j < to && isDigit(b[j]!))) return this.fail('invalid JSON');
        while (j < to && isDigit(b[j]!)) j++;
      }
      if (b[j] === 0x65 || b[j] === 0x45) {
        flags = 0;
        j++;
        if (b[j] === 0x2b || b[j] === 0x2d) j++;
        if (!(j < to && isDigit(b[j]!))) return this.fail('invalid JSON');
        while (j < to && isDigit(b[j]!)) j++;
      }
      this.lastKind = NUMBER;
      this.lastFlags = flags;
      if (j > to) return this.fail('invalid JSON');
      const d = b[j];
      return j === to || d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d!) ? j : this.fail('invalid JSON');
    }
    this.lastFlags = 0;
    if (j > to) return this.fail('invalid JSON');
    const d = b[j];
    return j === to || d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d!) ? j : this.fail('invalid JSON');
  }

  /** A nested key at `i` (a quote): recorded for the open object's repeated-key check; the index after its `:` and whitespace, or -1. */
  private scanNestedKey(b: Uint8Array, i: number, to: number): number {
    if (i >= to || b[i] !== 0x22) return this.fail('invalid JSON');
    let j = i + 1;
    while (PLAIN[b[j]!] === 1) j++;
    if (j >= to) return this.fail('invalid JSON');
    if (b[j] === 0x5c) return this.fail('escaped key');
    if (b[j] !== 0x22) return this.fail('invalid JSON');
    const h = keyHash(b, i + 1, j);
    const n = this.nestedCount;
    if (n === this.nestedFrom.length) {
      const grow = (a: Int32Array): Int32Array<ArrayBuffer> => {
        const next = new Int32Array(a.length * 2);
        next.set(a);
        return next;
      };
      this.nestedFrom = grow(this.nestedFrom);
      this.nestedTo = grow(this.nestedTo);
      this.nestedHash = grow(this.nestedHash);
    }
    this.nestedFrom[n] = i + 1;
    this.nestedTo[n] = j;
    this.nestedHash[n] = h;
    this.nestedCount = n + 1;
    let k = j + 1;
    const spaced = k < to && isSpace(b[k]!);
    k = this.skip(b, k, to);
    if (k >= to || b[k] !== 0x3a) return this.fail('invalid JSON');
    const afterColon = this.skip(b, k + 1, to);
    if (spaced || afterColon !== k + 1) this.lastFlags = SPACED;
    return afterColon;
  }

  /** Does the object whose keys are nested[base, nestedCount) repeat one? */
  private repeatsKey(b: Uint8Array, base: number): boolean {
    const n = this.nestedCount - base;
    if (n < 2) return false;
    if (n <= 8) {
      for (let x = base; x < this.nestedCount; x++) {
        for (let y = x + 1; y < this.nestedCount; y++) {
          const length = this.nestedTo[x]! - this.nestedFrom[x]!;
          if (this.nestedHash[x] === this.nestedHash[y] && this.nestedTo[y]! - this.nestedFrom[y]! === length && sameBytes(b, this.nestedFrom[x]!, b, this.nestedFrom[y]!, length)) return true;
        }
      }
      return false;
    }
    this.nestedKeys.clear();
    for (let x = base; x < this.nestedCount; x++) if (!this.nestedKeys.add(b, this.nestedFrom[x]!, this.nestedTo[x]!, this.nestedHash[x]!)) return true;
    return false;
  }

  /**
   * An object or array at `i`, validated to its closing bracket (iteratively, at most MAX_DEPTH deep): the index
   * after it, or -1. lastKind = OBJECT/ARRAY; lastFlags = SPACED when whitespace appears inside.
   */
  private scanContainer(b: Uint8Array, i: number, to: number): number {
    const kind = b[i] === 0x7b ? OBJECT : ARRAY;
    let spaced = false;
    let depth = 0;
    let j = i;
    let expectValue = true;
    const baseCount = this.nestedCount;
    for (;;) {
      if (expectValue) {
        if (j >= to) {
          j = this.fail('invalid JSON');
          break;
        }
        const c = b[j];
        if (c === 0x7b || c === 0x5b) {
          if (depth === MAX_DEPTH) {
            this.nestedCount = baseCount;
            return this.fail('nested too deep');
          }
          this.openers[depth] = c;
          this.keyBase[depth] = this.nestedCount;
          depth++;
          const k = this.skip(b, j + 1, to);
          if (k !== j + 1) spaced = true;
          j = k;
          if (j < to && b[j] === c + 2) {
            // empty: `{}` or `[]` (0x7d = 0x7b + 2, 0x5d = 0x5b + 2)
            depth--;
            j++;
            expectValue = false;
            if (depth === 0) break;
            continue;
          }
          if (c === 0x7b) {
            this.lastFlags = 0;
            j = this.scanNestedKey(b, j, to);
            if (j < 0) break;
            if (this.lastFlags === SPACED) spaced = true;
          }
          continue;
        }
        j = c === 0x22 ? this.scanString(b, j, to) : this.scanScalar(b, j, to);
        if (j < 0) break;
        expectValue = false;
        continue;
      }
      const k = this.skip(b, j, to);
      if (k !== j) spaced = true;
      j = k;
      if (j >= to) {
        j = this.fail('invalid JSON');
        break;
      }
      const c = b[j];
      const opener = this.openers[depth - 1]!;
      if (c === 0x2c) {
        const v = this.skip(b, j + 1, to);
        if (v !== j + 1) spaced = true;
        j = v;
        if (opener === 0x7b) {
          this.lastFlags = 0;
          j = this.scanNestedKey(b, j, to);
          if (j < 0) break;
          if (this.lastFlags === SPACED) spaced = true;
        }
        expectValue = true;
        continue;
      }
      if (c === opener + 2) {
        if (opener === 0x7b && this.repeatsKey(b, this.keyBase[depth - 1]!)) {
          j = this.fail('repeated key');
          break;
        }
        depth--;
        this.nestedCount = this.keyBase[depth]!;
        j++;
        if (depth === 0) break;
        continue;
      }
      j = this.fail('invalid JSON');
      break;
    }
    this.nestedCount = baseCount;
    this.lastKind = kind;
    this.lastFlags = spaced ? SPACED : 0;
    return j;
  }
}
