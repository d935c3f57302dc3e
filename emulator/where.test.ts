import { describe, expect, it } from 'vitest';
import { DateValue, WhereSyntaxError, matchesWhere, parseWhere, referencedProperties } from './where.js';
import type { WhereContext } from './where.js';
import { parseWallClock } from './time.js';
import { impliedTimeRange } from './export-lines.js';

function ctx(props: Record<string, unknown>): WhereContext {
  return { get: (n) => props[n], parseDateTime: (t) => parseWallClock(t, 'UTC') };
}

const T = Date.UTC(2024, 0, 2, 3, 4, 5);

describe('where expressions', () => {
  it.each([
    [`properties["$time"] >= datetime(${T / 1000})`, true],
    [`properties["$time"] > datetime(${T / 1000})`, false],
    [`properties["$time"] < datetime("2024-01-02T03:04:06") and properties["$time"] >= datetime("2024-01-02T03:04:05")`, true],
    [`(properties["$time"] < datetime(1) or properties["n"] == 3) and not properties["flag"]`, true],
    [`properties["mp_processing_time_ms"] > ${T} or properties["mp_processing_time_ms"] <= ${T - 1}`, true],
    ['properties["s"] == "a\\"b"', true],
    ['properties["n"] == "3"', false],
    ['properties["n"] > "2"', false],
    ['properties["n"] * 2 + 1 == 7 and properties["n"] % 2 == 1', true],
    ['"ell" in properties["s2"]', true],
    ['3 in properties["list"]', true],
    ['defined(properties["missing"])', false],
    ['not defined(properties["missing"]) and defined(properties["n"])', true],
    ['properties["missing"] > 1 or properties["missing"] < 1', false],
    ['properties["$last_seen"] > "2024-01-01T00:00:00"', true],
    ['properties["$last_seen"] > datetime("2024-01-03T00:00:00")', false],
    ['user["$email"] == "a@b.c"', true],
    ['number(properties["num_text"]) == 12.5 and string(properties["n"]) == "3"', true],
    ['floor(properties["f"]) == 1 and ceil(properties["f"]) == 2 and round(properties["f"]) == 2', true],
    ['boolean(properties["flag"]) == false', true],
  ])('%s → %s', (src, expected) => {
    const props = {
      $time: new DateValue(T),
      mp_processing_time_ms: T + 1,
      n: 3,
      s: 'a"b',
      s2: 'hello',
      flag: false,
      list: [1, 2, 3],
      $last_seen: '2024-01-02T03:04:05',
      $email: 'a@b.c',
      num_text: '12.5',
      f: 1.5,
    };
    expect(matchesWhere(parseWhere(src), ctx(props))).toBe(expected);
  });

  it('reports the properties an expression reads', () => {
    expect([...referencedProperties(parseWhere('properties["$time"] > datetime(1) and (event["x"] == 1 or defined(user["y"]))'))].sort()).toEqual(['$time', 'x', 'y']);
  });

  it.each(['properties[$time]', 'properties["a"] ==', 'foo("x")', '(properties["a"] == 1', 'properties["a"] === 1', '"unterminated'])('rejects %s', (src) => {
    expect(() => parseWhere(src)).toThrow(WhereSyntaxError);
  });
});

describe('impliedTimeRange (export narrows generated indexes)', () => {
  const c = ctx({});
  it('intersects $time and mp_processing_time_ms bounds of a conjunction', () => {
    const r = impliedTimeRange(parseWhere(`properties["$time"] >= datetime(1000) and properties["$time"] < datetime(2000) and properties["mp_processing_time_ms"] <= 1500000`), c);
    expect(r).toEqual({ lo: 1_000_000, hi: 1_500_001 });
    const flipped = impliedTimeRange(parseWhere('datetime(2000) > properties["time"]'), c);
    expect(flipped).toEqual({ lo: Number.NEGATIVE_INFINITY, hi: 2_000_000 });
    const proc = impliedTimeRange(parseWhere('properties["mp_processing_time_ms"] > 500000000'), c);
    expect(proc.lo).toBe(500_000_000 - 72 * 3_600_000 - 60_000);
  });

  it('does not narrow through or / not / other properties', () => {
    for (const src of [`properties["$time"] >= datetime(1000) or properties["x"] == 1`, `not properties["$time"] < datetime(5)`, 'properties["other"] > 5']) {
      expect(impliedTimeRange(parseWhere(src), c)).toEqual({ lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY });
    }
  });
});
