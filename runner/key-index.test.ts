import { describe, expect, it } from 'vitest';
import { KeyHashIndex } from './key-index.js';

/** Deterministic 53-bit-ish hashes with planted duplicates (some three times or more), added in batches of uneven sizes. */
function fill(index: KeyHashIndex, count: number, seed: number): number[] {
  const all: number[] = [];
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  for (let i = 0; i < count; i++) {
    if (i % 997 === 0 && i > 0) all.push(all[next() % i]!); // a copy
    else if (i % 5003 === 0 && i > 997) all.push(all[i - (i % 997)]!); // a copy of a copy: held three times or more
    else all.push(next() * 2048 + (next() % 2048));
  }
  for (let at = 0; at < all.length; ) {
    const n = 1 + (next() % 20_000);
    index.add(Float64Array.from(all.slice(at, at + n)));
    at += n;
  }
  return all;
}

describe('KeyHashIndex', () => {
  it('finds every duplicate across 64k chunks and answers membership like a Set (200k hashes)', () => {
    const index = new KeyHashIndex();
    const all = fill(index, 200_000, 3);
    expect(index.size).toBe(200_000);
    index.seal();
    const counts = new Map<number, number>();
    for (const h of all) counts.set(h, (counts.get(h) ?? 0) + 1);
    const expected = new Set([...counts].filter(([, n]) => n > 1).map(([h]) => h));
    expect(expected.size).toBeGreaterThan(150);
    expect(index.duplicates()).toEqual(expected);
    for (const h of expected) expect(index.occurrences(h)).toBe(counts.get(h));
    expect([...counts].filter(([, n]) => n > 2).length).toBeGreaterThan(0); // some hash is held three times or more
    for (let i = 0; i < all.length; i += 101) expect(index.has(all[i]!)).toBe(true);
    for (const absent of [0, 1, 3.5, -7, 2 ** 52 + 1]) expect(index.has(absent)).toBe(counts.has(absent));
    expect(index.size).toBe(200_000);
  });

  it('works for an empty call and for a call of one partial chunk', () => {
    const empty = new KeyHashIndex();
    empty.seal();
    expect(empty.duplicates().size).toBe(0);
    expect(empty.has(1)).toBe(false);
    const small = new KeyHashIndex();
    small.add(Float64Array.from([5, 3, 5, 9]));
    small.seal();
    expect([...small.duplicates()]).toEqual([5]);
    expect([small.has(3), small.has(9), small.has(4)]).toEqual([true, true, false]);
  });

  it('release() drops the hashes but keeps the duplicates; a later has() is refused, never answered wrong', () => {
    const index = new KeyHashIndex();
    const all = fill(index, 150_000, 11);
    expect(() => index.release()).toThrow(/not sealed/);
    index.seal();
    const before = new Set(index.duplicates());
    expect(index.has(all[0]!)).toBe(true); // merged once for binary search, released below as well
    index.release();
    expect(index.duplicates()).toEqual(before);
    expect(() => index.has(all[0]!)).toThrow(/released/);
  });
});
