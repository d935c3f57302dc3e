/** Order-free digest of a set of profiles (sum of 64-bit row hashes mod 2^64). Pure. */
import { createHash } from 'node:crypto';
import { stringifyJson } from '../json.js';

const MASK = (1n << 64n) - 1n;

export function profileHash(distinctId: string, properties: Readonly<Record<string, unknown>>): bigint {
  return createHash('sha256').update(distinctId).update('\0').update(stringifyJson(properties)).digest().readBigUInt64BE(0);
}

export function digestOf(hashes: Iterable<bigint>): string {
  let sum = 0n;
  for (const h of hashes) sum = (sum + h) & MASK;
  return sum.toString(16).padStart(16, '0');
}
