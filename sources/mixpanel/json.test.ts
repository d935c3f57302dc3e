import { describe, expect, it } from 'vitest';
import { parseJsonLossless, stringifyJson } from './json.js';

describe('lossless JSON', () => {
  it('keeps 19-digit integers and out-of-range numbers exact', () => {
    const text = '{"id":3928097563762691601,"neg":-9223372036854775808,"f":12.5,"huge":1e400,"s":"1234567890123456789"}';
    const value = parseJsonLossless(text) as Record<string, unknown>;
    expect(value.id).toBe(3928097563762691601n);
    expect(value.neg).toBe(-9223372036854775808n);
    expect(value.f).toBe(12.5);
    expect(value.s).toBe('1234567890123456789');
    expect(stringifyJson(value)).toBe('{"id":3928097563762691601,"neg":-9223372036854775808,"f":12.5,"huge":1e400,"s":"1234567890123456789"}');
  });

  it('uses JSON.parse semantics for ordinary lines and rejects invalid JSON', () => {
    expect(parseJsonLossless('{"a":[1,true,null,{"b":"x"}]}')).toEqual({ a: [1, true, null, { b: 'x' }] });
    expect(() => parseJsonLossless('terminated early')).toThrow(SyntaxError);
    expect(() => parseJsonLossless('{"a":12345678901234567890')).toThrow();
  });

  it('writes JSON text for every scalar kind', () => {
    expect(stringifyJson(true)).toBe('true');
    expect(stringifyJson('x')).toBe('"x"');
    expect(stringifyJson(null)).toBe('null');
    expect(stringifyJson([1, 2])).toBe('[1,2]');
    expect(stringifyJson({ a: 1 })).toBe('{"a":1}');
  });
});
