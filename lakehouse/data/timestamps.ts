/**
 * Timestamp unit conversion over whole Arrow buffers. Delta's `timestamp` is Parquet INT64
 * TIMESTAMP(isAdjustedToUTC=true, MICROS), so every timestamp column is written as Timestamp(MICROSECOND, 'UTC')
 * and read back in the unit the caller's schema asks for. The 64-bit values are processed as two 32-bit halves
 * in plain number arithmetic (exact: every intermediate stays below 2^53), which is several times faster than a
 * BigInt per value; a value too large for that path (beyond ±2^53 µs, year ±287,000) takes the BigInt path.
 * Null slots are converted too (their content is meaningless and stays so). Pure functions.
 */
import { Data, TimeUnit, Timestamp, makeData } from 'apache-arrow';

export const MICROS_UTC = (): Timestamp => new Timestamp(TimeUnit.MICROSECOND, 'UTC');

/** Ticks of `unit` per second. */
const PER_SECOND: Readonly<Record<TimeUnit, number>> = {
  [TimeUnit.SECOND]: 1,
  [TimeUnit.MILLISECOND]: 1_000,
  [TimeUnit.MICROSECOND]: 1_000_000,
  [TimeUnit.NANOSECOND]: 1_000_000_000,
};

const TWO_32 = 4_294_967_296;

/** The 64-bit values of a timestamp Data as [low, high] 32-bit words (little-endian), without copying. */
function words(data: Data<Timestamp>): Uint32Array {
  const values = data.values as unknown as ArrayBufferView;
  return new Uint32Array(values.buffer, values.byteOffset, data.length * 2);
}

/** out = in × factor (factor ≤ 1e9). Returns the index of the first row that overflowed int64, or -1. */
function multiply(input: Uint32Array, output: Uint32Array, factor: number): number {
  let overflow = -1;
  const n = input.length >> 1;
  for (let i = 0; i < n; i++) {
    const lo = input[2 * i]!;
    const hi = input[2 * i + 1]! | 0;
    const low = lo * factor; // < 2^32 · 1e9 < 2^62: not exact in general, so split the factor when it is large
    if (factor <= 2_097_152) {
      const l = low >>> 0;
      const high = hi * factor + (low - l) / TWO_32;
      if (overflow < 0 && (high < -2_147_483_648 || high > 2_147_483_647)) overflow = i;
      output[2 * i] = l;
      output[2 * i + 1] = high | 0;
    } else {
      const value = (BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)) * BigInt(factor));
      if (overflow < 0 && BigInt.asIntN(64, value) !== value) overflow = i;
      output[2 * i] = Number(BigInt.asUintN(32, value));
      output[2 * i + 1] = Number(BigInt.asUintN(32, value >> 32n));
    }
  }
  return overflow;
}

/** out = floor(in / divisor). */
function divide(input: Uint32Array, output: Uint32Array, divisor: number): void {
  const n = input.length >> 1;
  const big = BigInt(divisor);
  for (let i = 0; i < n; i++) {
    const lo = input[2 * i]!;
    const hi = input[2 * i + 1]! | 0;
    if (hi >= -2_097_152 && hi < 2_097_152) {
      const value = hi * TWO_32 + lo; // |value| < 2^53: exact
      let q = Math.floor(value / divisor);
      const r = value - q * divisor; // exact; corrects a quotient the division rounded across an integer
      if (r < 0) q -= 1;
      else if (r >= divisor) q += 1;
      output[2 * i] = q >>> 0;
      output[2 * i + 1] = Math.floor(q / TWO_32) | 0;
    } else {
      const value = (BigInt(hi) << 32n) | BigInt(lo);
      let q = value / big;
      if (value % big < 0n) q -= 1n;
      output[2 * i] = Number(BigInt.asUintN(32, q));
      output[2 * i + 1] = Number(BigInt.asUintN(32, q >> 32n));
    }
  }
}

function isNull(data: Data, row: number): boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || data.nullCount === 0) return false;
  const at = data.offset + row;
  return ((bitmap[at >> 3]! >> (at & 7)) & 1) === 0;
}

/**
 * `data` in `target`'s unit and time zone label. Finer units multiply exactly; coarser units divide rounding
 * down (toward the past), which is exact for values that were written from the coarser unit. The validity bitmap
 * is shared, the values are a new buffer (the input's when only the label changes). Throws RangeError when a
 * non-null value does not fit int64 in the finer unit.
 */
export function convertTimestamps(data: Data<Timestamp>, target: Timestamp): Data<Timestamp> {
  const from = PER_SECOND[data.type.unit];
  const to = PER_SECOND[target.unit];
  const sameLabel = data.type.timezone === target.timezone;
  if (from === to && sameLabel) return data;
  let values = data.values as unknown as BigInt64Array;
  if (from !== to) {
    const input = words(data);
    const out = new BigInt64Array(data.length);
    const output = new Uint32Array(out.buffer);
    if (to > from) {
      const overflow = multiply(input, output, to / from);
      if (overflow >= 0) {
        for (let row = overflow; row < data.length; row++) {
          const value = BigInt.asIntN(64, (BigInt(input[2 * row + 1]! | 0) << 32n) | BigInt(input[2 * row]!)) * BigInt(to / from);
          if (!isNull(data, row) && BigInt.asIntN(64, value) !== value) {
            throw new RangeError(`timestamp ${String(BigInt.asIntN(64, (BigInt(input[2 * row + 1]! | 0) << 32n) | BigInt(input[2 * row]!)))} at row ${row} does not fit int64 in the finer unit`);
          }
        }
      }
    } else {
      divide(input, output, from / to);
    }
    values = out;
  }
  return makeData({
    type: target,
    offset: data.offset,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullBitmap,
    data: values,
  });
}

/** Every timestamp becomes Timestamp(MICROSECOND, 'UTC') (Delta `timestamp`): ms × 1000, µs as is. */
export function toMicrosUtc(data: Data<Timestamp>): Data<Timestamp> {
  return convertTimestamps(data, MICROS_UTC());
}
