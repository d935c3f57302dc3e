import { describe, expect, it } from 'vitest';
import { DeliveredIds, fnv1aFmix32 } from './delivered-ids.js';

const SAMPLE = [
  'user-1',
  'user-10',
  '',
  '3928097563762691601',
  '$device:0f8fad5b-d9cb-469f-a165-70867728950e',
  'ünïcødé',
  '顧客-42',
  'emoji-👩‍💻',
  'x'.repeat(5000),
  'a@example.com',
];

describe('DeliveredIds', () => {
  it('answers exactly: new ids are added once, repeats are refused, unknown ids are absent', () => {
    const ids = new DeliveredIds();
    for (const id of SAMPLE) expect(ids.add(id)).toBe(true);
    for (const id of SAMPLE) expect(ids.add(id)).toBe(false);
    for (const id of SAMPLE) expect(ids.has(id)).toBe(true);
    for (const id of ['user-2', 'user-1 ', 'USER-1', '顧客-43', 'x'.repeat(4999)]) expect(ids.has(id)).toBe(false);
    expect(ids.size).toBe(SAMPLE.length);
    expect([...ids.values()].sort()).toEqual([...SAMPLE].sort());
  });

  it('a hash collision never makes a different id look delivered (every id hashes alike here)', () => {
    const ids = new DeliveredIds({ hash: () => 7 });
    const all = Array.from({ length: 1500 }, (_, i) => `user-${i}`);
    for (const id of all) expect(ids.add(id)).toBe(true);
    expect(ids.size).toBe(1500);
    for (const id of all) expect(ids.add(id)).toBe(false);
    expect(ids.has('user-1500')).toBe(false);
    // Same length, same hash, different bytes.
    expect(ids.add('user-15x')).toBe(true);
  });

  it('keeps strings that UTF-8 cannot tell apart (lone surrogates, U+FFFD) distinct', () => {
    const ids = new DeliveredIds();
    const tricky = ['a\ud800', 'a\udc00', 'a\ufffd', '\ud83d', 'a\ud83d\ude00'];
    for (const id of tricky) expect(ids.add(id)).toBe(true);
    for (const id of tricky) expect(ids.has(id)).toBe(true);
    for (const id of tricky) expect(ids.add(id)).toBe(false);
    expect(ids.size).toBe(tricky.length);
    expect(new Set(ids.values())).toEqual(new Set(tricky));
  });

  it('grows past its first sizes with no id lost, holding typed arrays of a few dozen bytes per short id', () => {
    const ids = new DeliveredIds();
    const n = 200_000;
    for (let i = 0; i < n; i++) ids.add(`user-${i}`);
    expect(ids.size).toBe(n);
    let refused = 0;
    for (let i = 0; i < n; i++) if (!ids.add(`user-${i}`)) refused++;
    expect(refused).toBe(n);
    expect(ids.has(`user-${n}`)).toBe(false);
    // user-NNNNNN is ≤ 11 bytes: 8–16 bytes of table, 4–8 of offset, the bytes (arena at most doubled up to
    // 4 MiB): 36.7 bytes per id here, 25.4 at 1M.
    expect(ids.byteLength / n).toBeLessThan(40);
    let count = 0;
    let outOfOrder = 0;
    for (const id of ids.values()) if (id !== `user-${count++}`) outOfOrder++;
    expect(count).toBe(n);
    expect(outOfOrder).toBe(0);
  });

  it('hashes bytes with FNV-1a + fmix32 (stable across processes)', () => {
    const bytes = new TextEncoder().encode('user-1');
    expect(fnv1aFmix32(bytes, 0, bytes.length)).toBe(fnv1aFmix32(new TextEncoder().encode('xxuser-1'), 2, 8));
    expect(fnv1aFmix32(bytes, 0, bytes.length)).not.toBe(fnv1aFmix32(new TextEncoder().encode('user-2'), 0, 6));
  });
});
