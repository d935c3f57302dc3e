import { describe, expect, it } from 'vitest';
import { dedupeKey } from './dedupe.js';

describe('dedupeKey', () => {
  it('keeps the keys of earlier versions (sha256 of v1\\0 + JSON.stringify([event, distinct_id JSON, seconds, insert_id]))', () => {
    expect(dedupeKey('Sign up', '"u1"', 1718000000, 'abc')).toBe('6269e6e7b3a519fde1f7651b2a1c9274');
    expect(dedupeKey(null, null, null, 'x')).toBe('8766fa25b64d9de3e87470ca44acda18');
    expect(dedupeKey('é', '1234567890123456789', -5, 'i"d')).toBe('6189a180beccf9ebf999e6c45abea53a');
  });
});
