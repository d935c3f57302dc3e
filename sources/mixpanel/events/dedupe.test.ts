import { describe, expect, it } from 'vitest';
import { dedupeKey, dedupeKeyOfJsonTexts } from './dedupe.js';

describe('dedupeKey', () => {
  it('keeps the keys of earlier versions (sha256 of v1\\0 + JSON.stringify([event, distinct_id JSON, seconds, insert_id]))', () => {
    expect(dedupeKey('Sign up', '"u1"', 1718000000, 'abc')).toBe('6269e6e7b3a519fde1f7651b2a1c9274');
    expect(dedupeKey(null, null, null, 'x')).toBe('8766fa25b64d9de3e87470ca44acda18');
    expect(dedupeKey('é', '1234567890123456789', -5, 'i"d')).toBe('6189a180beccf9ebf999e6c45abea53a');
  });

  it('dedupeKeyOfJsonTexts: the same key from the JSON string texts of a line, without making strings', () => {
    // [event, distinct_id, insert_id] as they appear in a line (no backslash): every mix of present and absent.
    const names = ['"Sign up"', '"é 😀 購入"', '""', null];
    const distincts = ['"u1"', '"用户-1"', '""', null];
    const inserts = ['"abc"', '"wpfgph2i-hjxv-hyios80nq7o8"', '""', `"${'x'.repeat(600)}"`];
    let checked = 0;
    for (const event of names) {
      for (const distinct of distincts) {
        for (const insert of inserts) {
          for (const seconds of [1718000000, -5, 0, null]) {
            const line = Buffer.from(`{"e":${event ?? 7},"d":${distinct ?? 'null'},"i":${insert}}`, 'utf8');
            const at = (text: string | null, from: number): [number, number] => {
              if (text === null) return [-1, -1];
              const start = line.indexOf(Buffer.from(text, 'utf8'), from);
              return [start, start + Buffer.byteLength(text)];
            };
            const [ef, et] = at(event, 5);
            const [df, dt] = at(distinct, line.indexOf('"d":') + 4);
            const [insertFrom, insertTo] = at(insert, line.indexOf('"i":') + 4);
            const expected = dedupeKey(event === null ? null : (JSON.parse(event) as string), distinct, seconds, JSON.parse(insert) as string);
            expect(dedupeKeyOfJsonTexts(line, ef, et, df, dt, seconds, insertFrom, insertTo)).toBe(expected);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(256);
    // The first fixture, from bytes.
    const line = Buffer.from('"Sign up""u1""abc"');
    expect(dedupeKeyOfJsonTexts(line, 0, 9, 9, 13, 1718000000, 13, 18)).toBe('6269e6e7b3a519fde1f7651b2a1c9274');
  });
});
