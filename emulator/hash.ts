/** Deterministic integer hashing: every generated value is a pure function of (seed, index, salt). */

/** 32-bit avalanche mix (murmur3 fmix32). */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of (seed, index, salt) as an unsigned 32-bit integer. `index` may exceed 2^32. */
export function hash3(seed: number, index: number, salt: number): number {
  const lo = index % 4294967296;
  const hi = Math.floor(index / 4294967296);
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ lo);
  h = mix32(h ^ Math.imul(hi + 1, 0x27d4eb2f));
  return mix32(h ^ Math.imul(salt + 1, 0x165667b1));
}

/** Uniform float in [0, 1). */
export function unit(seed: number, index: number, salt: number): number {
  return hash3(seed, index, salt) / 4294967296;
}

/** Integer in [0, n). */
export function pick(seed: number, index: number, salt: number, n: number): number {
  return hash3(seed, index, salt) % n;
}

const ALNUM = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 'latin1');

/** Write a deterministic [A-Za-z0-9] token of `length` bytes at `off`; returns the new offset. */
export function writeToken(out: Buffer, off: number, seed: number, index: number, salt: number, length: number): number {
  let h = hash3(seed, index, salt);
  for (let i = 0; i < length; i++) {
    if (i % 5 === 4) h = mix32(h + i);
    out[off++] = ALNUM[h % 62] as number;
    h = Math.floor(h / 62);
  }
  return off;
}

const scratch = Buffer.alloc(256);

/** A deterministic [A-Za-z0-9] string of `length` characters (the same bytes `writeToken` writes). */
export function token(seed: number, index: number, salt: number, length: number): string {
  const end = writeToken(scratch, 0, seed, index, salt, Math.min(length, scratch.length));
  return scratch.toString('latin1', 0, end);
}
