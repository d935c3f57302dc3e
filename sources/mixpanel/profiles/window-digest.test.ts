import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../json.js';
import { digestOf, profileHash } from './window-digest.js';

describe('profile window digest', () => {
  it('keeps the row hashes of earlier versions (cursors written before stay valid)', () => {
    // Values computed with the original createHash().update(id).update('\0').update(losslessStringify(props)).
    const a = profileHash('user-1', parseJsonLossless('{"$last_seen":"2026-03-02T00:00:25","plan":"pro","big":1234567890123456789,"huge":1e400,"list":[1,"é"]}') as Record<string, unknown>);
    const b = profileHash('42', parseJsonLossless('{"$last_seen":"2026-03-02T00:00:25","n":12.5,"o":{"x":null}}') as Record<string, unknown>);
    expect(a.toString(16)).toBe('735fd97dbf591b44');
    expect(b.toString(16)).toBe('eebf9e7242783759');
    expect(digestOf([a, b])).toBe('621f77f001d1529d');
    expect(digestOf([b, a])).toBe(digestOf([a, b]));
    expect(digestOf([])).toBe('0000000000000000');
  });

  it('tells a 19-digit value from its rounded neighbour', () => {
    const exact = profileHash('x', parseJsonLossless('{"id":1234567890123456789}') as Record<string, unknown>);
    const next = profileHash('x', parseJsonLossless('{"id":1234567890123456788}') as Record<string, unknown>);
    expect(exact).not.toBe(next);
  });
});
