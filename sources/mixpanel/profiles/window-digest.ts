/**
 * Order-free digest of a set of profiles (sum of 64-bit row hashes mod 2^64). Pure.
 *
 * A row hash is the first 8 bytes (big-endian) of SHA-256 over `distinct_id`, `\0` and the exact JSON text of the
 * properties (`stringifyJson`: `JSON.stringify` unless the value holds a bigint or LosslessNumber, same text).
 */
import { hash } from 'node:crypto';
import { stringifyJson } from '../json.js';

const MASK = (1n << 64n) - 1n;

export function profileHash(distinctId: string, properties: Readonly<Record<string, unknown>>): bigint {
  return BigInt(`0x${hash('sha256', `${distinctId}\0${stringifyJson(properties)}`, 'hex').slice(0, 16)}`);
}

export function digestOf(hashes: Iterable<bigint>): string {
  let sum = 0n;
  for (const h of hashes) sum = (sum + h) & MASK;
  return sum.toString(16).padStart(16, '0');
}
