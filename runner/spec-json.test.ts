/**
 * The spec's JSON checker agrees with JSON.parse on what is JSON (a seeded mutation fuzz over spec-like text),
 * finds duplicate keys JSON.parse hides, and counts positions the way an editor does.
 */
import { describe, expect, it } from 'vitest';
import { childPath, lineColumn, looksLikeYaml, scanJson } from './spec-json.js';
import { seededRandom as prng } from '../connector-spec/testing/seeded-random.js';

const SEEDS = [
  '{\n  "connection_name": "mp",\n  "objects": [\n    { "table": { "source_table": "events", "table_configuration": { "lookback_days": "5", "n": -1.5e3 } } },\n    { "table": { "source_table": "engage", "destination_table": "profiles" } }\n  ]\n}\n',
  '[1, 2.0, -0, 1e-7, true, false, null, "a\\"b\\\\c\\u00e9\\n", {"a": {"b": [[], {}]}}]',
  '{"k": "v", "nested": {"k": "v2", "list": [{"k": 1}, {"k": 2}]}}',
];
const ALPHABET = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '0', '1', '-', '.', 'e', 'a', 't', 'n', 'u', "'", '/', '#', '\t', 'é'];

function mutate(text: string, random: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (out.length + 1));
    const ch = ALPHABET[Math.floor(random() * ALPHABET.length)]!;
    const op = random();
    if (op < 0.4) out = out.slice(0, at) + ch + out.slice(at);
    else if (op < 0.7) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + ch + out.slice(at + 1);
  }
  return out;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('scanJson', () => {
  it('accepts exactly what JSON.parse accepts, over 4000 seeded mutations of spec-like text', () => {
    const random = prng(19);
    const outcomes = { clean: 0, syntax: 0, duplicate: 0 };
    for (let i = 0; i < 4000; i++) {
      const text = mutate(SEEDS[i % SEEDS.length]!, random);
      const problem = scanJson(text);
      outcomes[problem?.kind ?? 'clean']++;
      // A duplicate key is valid JSON to JSON.parse (it keeps the last value): only syntax disagrees.
      expect(parses(text), JSON.stringify({ text, problem })).toBe(problem?.kind !== 'syntax');
      if (problem !== undefined) {
        expect(problem.offset).toBeGreaterThanOrEqual(0);
        expect(problem.offset).toBeLessThanOrEqual(text.length);
      }
    }
    // The corpus really exercises both sides (a fuzz that only produced garbage would prove nothing).
    expect(outcomes.clean).toBeGreaterThan(200);
    expect(outcomes.syntax).toBeGreaterThan(1000);
  });

  it('finds a duplicate key at any depth, at its second occurrence, with the first one and the path', () => {
    const text = '{"a": {"b": [{"c": 1, "d": 2, "c": 1}]}}';
    expect(scanJson(text)).toEqual({ kind: 'duplicate', offset: text.lastIndexOf('"c"'), firstOffset: text.indexOf('"c"'), path: 'a.b[0].c' });
    expect(scanJson('{"a": 1, "b": {"a": 1}}')).toBeUndefined(); // the same key in different objects is fine
    expect(scanJson('[{"a": 1}, {"a": 2}]')).toBeUndefined();
    expect(scanJson('{"\\u0061": 1, "a": 2}')).toMatchObject({ kind: 'duplicate', path: 'a' });
  });

  it('reports the offset of the first character JSON cannot take', () => {
    expect(scanJson('{"a": 1,}')).toEqual({ kind: 'syntax', offset: 8, reason: 'trailing comma before }; remove it' });
    expect(scanJson('[1, 2,]')).toEqual({ kind: 'syntax', offset: 6, reason: 'trailing comma before ]; remove it' });
    expect(scanJson('{"a": NaN}')).toMatchObject({ kind: 'syntax', offset: 6, reason: expect.stringMatching(/^NaN is not a JSON value/) as unknown });
    expect(scanJson('{"a": "\\x"}')).toMatchObject({ kind: 'syntax', offset: 7 });
  });
});

describe('positions and paths', () => {
  it('lineColumn counts lines by \\n and columns in characters (an emoji is one)', () => {
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn('a\r\nb', 3)).toEqual({ line: 2, column: 1 });
    expect(lineColumn('🦄x', 2)).toEqual({ line: 1, column: 2 });
    expect(lineColumn('', 0)).toEqual({ line: 1, column: 1 });
  });

  it('childPath writes the spec messages’ notation', () => {
    expect(childPath('', 'objects')).toBe('objects');
    expect(childPath(childPath('objects', 0), 'table')).toBe('objects[0].table');
    expect(childPath('x', 'a b')).toBe('x["a b"]');
  });

  it('looksLikeYaml tells YAML from broken JSON', () => {
    expect(looksLikeYaml('connection_name: mp\n')).toBe(true);
    expect(looksLikeYaml('# comment\n---\n')).toBe(true);
    expect(looksLikeYaml('- a\n- b\n')).toBe(true);
    expect(looksLikeYaml('"connection_name": "mp"\n')).toBe(true);
    expect(looksLikeYaml('{ "connection_name": mp }')).toBe(false);
    expect(looksLikeYaml('[1, 2')).toBe(false);
    expect(looksLikeYaml('hello')).toBe(false);
  });
});
