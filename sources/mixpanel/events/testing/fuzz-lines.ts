/**
 * E1's seeded export-line generator for the lossless custom-properties fuzz (lossless-fuzz.test.ts), shared with
 * the scanner's differential test: lines holding every JSON number form (`-0.0`, `1.0`, `1E5`, `1e-7`, `1e21`,
 * `0.1e1`, 30-digit integers, `-0`, `1.50`, …) at the top level and inside nested objects and arrays, string
 * escapes, integer-like keys and insignificant whitespace, each with the custom_properties texts it must give.
 */
import { seededRandom } from '../../../../connector-spec/testing/seeded-random.js';

/** mulberry32 (connector-spec/testing/seeded-random.ts). */
export const random = seededRandom;

/** The forms the issue names, and their neighbours. */
const NUMBER_FORMS = [
  '-0.0', '1.0', '1E5', '1e-7', '1e21', '0.1e1', '123456789012345678901234567890', '-0', '1.50', '0', '-1', '42', '3.25',
  '1e+21', '1E+2', '1e-0', '-0e0', '0.000001', '0.0000001', '1e400', '-1e400', '4.9e-324', '5e-325', '9007199254740993',
  '3928097563762691601', '-9223372036854775808', '0.1000000000000000055511151231257827', '100', '1.5e300', '12.340',
];
const STRING_FORMS = ['"plain"', '"caf\\u00e9"', '"a\\/b"', '"q\\"uote"', '"back\\\\slash"', '"line\\nbreak"', '"\\u001F"', '"\\u001f"', '"Zürich 🙂"', '"\\ud83d\\ude00"', '"1.0"', '""'];
const KEY_FORMS = ['k', 'n', '1', '01', 'é', 'a b', '$x', 'K\\u0041'];

export interface Json {
  /** As written in the line (with whitespace). */
  readonly raw: string;
  /** The same text without whitespace outside strings: what custom_properties must hold. */
  readonly compact: string;
}

export class Lines {
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

