/**
 * Lossless JSON for Mixpanel payloads. `JSON.parse` rounds integers beyond 2^53 (19-digit ids) and turns
 * `1e400` into Infinity; here such numbers survive: unsafe integers become `bigint`, non-finite numbers keep
 * their source text (`LosslessNumber`). `stringifyJson` writes them back exactly.
 *
 * Fast path: a line with no run of 16+ digits and no exponent beyond range is parsed with `JSON.parse`.
 */
import { LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

const INTEGER = /^-?\d+$/;
/** A digit run long enough that it might not be a safe integer, or an exponent that might overflow. */
const MAYBE_UNSAFE_NUMBER = /\d{16,}|[eE][+-]?\d{3,}/;

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
  if (!MAYBE_UNSAFE_NUMBER.test(text)) return { value: JSON.parse(text) as unknown, plain: true };
  return { value: losslessParse(text, null, parseNumber) as unknown, plain: false };
}

/** Parse JSON text without losing numeric information. Throws SyntaxError like `JSON.parse`. */
export function parseJsonLossless(text: string): unknown {
  return parseJsonLosslessReporting(text).value;
}

/** JSON text of a value produced by `parseJsonLossless` (bigint and LosslessNumber written exactly). */
export function stringifyJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  return losslessStringify(value) ?? 'null';
}

export { LosslessNumber };
