import { LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { EXACT_TEXT_MAX_CHARS, compactJsonText, holdsExactNumber, holdsRoundedNumber, isExactJsonText, parseJsonLossless, parseJsonLosslessReporting, rawMembersAt, stringifyJson } from './json.js';
import { seededRandom } from '../../connector-spec/testing/seeded-random.js';

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

/** The slow path alone, as the reference: every number through lossless-json. */
function reference(text: string): unknown {
  return losslessParse(text, null, (t: string) => {
    const n = Number(t);
    if (/^-?\d+$/.test(t)) return Number.isSafeInteger(n) ? n : BigInt(t);
    return Number.isFinite(n) ? n : new LosslessNumber(t);
  });
}

describe('parseJsonLosslessReporting: the JSON.parse fast path never loses a number', () => {
  const unsafe = [
    '3928097563762691601',
    '-3928097563762691601',
    '9007199254740992',
    '9007199254740993',
    '-9007199254740993',
    '18446744073709551615',
    '123456789012345678901234567890',
    '1e400',
    '-1e400',
    '1.5E+308',
    '2e308',
  ];
  const places = (n: string): string[] => [
    n,
    `[${n}]`,
    `[ ${n} ]`,
    `[1,${n}]`,
    `[1, ${n},2]`,
    `{"a":${n}}`,
    `{"a": ${n}}`,
    `{"a" :\t${n} }`,
    `{"s":"x","a":${n},"b":1}`,
    `{"p":{"q":[{"r":[${n}]}]}}`,
    `{"p":[[[[${n}]]]],"z":"1234567890123456789"}`,
    `{"event":"e","properties":{"time":1774915200043,"tags":["a",${n}],"obj":{"id":${n}}}}`,
  ];

  it('sends every number JSON.parse would round to the lossless path, at any position', () => {
    for (const n of unsafe) {
      for (const text of places(n)) {
        const { value, plain } = parseJsonLosslessReporting(text);
        expect(plain, text).toBe(false);
        expect(value, text).toEqual(reference(text));
        expect(stringifyJson(value), text).toBe(losslessStringify(reference(text)));
      }
    }
    expect(parseJsonLossless('[3928097563762691601]')).toEqual([3928097563762691601n]);
    expect(parseJsonLossless('{"a":{"b":[-9223372036854775808]}}')).toEqual({ a: { b: [-9223372036854775808n] } });
    expect(stringifyJson(parseJsonLossless('[1e400]'))).toBe('[1e400]');
  });

  it('keeps the JSON.parse result (plain) for safe numbers, exactly as the lossless parser would read them', () => {
    const safe = ['9007199254740991', '-9007199254740991', '0', '-0', '12.5', '1e2', '1e-400', '123456789012345.678', '0.12345678901234567890123', '5e-324'];
    for (const n of safe) {
      for (const text of places(n)) {
        const { value, plain } = parseJsonLosslessReporting(text);
        expect(plain, text).toBe(true);
        expect(value, text).toEqual(reference(text));
      }
    }
  });

  it('reads a large non-integer literal the same on either path (a second parse, same value)', () => {
    for (const text of places('1.7976931348623157e308').concat(places('1.5e20'))) expect(parseJsonLosslessReporting(text).value, text).toEqual(reference(text));
  });

  it('never sends a line to the slow path because a string holds digits or exponent-like text', () => {
    const strings = [
      '"1234567890123456789"',
      '"a3f68f41-9d23-4ecd-a9e2-ed8565a11bbd"',
      '"e1234567"',
      '"9e999"',
      '"id:12345678901234567890"',
      '"x, 12345678901234567890"',
      '"[1e400]"',
      '"\\"1e400"',
      '"3928097563762691601e400"',
    ];
    for (const s of strings) {
      const text = `{"k${s.slice(1, -1).replace(/\\"/g, '')}":${s},"list":[${s},1,2.5],"o":{"n":${s}}}`;
      const { value, plain } = parseJsonLosslessReporting(text);
      expect(plain, text).toBe(true);
      expect(value, text).toEqual(JSON.parse(text));
    }
  });

  it('agrees with the lossless parser on random documents (numbers of every size at random places)', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const digits = (count: number): string => String(1 + rand(9)) + Array.from({ length: count - 1 }, () => String(rand(10))).join('');
    const number = (): string => {
      const sign = rand(3) === 0 ? '-' : '';
      switch (rand(5)) {
        case 0:
          return sign + digits(1 + rand(25));
        case 1:
          return `${sign}${digits(1 + rand(20))}.${digits(1 + rand(20))}`;
        case 2:
          return `${sign}${digits(1 + rand(3))}e${rand(2) === 0 ? '-' : '+'}${digits(1 + rand(4))}`;
        case 3:
          return `${sign}${digits(1 + rand(3))}E${digits(1 + rand(3))}`;
        default:
          return String(rand(1000));
      }
    };
    const value = (depth: number): string => {
      const pick = rand(depth > 3 ? 3 : 6);
      if (pick === 0) return number();
      if (pick === 1) return `"s${digits(1 + rand(22))}e${digits(3)}"`;
      if (pick === 2) return ['true', 'false', 'null'][rand(3)]!;
      if (pick === 3) return `[${Array.from({ length: rand(4) }, () => value(depth + 1)).join(rand(2) === 0 ? ',' : ' , ')}]`;
      return `{${Array.from({ length: rand(4) }, (_, i) => `"k${i}":${rand(2) === 0 ? ' ' : ''}${value(depth + 1)}`).join(',')}}`;
    };
    let slow = 0;
    for (let i = 0; i < 3000; i++) {
      const text = value(0);
      const { value: got, plain } = parseJsonLosslessReporting(text);
      const want = reference(text);
      expect(got, text).toEqual(want);
      expect(stringifyJson(got), text).toBe(losslessStringify(want) ?? 'null');
      if (!plain) slow++;
      else expect(JSON.stringify(got), text).toBe(losslessStringify(want) ?? 'null');
    }
    expect(slow).toBeGreaterThan(100);
  });

  it('walks any depth JSON.parse accepts', () => {
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    expect(parseJsonLosslessReporting(deep).plain).toBe(true);
    expect(holdsRoundedNumber(JSON.parse(`${'['.repeat(20_000)}1e400${']'.repeat(20_000)}`))).toBe(true);
  });
});

