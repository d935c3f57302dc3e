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

/** mulberry32: the same lines on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The forms the issue names, and their neighbours. */
const NUMBER_FORMS = [
  '-0.0', '1.0', '1E5', '1e-7', '1e21', '0.1e1', '123456789012345678901234567890', '-0', '1.50', '0', '-1', '42', '3.25',
  '1e+21', '1E+2', '1e-0', '-0e0', '0.000001', '0.0000001', '1e400', '-1e400', '4.9e-324', '5e-325', '9007199254740993',
  '3928097563762691601', '-9223372036854775808', '0.1000000000000000055511151231257827', '100', '1.5e300', '12.340',
];
const STRING_FORMS = ['"plain"', '"caf\\u00e9"', '"a\\/b"', '"q\\"uote"', '"back\\\\slash"', '"line\\nbreak"', '"\\u001F"', '"\\u001f"', '"Zürich 🙂"', '"\\ud83d\\ude00"', '"1.0"', '""'];
const KEY_FORMS = ['k', 'n', '1', '01', 'é', 'a b', '$x', 'K\\u0041'];

interface Json {
  /** As written in the line (with whitespace). */
  readonly raw: string;
  /** The same text without whitespace outside strings: what custom_properties must hold. */
  readonly compact: string;
}

class Lines {
  constructor(
    private readonly next: () => number,
    /** Probability of whitespace between two tokens. */
    private readonly spacing: number,
    /** false: only forms JSON.stringify writes back unchanged (the fast path). */
    private readonly odd: boolean,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  private ws(): string {
    if (this.next() >= this.spacing) return '';
    return this.pick([' ', '  ', '\t', ' \r ']);
  }

  number(): string {
    if (this.odd && this.next() < 0.6) return this.pick(NUMBER_FORMS);
    const r = this.next();
    if (!this.odd) return r < 0.5 ? String(Math.floor(this.next() * 1e6) - 5e5) : String(Math.round(this.next() * 1e6) / 100);
    // Random text in the JSON number grammar: sign, digits (maybe many), fraction (maybe trailing zeros), exponent.
    const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(this.next() * 10))).join('');
    const int = this.next() < 0.2 ? '0' : String(1 + Math.floor(this.next() * 9)) + digits(Math.floor(this.next() * (this.next() < 0.1 ? 25 : 6)));
    const frac = this.next() < 0.4 ? `.${digits(1 + Math.floor(this.next() * 8))}` : '';
    const exp = this.next() < 0.25 ? `${this.pick(['e', 'E'])}${this.pick(['', '+', '-'])}${digits(1 + Math.floor(this.next() * 3))}` : '';
    return `${this.next() < 0.3 ? '-' : ''}${int}${frac}${exp}`;
  }

  private string(): string {
    if (this.odd) return this.pick(STRING_FORMS);
    return JSON.stringify(this.pick(['plain', 'Zürich 🙂', 'q"uote', 'line\nbreak', '']));
  }

  private key(): string {
    return this.odd ? this.pick(KEY_FORMS) : this.pick(['k', 'n', 'é', 'a b', '$x']);
  }

  value(depth: number): Json {
    const r = this.next();
    if (depth > 0 && r < 0.15) {
      const items = Array.from({ length: Math.floor(this.next() * 4) }, () => this.value(depth - 1));
      return this.container('[', ']', items.map((v) => ({ raw: v.raw, compact: v.compact })));
    }
    if (depth > 0 && r < 0.3) {
      const names = new Set<string>();
      const members: Json[] = [];
      for (let i = Math.floor(this.next() * 4); i > 0; i--) {
        const name = this.key();
        if (names.has(name)) continue; // a repeated name is outside the rule (JSON.parse keeps the last)
        names.add(name);
        const v = this.value(depth - 1);
        const sep = `${this.ws()}:${this.ws()}`;
        members.push({ raw: `"${name}"${sep}${v.raw}`, compact: `"${name}":${v.compact}` });
      }
      return this.container('{', '}', members);
    }
    const text = r < 0.7 ? this.number() : r < 0.9 ? this.string() : this.pick(['true', 'false', 'null']);
    return { raw: text, compact: text };
  }

  private container(open: string, close: string, items: readonly Json[]): Json {
    return {
      raw: `${open}${this.ws()}${items.map((i) => i.raw).join(`${this.ws()},${this.ws()}`)}${this.ws()}${close}`,
      compact: `${open}${items.map((i) => i.compact).join(',')}${close}`,
    };
  }

  /** One export line, and what its custom properties and typed columns must hold. */
  line(n: number): { text: string; custom: Map<string, string>; screenWidth: string; browserVersion: string } {
    const custom = new Map<string, string>();
    const members: string[] = [
      `"time"${this.ws()}:${this.ws()}${1718000000000 + n}`,
      `"distinct_id":"u${n}"`,
      `"$insert_id":"id-${n}"`,
      `"mp_processing_time_ms":${1718000001000 + n}`,
    ];
    const screenWidth = this.number();
    const browserVersion = this.number();
    members.push(`"$screen_width":${this.ws()}${screenWidth}`, `"$browser_version":${browserVersion}`, `"$browser":"Chrome"`);
    for (let i = 0; i < 1 + Math.floor(this.next() * 5); i++) {
      const name = `c${i}_${this.key()}`;
      const v = this.value(3);
      members.push(`"${name}"${this.ws()}:${this.ws()}${v.raw}`);
      custom.set(JSON.parse(`"${name}"`) as string, v.compact);
    }
    const text = `{${this.ws()}"event"${this.ws()}:${this.ws()}"E"${this.ws()},"properties":${this.ws()}{${members.join(`${this.ws()},${this.ws()}`)}}${this.ws()}}`;
    return { text, custom, screenWidth, browserVersion };
  }
}

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
