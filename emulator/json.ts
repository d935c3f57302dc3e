/**
 * Lossless JSON for what clients send: integers beyond 2^53 become `bigint` and are written back exactly,
 * other unusual numbers keep their source text.
 */
import { LosslessNumber, parse, stringify } from 'lossless-json';

function parseNumber(text: string): number | bigint | LosslessNumber {
  const n = Number(text);
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : BigInt(text);
  return Number.isFinite(n) && String(n) === text ? n : Number.isFinite(n) ? n : new LosslessNumber(text);
}

export function parseJson(text: string): unknown {
  if (!/\d{16,}|[eE][+-]?\d{3,}/.test(text)) return JSON.parse(text) as unknown;
  return parse(text, null, parseNumber) as unknown;
}

export function stringifyJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof LosslessNumber);
}

export function numberValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof LosslessNumber) return Number(v.value);
  return undefined;
}
