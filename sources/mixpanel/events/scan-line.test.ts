import { describe, expect, it } from 'vitest';
import { slotsOf } from './builder.js';
import { ARRAY, CUSTOM, ESCAPED, FALSE, INTEGER, KeyIndex, LineScanner, MAX_DEPTH, NULL, NUMBER, OBJECT, SPACED, STRING, TRUE, keyHash, type Reason } from './scan-line.js';
import { ALL_EVENT_COLUMNS } from './schema.js';

const index = new KeyIndex(slotsOf(ALL_EVENT_COLUMNS.table).slot);

function scan(line: string): { scanner: LineScanner; taken: boolean; b: Buffer } {
  const scanner = new LineScanner(index);
  // The line sits inside other bytes, as in a chunk: nothing before `from` or after `to` may count.
  const b = Buffer.from(`}"x\n${line}\n{"`, 'utf8');
  const from = 4;
  const to = b.length - 3;
  return { scanner, taken: scanner.scan(b, from, to), b };
}

describe('LineScanner', () => {
  it('records each property: key and value ranges, kind, flags and slot, in text order', () => {
    const line = '{"event":"Sign\\"up","properties":{"time":1718000000000,"$browser":"Chrome","n":-1.5e3,"i":42,"b":true,"f":false,"z":null,"o":{ "a" : [1, {"b":2}] },"l":[],"$insert_id":"x"},"extra":[{"q":1}]}';
    const { scanner, taken, b } = scan(line);
    expect(taken).toBe(true);
    expect(scanner.reason).toBe('taken');
    const text = (from: number, to: number): string => b.toString('utf8', from, to);
    expect(text(scanner.eventFrom, scanner.eventTo)).toBe('"Sign\\"up"');
    expect([scanner.eventKind, scanner.eventFlags]).toEqual([STRING, ESCAPED]);
    const props = Array.from({ length: scanner.count }, (_, p) => [
      text(scanner.keyFrom[p]!, scanner.keyTo[p]!),
      text(scanner.valueFrom[p]!, scanner.valueTo[p]!),
      scanner.kind[p],
      scanner.flags[p],
      scanner.slot[p],
    ]);
    const browser = ALL_EVENT_COLUMNS.table.index.get('$browser')!;
    expect(props).toEqual([
      ['time', '1718000000000', NUMBER, INTEGER, -1],
      ['$browser', '"Chrome"', STRING, 0, browser],
      ['n', '-1.5e3', NUMBER, 0, CUSTOM],
      ['i', '42', NUMBER, INTEGER, CUSTOM],
      ['b', 'true', TRUE, 0, CUSTOM],
      ['f', 'false', FALSE, 0, CUSTOM],
      ['z', 'null', NULL, 0, CUSTOM],
      ['o', '{ "a" : [1, {"b":2}] }', OBJECT, SPACED, CUSTOM],
      ['l', '[]', ARRAY, 0, CUSTOM],
      ['$insert_id', '"x"', STRING, 0, -3],
    ]);
  });

  it('says why it leaves a line to the JSON.parse path', () => {
    const p = (members: string): string => `{"event":"E","properties":{${members}}}`;
    const cases: [string, Reason][] = [
      [p('"a":1'), 'taken'],
      [p(''), 'taken'],
      [`{"properties":{},"event":"E","x":{"y":[1,2,{"z":null}]}} \r`, 'taken'],
      ['', 'not one JSON object'],
      ['[1]', 'not one JSON object'],
      ['\uFEFF{"event":"E","properties":{}}', 'not one JSON object'],
      [p('"a":1,'), 'invalid JSON'],
      [p('"a":01'), 'invalid JSON'],
      [p('"a":1.'), 'invalid JSON'],
      [p('"a":-'), 'invalid JSON'],
      [p('"a":tru'), 'invalid JSON'],
      [p('"a":"\u0001"'), 'invalid JSON'],
      [p('"a":"\\x"'), 'invalid JSON'],
      [p('"a":"\\u00g0"'), 'invalid JSON'],
      [p('"a":[1,]'), 'invalid JSON'],
      [`${p('"a":1')}x`, 'invalid JSON'],
      [p('"a":1') + '}', 'invalid JSON'],
      ['{"event":"E","properties":{"a":1}', 'invalid JSON'],
      ['{"event":"E"}', 'no properties object'],
      ['{"event":"E","properties":[]}', 'no properties object'],
      ['{"event":"E","event":"F","properties":{}}', 'event or properties twice'],
      ['{"event":"E","properties":{},"properties":{}}', 'event or properties twice'],
      ['{"ev\\u0065nt":"E","properties":{}}', 'escaped key'],
      [p('"\\u0061":1'), 'escaped key'],
      [p('"a":{"\\u0061":1}'), 'escaped key'],
      [p('"0":1'), 'integer-like or __proto__ key'],
      [p('"9x":1'), 'integer-like or __proto__ key'],
      [p('"__proto__":1'), 'integer-like or __proto__ key'],
      [p('"a":1,"a":1'), 'repeated key'],
      [p('"time":1,"time":1'), 'repeated key'],
      [p(`${Array.from({ length: 50 }, (_, i) => `"k${i}":1`).join(',')},"k49":2`), 'repeated key'],
      [p(`${Array.from({ length: 3000 }, (_, i) => `"k${i}":1`).join(',')},"k0":2`), 'repeated key'],
      [p(`${Array.from({ length: 3000 }, (_, i) => `"k${i}":1`).join(',')}`), 'taken'],
      [p('"a":{"x":1,"y":{"x":2},"x":3}'), 'repeated key'],
      [p(`"a":{${Array.from({ length: 20 }, (_, i) => `"k${i}":1`).join(',')},"k7":1}`), 'repeated key'],
      [p(`"a":[{"x":1},{"x":1}]`), 'taken'],
      [p(`"a":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`), 'taken'],
      [p(`"a":${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`), 'nested too deep'],
    ];
    for (const [line, reason] of cases) {
      const { scanner, taken } = scan(line);
      expect([line.slice(0, 80), scanner.reason], line.slice(0, 200)).toEqual([line.slice(0, 80), reason]);
      expect(taken).toBe(reason === 'taken');
    }
  });

  it('finds the standard and core names (and only them) whatever their hash neighbours', () => {
    const entries = [...slotsOf(ALL_EVENT_COLUMNS.table).slot];
    for (const [name, slot] of entries) {
      const b = Buffer.from(`"${name}"`);
      expect(index.slotOf(index.find(b, 1, b.length - 1, keyHash(b, 1, b.length - 1)))).toBe(slot);
      for (const other of [`${name}x`, name.slice(1), name.toUpperCase(), `$${name}`]) {
        const o = Buffer.from(other);
        if (!entries.some(([n]) => n === other)) expect(index.find(o, 0, o.length, keyHash(o, 0, o.length)), other).toBe(-1);
      }
    }
  });
});