describe('stringifyJson', () => {
  it('writes the same text as lossless-json, through JSON.stringify when nothing needs the lossless writer', () => {
    const texts = [
      '{"a":[1,"x",{"b":null,"c":true}],"d":12.5,"e":"é😀\\u2028\\"","f":{}}',
      '{"id":3928097563762691601,"list":[1,-9223372036854775808],"o":{"x":1e400}}',
      '[1e-7,1e21,-0,0.1]',
      '{"__proto__":{"a":1},"k":[]}',
    ];
    for (const text of texts) {
      const value = parseJsonLossless(text);
      expect(stringifyJson(value), text).toBe(losslessStringify(value));
    }
    expect(holdsExactNumber(parseJsonLossless('{"a":[{"b":[1234567890123456789]}]}'))).toBe(true);
    expect(holdsExactNumber(parseJsonLossless('{"a":[{"b":[1e400]}]}'))).toBe(true);
    expect(holdsExactNumber(parseJsonLossless('{"a":[{"b":["1234567890123456789"]}]}'))).toBe(false);
  });
});

/** A seeded generator of JSON texts in every number form, escape and spacing (mulberry32). */
function jsonTexts(seed: number, count: number): string[] {
  const next = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const ws = (): string => (next() < 0.1 ? pick([' ', '\t', '\r\n ']) : '');
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(next() * 10))).join('');
  const number = (): string => {
    const int = next() < 0.2 ? '0' : String(1 + Math.floor(next() * 9)) + digits(Math.floor(next() * (next() < 0.2 ? 20 : 5)));
    const frac = next() < 0.4 ? `.${digits(1 + Math.floor(next() * 7))}` : '';
    const exp = next() < 0.15 ? `${pick(['e', 'E'])}${pick(['', '+', '-'])}${digits(1 + Math.floor(next() * 3))}` : '';
    return `${next() < 0.3 ? '-' : ''}${int}${frac}${exp}`;
  };
  const value = (depth: number): string => {
    const r = next();
    if (depth > 0 && r < 0.2) return `[${ws()}${Array.from({ length: Math.floor(next() * 4) }, () => value(depth - 1)).join(`${ws()},${ws()}`)}${ws()}]`;
    if (depth > 0 && r < 0.4) {
      const keys = [...new Set(Array.from({ length: Math.floor(next() * 4) }, () => pick(['a', 'b', '1', '12', 'x\\u0041', '0x', '5a', 'é'])))];
      return `{${ws()}${keys.map((k) => `"${k}"${ws()}:${ws()}${value(depth - 1)}`).join(`${ws()},${ws()}`)}${ws()}}`;
    }
    if (r < 0.7) return number();
    if (r < 0.9) return pick(['"x"', '"\\u00e9"', '"a\\/b"', '"\\"q\\\\"', '"\\n\\t"', '"\\u001f"', '"2024-01-01"', '""', '"🙂"']);
    return pick(['true', 'false', 'null']);
  };
  return Array.from({ length: count }, () => value(4));
}

