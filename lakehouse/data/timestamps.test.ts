/** The word-arithmetic unit conversion against BigInt arithmetic on random, extreme and sliced values. */
import { TimeUnit, Timestamp, type Data } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { timestampMsData } from '../../connector-spec/index.js';
import { convertTimestamps, toMicrosUtc } from './timestamps.js';
import { seededRandom as random } from '../../connector-spec/testing/seeded-random.js';

function values(data: Data<Timestamp>): (bigint | null)[] {
  return Array.from({ length: data.length }, (_, i) => {
    if (!data.getValid(i)) return null;
    return (data.values as unknown as BigInt64Array)[i]!;
  });
}

const floorDiv = (a: bigint, b: bigint): bigint => (a % b !== 0n && a < 0n ? a / b - 1n : a / b);

describe('convertTimestamps', () => {
  const r = random(5);
  const raw: (bigint | null)[] = [0n, -1n, 1n, 999n, -999n, 1000n, -1001n, 2n ** 53n, -(2n ** 53n) - 7n, 2n ** 62n, -(2n ** 62n), null];
  for (let i = 0; i < 5_000; i++) raw.push(r() < 0.1 ? null : BigInt(Math.floor((r() - 0.5) * 2 ** 52)) * (r() < 0.5 ? 1n : 1_000n) + BigInt(Math.floor(r() * 1000)));
  const ms = timestampMsData(raw.map((v) => (v === null ? null : BigInt.asIntN(64, v / 1_000_000n))));
  const us = timestampMsData(raw, new Timestamp(TimeUnit.MICROSECOND, 'UTC'));

  it('ms → µs multiplies exactly (negative values and nulls included), and keeps the validity', () => {
    const out = toMicrosUtc(ms);
    expect(out.type.unit).toBe(TimeUnit.MICROSECOND);
    expect(out.type.timezone).toBe('UTC');
    expect(values(out)).toEqual(values(ms).map((v) => (v === null ? null : v * 1_000n)));
  });

  it('µs → ms divides rounding down (toward the past), beyond 2^53 too', () => {
    const out = convertTimestamps(us, new Timestamp(TimeUnit.MILLISECOND, 'UTC'));
    expect(values(out)).toEqual(values(us).map((v) => (v === null ? null : floorDiv(v, 1_000n))));
  });

  it('seconds → µs and ns → µs', () => {
    const seconds = timestampMsData([1n, -1n, null, 1_700_000_000n], new Timestamp(TimeUnit.SECOND, 'UTC'));
    expect(values(toMicrosUtc(seconds))).toEqual([1_000_000n, -1_000_000n, null, 1_700_000_000_000_000n]);
    const nanos = timestampMsData([1_999n, -1n, null], new Timestamp(TimeUnit.NANOSECOND, 'UTC'));
    expect(values(toMicrosUtc(nanos))).toEqual([1n, -1n, null]);
  });

  it('µs UTC passes through untouched (same Data)', () => {
    expect(toMicrosUtc(us)).toBe(us);
  });

  it('converts sliced data (offset into the validity bitmap)', () => {
    const sliced = ms.slice(3, 500);
    expect(sliced.offset).toBe(3);
    const out = toMicrosUtc(sliced);
    expect(values(out)).toEqual(values(sliced).map((v) => (v === null ? null : v * 1_000n)));
  });

  it('refuses a value that does not fit int64 in µs, but not a null slot holding one', () => {
    expect(() => toMicrosUtc(timestampMsData([2n ** 62n]))).toThrow(RangeError);
    const withNull = timestampMsData([null, 1n]);
    (withNull.values as unknown as BigInt64Array)[0] = 2n ** 62n; // garbage in a null slot
    expect(values(toMicrosUtc(withNull))).toEqual([null, 1_000n]);
  });
});
