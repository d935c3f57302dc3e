/**
 * Lossless JSON for Mixpanel payloads. `JSON.parse` rounds integers beyond 2^53 (19-digit ids) and turns
 * `1e400` into Infinity; here such numbers survive: unsafe integers become `bigint`, non-finite numbers keep
 * their source text (`LosslessNumber`). `stringifyJson` writes them back exactly.
 *
 * Fast path: `JSON.parse`, then one walk over the parsed numbers. `JSON.parse` can lose information only on a
 * number whose double is beyond ±(2^53 − 1): an integer literal that is not a safe integer rounds to a double of
 * magnitude ≥ 2^53, and an exponent out of range gives ±Infinity; every number at or below that magnitude is
 * exactly what the lossless parser returns (the same correctly rounded `Number(text)`). So when no parsed number
 * is beyond it the result is returned as is; otherwise the text is parsed again losslessly. The test looks at the
 * values, never at the text: digits inside strings (UUIDs, hex ids, `e123`) cannot send a line to the slow path.
 */
import { LosslessNumber, isLosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

const INTEGER = /^-?\d+$/;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Reused work stack of `holdsRoundedNumber` (module-level: no allocation per call; never left non-empty). */
const pending: unknown[] = [];

/**
 * Does a `JSON.parse` result hold a number that the lossless parser would return differently (an integer beyond
 * ±(2^53 − 1), which `JSON.parse` may have rounded, or ±Infinity from an exponent out of range)? Iterative, so
 * any nesting depth `JSON.parse` accepts is walked. A false positive (e.g. `1.5e20`) only costs a second parse.
 */
export function holdsRoundedNumber(root: unknown): boolean {
  if (typeof root !== 'object' || root === null) return typeof root === 'number' && (root > MAX_SAFE || root < -MAX_SAFE);
  let top = 0;
  pending[top++] = root;
  while (top > 0) {
    const value = pending[--top];
    pending[top] = undefined;
    if (typeof value === 'number') {
      if (value > MAX_SAFE || value < -MAX_SAFE) {
        for (let i = 0; i < top; i++) pending[i] = undefined;
        return true;
      }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'number' || (typeof item === 'object' && item !== null)) pending[top++] = item;
      }
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      for (const key in record) {
        const item = record[key];
        if (typeof item === 'number' || (typeof item === 'object' && item !== null)) pending[top++] = item;
      }
    }
  }
  return false;
}

function parseNumber(text: string): number | bigint | LosslessNumber {
  const n = Number(text);
  if (INTEGER.test(text)) return Number.isSafeInteger(n) ? n : BigInt(text);
  return Number.isFinite(n) ? n : new LosslessNumber(text);
}

/**
 * Parse JSON text without losing numeric information and say which path was taken: `plain` means `JSON.parse`
 * handled it, so the value holds no bigint or LosslessNumber. Throws SyntaxError like `JSON.parse`.
 */
export function parseJsonLosslessReporting(text: string): { readonly value: unknown; readonly plain: boolean } {
  const value = JSON.parse(text) as unknown;
  // A text whose every number is written as JSON.stringify writes it holds no rounded number: no walk needed.
  if (isExactJsonText(text) || !holdsRoundedNumber(value)) return { value, plain: true };
  return { value: losslessParse(text, null, parseNumber) as unknown, plain: false };
}

/*
 * Exact texts. `JSON.stringify(JSON.parse(text))` gives back each value's text exactly when every number is written
 * the way JSON.stringify writes it, no string escape is one JSON.stringify writes differently (`\u00e9`, `\/`), and
 * no object has an integer-like key (V8 enumerates those first). The test below accepts only texts where that holds
 * for sure: numbers `0`, `-?[1-9]\d{0,14}`, `-?[1-8]\d{15}` (below 2^53) and decimals of at most 15 digits without
 * exponent, trailing zero or more than five zeros after `0.` (JSON.stringify writes the same digits: a decimal of at
 * most 15 significant digits is the shortest text of its double); escapes `\" \\ \b \f \n \r \t`; strings
 * starting with a digit not followed by `:`. Anything else (`-0.0`, `1.0`, `1E5`, `1e-7`, `1e21`, `0.1e1`, `1.50`,
 * `-0`, 19-digit integers, `\u` escapes, key "1") fails it, and the caller cuts the raw texts out of the line
 * instead (`rawMembersAt`). Each alternative starts with a different character and a run of other characters must
 * be maximal, so there is one way to split a text into tokens and the match stops at the first other token.
 */
const EXACT_NUMBER = String.raw`(?:-?(?:[1-9]\d{0,14}|[1-8]\d{15}|(?=[\d.]{3,16}(?![\d.]))(?:0\.0{0,5}[1-9](?:\d*[1-9])?|[1-9]\d*\.\d*[1-9]))|0)(?![\d.eE+\-])`;
const EXACT_STRING_BODY = String.raw`[^"\\]*(?:\\["\\bfnrt][^"\\]*)*"`;
/** Sticky: matches the longest run of such tokens from 0, never backtracking into a failure; exact = it reaches the end. */
const EXACT_TOKENS = new RegExp(String.raw`(?:"(?![0-9])${EXACT_STRING_BODY}|"[0-9]${EXACT_STRING_BODY}(?!\s*:)|[^"\-\d]+(?![^"\-\d])|${EXACT_NUMBER})*`, 'y');
/** Longer texts are not tested (the regex's backtrack stack grows with the number of tokens): they take the raw path. */
export const EXACT_TEXT_MAX_CHARS = 32 * 1024;
/** The last text found exact (one entry: the parser and then the row builder ask about the same line object). */
let lastExact: string | undefined;

