/**
 * Lossless custom properties, fuzzed against the raw line. Seeded random export lines hold every JSON number form
 * (`-0.0`, `1.0`, `1E5`, `1e-7`, `1e21`, `0.1e1`, 30-digit integers, `-0`, `1.50`, …) at the top level and inside
 * nested objects and arrays, string escapes, integer-like keys and insignificant whitespace. They go through the
 * real parse path, on this thread and on a parse worker (identical rows), and each custom property's text must be
 * the raw JSON text of its value with the whitespace outside strings removed. Typed standard columns stay typed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isExactJsonText } from '../json.js';
import { rowsOf, type Row } from '../testing/driver.js';
import { parseEventChunk, type ChunkResult, type ChunkSettings } from './parse-chunk.js';
import { ParsePool } from './parse-pool.js';
import { Lines, random } from './testing/fuzz-lines.js';

const SETTINGS: ChunkSettings = { what: 'fuzz', legacyZone: null, selected: null };
const pool = new ParsePool(1);
afterAll(async () => {
  await pool.close();
});

function rowsOfResult(result: ChunkResult): Row[] {
  return result.batches.flatMap((b) => rowsOf(b));
}

/** The int64 column value of a JSON number text, or undefined when it does not fit (then it stays raw). */
function int64Of(text: string): bigint | undefined {
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
  }
  const n = Number(text);
  return Number.isSafeInteger(n) ? BigInt(n) : undefined;
}

/** The float64 column value of a JSON number text, or undefined (an unsafe integer is read exactly, as a bigint: raw). */
function float64Of(text: string): number | undefined {
  const n = Number(text);
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(n)) return undefined;
  return Number.isFinite(n) ? n : undefined;
}

describe('custom_properties keep the raw JSON text of every value (fuzz)', () => {
  for (const [name, spacing, odd, seed] of [
    ['canonical forms, no whitespace (the JSON.stringify fast path)', 0, false, 7],
    ['every number form, escapes and integer-like keys, no whitespace', 0, true, 8],
    ['every number form, escapes and insignificant whitespace', 0.3, true, 9],
  ] as const) {
    it(name, async () => {
      expect.hasAssertions();
      const lines = new Lines(random(seed), spacing, odd);
      const expected = Array.from({ length: 1500 }, (_, n) => lines.line(n));
      const fast = expected.filter((e) => isExactJsonText(e.text)).length;
      if (odd) expect(fast).toBeLessThan(expected.length / 2);
      else expect(fast).toBe(expected.length);
      const body = Buffer.from(expected.map((e) => `${e.text}\n`).join(''));
      const here = rowsOfResult(parseEventChunk(new Uint8Array(body), 0, SETTINGS));
      const copy = new Uint8Array(body).slice().buffer;
      const onWorker = rowsOfResult(await pool.parse(copy, 0, SETTINGS));
      expect(onWorker).toEqual(here);
      expect(here).toHaveLength(expected.length);
      here.forEach((row, i) => {
        const want = expected[i]!;
        const custom = new Map(Object.entries((row['custom_properties'] ?? {}) as Record<string, string>));
        for (const [key, text] of want.custom) expect(custom.get(key), `${key} in ${want.text}`).toBe(text);
        // Typed standard columns stay typed; a value that does not fit is kept raw, never both, never neither.
        const width = int64Of(want.screenWidth);
        if (width !== undefined) {
          expect(row['screen_width'] === null ? undefined : BigInt(row['screen_width'] as bigint), want.text).toBe(width);
          expect(custom.has('$screen_width')).toBe(false);
        } else {
          expect(row['screen_width'], want.text).toBeNull();
          expect(custom.get('$screen_width'), want.text).toBe(want.screenWidth);
        }
        const version = float64Of(want.browserVersion);
        if (version !== undefined) {
          expect(row['browser_version'], want.text).toBe(version);
          expect(custom.has('$browser_version')).toBe(false);
        } else {
          expect(custom.get('$browser_version'), want.text).toBe(want.browserVersion);
        }
        expect(custom.size, want.text).toBe(want.custom.size + (custom.has('$screen_width') ? 1 : 0) + (custom.has('$browser_version') ? 1 : 0));
      });
    });
  }

  it('names each number form of the issue exactly, at the top level and nested', () => {
    const forms = ['-0.0', '1.0', '1E5', '1e-7', '1e21', '0.1e1', '123456789012345678901234567890', '-0', '1.50'];
    const props = forms.map((f, i) => `"n${i}":${f},"a${i}":[${f}, {"x" : ${f}}]`).join(',');
    const line = `{"event":"E","properties":{"time":1718000000000,"$insert_id":"i","distinct_id":"d",${props}}}\n`;
    const [row] = rowsOfResult(parseEventChunk(new Uint8Array(Buffer.from(line)), 0, SETTINGS));
    const custom = row!['custom_properties'] as Record<string, string>;
    forms.forEach((f, i) => {
      expect(custom[`n${i}`]).toBe(f);
      expect(custom[`a${i}`]).toBe(`[${f},{"x":${f}}]`);
    });
  });

  it('takes the last text of a repeated name, as JSON.parse takes its last value', () => {
    const line = '{"event":"E","properties":{"time":1718000000000,"$insert_id":"i","distinct_id":"d","a":1.0,"b":"x","a":3.50,"1":2.0}}\n';
    const [row] = rowsOfResult(parseEventChunk(new Uint8Array(Buffer.from(line)), 0, SETTINGS));
    expect(row!['custom_properties']).toEqual({ '1': '2.0', a: '3.50', b: '"x"' });
  });
});