describe('isExactJsonText: JSON.stringify gives back the text (whitespace aside) whenever it says so', () => {
  it('never says so wrongly on generated texts, and says so for the canonical ones', () => {
    let exact = 0;
    for (const text of jsonTexts(11, 20_000)) {
      if (!isExactJsonText(text)) continue;
      exact++;
      expect(JSON.stringify(JSON.parse(text)), text).toBe(compactJsonText(text));
    }
    expect(exact).toBeGreaterThan(3000);
    for (const text of ['{"a":1,"b":-2.5,"c":[0,0.000001,"x\\"y"],"d":{"e":null}}', '"1.0"', '{"2024-01-01":1}'.replace('2024-01-01', 'k'), '8999999999999999'])
      expect(isExactJsonText(text), text).toBe(true);
    for (const text of ['-0.0', '1.0', '1E5', '1e-7', '1e21', '0.1e1', '1.50', '-0', '123456789012345678901234567890', '9007199254740993', '0.0000001', '"\\u00e9"', '"a\\/b"', '{"1":2}', '{"12":2}', '[3.14159265358979323846]'])
      expect(isExactJsonText(text), text).toBe(false);
    expect(isExactJsonText(`[${'1,'.repeat(EXACT_TEXT_MAX_CHARS)}1]`)).toBe(false);
  });
});

describe('rawMembersAt: the members of one object as the text writes them', () => {
  it('cuts each value, compacts containers, keeps escapes, and takes the last of a repeated key', () => {
    const text = ' { "event" : "E" , "properties" : {"a":1, "b" : [ 1.0 , {"c" : "x y"} ] ,"d\\u0041":"\\u00e9","a":-0.0 } , "properties2":{} } ';
    const members = rawMembersAt(text, 'properties')!;
    expect(members.length).toBe(4);
    expect(Array.from({ length: 4 }, (_, i) => [members.nameAt(i), members.textAt(i)])).toEqual([
      ['a', '1'],
      ['b', '[1.0,{"c":"x y"}]'],
      ['dA', '"\\u00e9"'],
      ['a', '-0.0'],
    ]);
    expect(members.indexOf('a')).toBe(3);
    expect(members.memberFor(2, 'dA')).toBe(2);
    expect(members.memberFor(0, 'b')).toBe(1);
    expect(members.isTextAt(0, '1')).toBe(true);
    expect(members.isTextAt(3, '0')).toBe(false);
    expect(rawMembersAt('{"properties":1}', 'properties')).toBeNull();
    expect(rawMembersAt('{"properties":{"a":1},"properties":{"b":2.0}}', 'properties')!.textAt(0)).toBe('2.0');
    expect(rawMembersAt('{"properties":{"a":1},"properties":[]}', 'properties')).toBeNull();
    expect(rawMembersAt('[]', 'properties')).toBeNull();
  });
});