/** Does `JSON.stringify` of every value parsed from `text` give back that value's text exactly (whitespace aside)? */
export function isExactJsonText(text: string): boolean {
  if (text === lastExact) return true;
  if (text.length > EXACT_TEXT_MAX_CHARS) return false;
  EXACT_TOKENS.lastIndex = 0;
  EXACT_TOKENS.test(text);
  if (EXACT_TOKENS.lastIndex !== text.length) return false;
  lastExact = text;
  return true;
}

/** Parse JSON text without losing numeric information. Throws SyntaxError like `JSON.parse`. */
export function parseJsonLossless(text: string): unknown {
  return parseJsonLosslessReporting(text).value;
}

/**
 * `parseJsonLossless` for the text of one small record (an Engage profile): `JSON.parse`, then the walk over its
 * numbers, without the exact-text test (for a record the walk costs less than the regex, and no caller cuts raw
 * texts out of it). Same value, same SyntaxError.
 */
export function parseJsonRecordLossless(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  return holdsRoundedNumber(value) ? (losslessParse(text, null, parseNumber) as unknown) : value;
}

/** Nodes `holdsExactNumber` visits before it answers "maybe" (a cyclic value then fails in lossless-json, as before). */
const MAX_VISITS = 1_000_000;

/**
 * Does a value hold a bigint or a LosslessNumber (anything `JSON.stringify` cannot write exactly)? Iterative walk
 * over arrays and plain objects, no allocation per call. Answers true (the lossless writer) beyond MAX_VISITS.
 */
export function holdsExactNumber(root: unknown): boolean {
  if (typeof root !== 'object' || root === null) return typeof root === 'bigint';
  let top = 0;
  let visits = 0;
  pending[top++] = root;
  while (top > 0) {
    if (++visits > MAX_VISITS) {
      for (let i = 0; i < top; i++) pending[i] = undefined;
      return true;
    }
    const value = pending[--top];
    pending[top] = undefined;
    if (typeof value === 'bigint' || isLosslessNumber(value)) {
      for (let i = 0; i < top; i++) pending[i] = undefined;
      return true;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'bigint' || (typeof item === 'object' && item !== null)) pending[top++] = item;
      }
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      for (const key in record) {
        const item = record[key];
        if (typeof item === 'bigint' || (typeof item === 'object' && item !== null)) pending[top++] = item;
      }
    }
  }
  return false;
}

/**
 * JSON text of a value produced by `parseJsonLossless` (bigint and LosslessNumber written exactly). A value
 * holding neither is written by `JSON.stringify`, whose text is the same as lossless-json's for parsed JSON (same
 * per-value `JSON.stringify`, key order and separators).
 */
export function stringifyJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (!holdsExactNumber(value)) return JSON.stringify(value) ?? 'null';
  return losslessStringify(value) ?? 'null';
}

export { LosslessNumber };

/*
 * Raw member texts. `JSON.parse` then `JSON.stringify` rewrites number forms (`-0.0` → `0`, `1.0` → `1`, `1E5` →
 * `100000`, `1e21` → `1e+21`, `0.1e1` → `1`, `1.50` → `1.5`), string escapes (`\u00e9` → `é`, `\/` → `/`) and the
 * order of integer-like keys. Where a line's own text must survive (custom properties), it is cut out of the line:
 * the exact text of each value with only the insignificant whitespace (outside strings) removed.
 */

export function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(s: string, i: number): number {
  while (isJsonSpace(s.charCodeAt(i))) i++;
  return i;
}

/** `i` at an opening quote → the index after its closing quote. */
function stringEnd(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    j = s.indexOf('"', j);
    if (j === -1) return s.length;
    let backslashes = 0;
    for (let k = j - 1; s.charCodeAt(k) === 0x5c; k--) backslashes++;
    if ((backslashes & 1) === 0) return j + 1;
    j++;
  }
}

/** `i` at the first character of a value → the index after it. */
function valueEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22) return stringEnd(s, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < s.length; ) {
      const d = s.charCodeAt(j);
      if (d === 0x22) {
        j = stringEnd(s, j);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
      j++;
    }
    return s.length;
  }
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isJsonSpace(d)) break;
    j++;
  }
  return j;
}

