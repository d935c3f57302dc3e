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
  if (!holdsRoundedNumber(value)) return { value, plain: true };
  return { value: losslessParse(text, null, parseNumber) as unknown, plain: false };
}

/** Parse JSON text without losing numeric information. Throws SyntaxError like `JSON.parse`. */
export function parseJsonLossless(text: string): unknown {
  return parseJsonLosslessReporting(text).value;
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