/** The text of s[from, to) (one JSON value) without whitespace outside strings. */
export function compactJsonText(s: string, from = 0, to = s.length): string {
  let out = '';
  let last = from;
  for (let j = from; j < to; ) {
    const c = s.charCodeAt(j);
    if (c === 0x22) {
      j = stringEnd(s, j);
      continue;
    }
    if (isJsonSpace(c)) {
      out += s.slice(last, j);
      while (j < to && isJsonSpace(s.charCodeAt(j))) j++;
      last = j;
      continue;
    }
    j++;
  }
  return last === from ? s.slice(from, to) : out + s.slice(last, to);
}

function hasEscape(s: string, from: number, to: number): boolean {
  for (let k = from + 1; k < to - 1; k++) if (s.charCodeAt(k) === 0x5c) return true;
  return false;
}

/** The name of the JSON string whose quotes are at `from` and `to - 1`. */
function nameAt(s: string, from: number, to: number): string {
  return hasEscape(s, from, to) ? (JSON.parse(s.slice(from, to)) as string) : s.slice(from + 1, to - 1);
}

/**
 * The members of one JSON object as its text writes them, in text order (a repeated name appears twice): for member
 * `i`, `spans[4i..4i+3]` = where its name's quotes and its value's text start and end. Names and texts are cut
 * on demand; a text has the whitespace outside strings removed.
 */
export class RawMembers {
  readonly spans: number[] = [];
  #byName: Map<string, number> | undefined;

  constructor(readonly text: string) {}

  get length(): number {
    return this.spans.length >> 2;
  }

  nameAt(i: number): string {
    return nameAt(this.text, this.spans[4 * i]!, this.spans[4 * i + 1]!);
  }

  /** The text of member `i`. */
  textAt(i: number): string {
    const from = this.spans[4 * i + 2]!;
    const to = this.spans[4 * i + 3]!;
    const c = this.text.charCodeAt(from);
    return c === 0x7b || c === 0x5b ? compactJsonText(this.text, from, to) : this.text.slice(from, to);
  }

  /** The member called `name`: its last occurrence, the one JSON.parse keeps; -1 when there is none. */
  indexOf(name: string): number {
    if (this.#byName === undefined) {
      this.#byName = new Map();
      for (let i = 0; i < this.length; i++) this.#byName.set(this.nameAt(i), i);
    }
    return this.#byName.get(name) ?? -1;
  }

  /**
   * The member JSON.parse enumerated `i`-th as `name`: member `i` when the names agree (JSON.parse keeps text order
   * unless a name repeats or is integer-like), else by name (-1: none). With a repeated name the positions drift:
   * a caller checks `length` against the members it saw and then asks `indexOf`.
   */
  memberFor(i: number, name: string): number {
    return i >= 0 && i < this.length && isName(this.text, this.spans[4 * i]!, this.spans[4 * i + 1]!, name) ? i : this.indexOf(name);
  }

  /** Is `candidate` exactly the text of member `i` as written (so a fresh copy can stand for it)? */
  isTextAt(i: number, candidate: string): boolean {
    const from = this.spans[4 * i + 2]!;
    return this.spans[4 * i + 3]! - from === candidate.length && this.text.startsWith(candidate, from);
  }
}

/** Scan the object whose `{` is at `open`, recording its members in `into` (when not null). Returns the index after its `}`. */
function scanObject(s: string, open: number, into: RawMembers | null): number {
  let i = skipSpace(s, open + 1);
  if (s.charCodeAt(i) === 0x7d) return i + 1;
  while (i < s.length) {
    const nameEnd = stringEnd(s, i);
    const from = skipSpace(s, skipSpace(s, nameEnd) + 1);
    const to = valueEnd(s, from);
    if (into !== null) into.spans.push(i, nameEnd, from, to);
    i = skipSpace(s, to);
    if (s.charCodeAt(i) !== 0x2c) return i + 1;
    i = skipSpace(s, i + 1);
  }
  return s.length;
}

/** Is the JSON string whose quotes are at `from` and `to - 1` the name `name`? */
function isName(s: string, from: number, to: number, name: string): boolean {
  if (to - from - 2 === name.length) return s.startsWith(name, from + 1) || (hasEscape(s, from, to) && nameAt(s, from, to) === name);
  return to - from - 2 > name.length && hasEscape(s, from, to) && nameAt(s, from, to) === name;
}

/**
 * The members of the object at `key` of the top-level object of `text` (valid JSON, as a parser accepted it), as
 * written; null when the top level has no object under `key` (a repeated key: the last one, as JSON.parse). One
 * pass: the object under `key` is scanned member by member, the rest of the top level value by value.
 */
export function rawMembersAt(text: string, key: string): RawMembers | null {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b) return null;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return null;
  let found: RawMembers | null = null;
  while (i < text.length) {
    const nameEnd = stringEnd(text, i);
    const from = skipSpace(text, skipSpace(text, nameEnd) + 1);
    let to: number;
    if (isName(text, i, nameEnd, key)) {
      found = text.charCodeAt(from) === 0x7b ? new RawMembers(text) : null;
      to = found === null ? valueEnd(text, from) : scanObject(text, from, found);
    } else {
      to = valueEnd(text, from);
    }
    i = skipSpace(text, to);
    if (text.charCodeAt(i) !== 0x2c) break;
    i = skipSpace(text, i + 1);
  }
  return found;
}
