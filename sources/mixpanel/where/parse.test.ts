import { describe, expect, it } from 'vitest';
import { DateValue, evaluateWhere, parseWhere as emulatorParseWhere, type WhereContext } from '../../../emulator/where.js';
import { MAX_WHERE_DEPTH, MAX_WHERE_LENGTH, WhereSyntaxError, parseWhere, type WhereLiteral, type WhereNode } from './parse.js';
import { printWhere } from './print.js';
import { seededRandom as random } from '../../../connector-spec/testing/seeded-random.js';

function canonical(text: string): string {
  return printWhere(parseWhere(text));
}

function rejection(text: string): WhereSyntaxError {
  try {
    parseWhere(text);
  } catch (error) {
    if (error instanceof WhereSyntaxError) return error;
    throw error;
  }
  throw new Error(`accepted: ${text}`);
}

/** Expressions Mixpanel documents (and a few more of the same grammar), with the text they are sent as. */
const ACCEPTED: readonly (readonly [string, string])[] = [
  ['properties["account_id"] in [1,2,3,4]', 'properties["account_id"] in [1, 2, 3, 4]'],
  ['user["$email"] == "example@mixpanel.com"', 'user["$email"] == "example@mixpanel.com"'],
  ['defined(properties["My Prop"])', 'defined(properties["My Prop"])'],
  ['not defined(properties["city"])', 'not defined(properties["city"])'],
  ['properties["$os"] == "iOS"', 'properties["$os"] == "iOS"'],
  ['event["$time"] >= datetime("2024-01-01T00:00:00")', 'event["$time"] >= datetime("2024-01-01T00:00:00")'],
  [
    'properties["$os"] == "iOS" or properties["$os"] == "Android" and properties["n"] > 5',
    '(properties["$os"] == "iOS") or ((properties["$os"] == "Android") and (properties["n"] > 5))',
  ],
  ['number(properties["amount"]) * 2 >= 10.5', '(number(properties["amount"]) * 2) >= 10.5'],
  ['-properties["x"] < -1e3', '(-properties["x"]) < (-1e3)'],
  ["'single' == properties[\"q\"]", '"single" == properties["q"]'],
  ['properties["a"] == 1 AND NOT properties["b"] == TRUE', '(properties["a"] == 1) and (not (properties["b"] == true))'],
  ['FLOOR(properties["p"] / 3) % 2 != 0', '(floor(properties["p"] / 3) % 2) != 0'],
  ['"iOS" in properties["$os"]', '"iOS" in properties["$os"]'],
  ['((properties["a"]))', 'properties["a"]'],
  ['properties["say \\"hi\\""] == "tab\\there\\nnew \\\\ \'x\'"', 'properties["say \\"hi\\""] == "tab\\there\\nnew \\\\ \'x\'"'],
  ['properties["ü"] == "日本語 🙂"', 'properties["ü"] == "日本語 🙂"'],
  ['\u00a0properties["a"]\t==\u30001 ', 'properties["a"] == 1'],
  ['properties["a"] in []', 'properties["a"] in []'],
  ['boolean(string(round(ceil(properties["x"]))))', 'boolean(string(round(ceil(properties["x"]))))'],
];

/** Rejected input, the 1-based position reported, and a word of the fix. */
const REJECTED: readonly (readonly [string, number, RegExp])[] = [
  ['properties["$os"] == "iOS") or (true', 27, /unmatched "\)"/],
  ['(properties["$os"] == "iOS"', 28, /close the "\(" at character 1/],
  ['properties["$os"] == "iOS") or (true or (1', 27, /unmatched/],
  ['properties["$os"] = "iOS"', 19, /==/],
  ['properties["$os"] == "iOS" && true', 28, /and instead of &&/],
  ['properties["$os"] == "iOS" || true', 28, /or instead of \|\|/],
  ['!defined(properties["a"])', 1, /not/],
  ['properties["$os"] == "iOS" /* all */', 28, /comment/],
  ['properties["$os"] == "iOS" // all', 28, /comment/],
  ['properties["$os"] == "iOS" # all', 28, /comment/],
  ['properties["$os"] == "iOS" -- all', 31, /properties\["name"\]/],
  ['properties["$os"] == "iO', 22, /close the string/],
  ['properties["$os"] == "i\\qOS"', 24, /\\\\/],
  ['properties[$os] == 1', 12, /quoted property name|quotes/],
  ['properties["a"] == null', 20, /defined/],
  ['propertes["a"] == 1', 1, /did you mean properties/],
  ['properties["a"] in [1, properties["b"]]', 24, /a list holds only/],
  ['properties["a"] in [1 2]', 23, /separate list items with commas/],
  ['properties["a"] in [-1]', 21, /without a sign/],
  ['defined(properties["a"], 1)', 24, /one argument/],
  ['1e400 > properties["a"]', 1, /below 1e308/],
  ['.5 < properties["a"]', 1, /0\.5/],
  ['properties["a"] == 1;DROP', 21, /semicolon/],
  ['properties["a"] ＝＝ 1', 17, /properties\["name"\]/],
  ['properties["a"] == "x"\n or true', 23, /one line/],
  ['properties["a"]\u200b== 1', 16, /properties\["name"\]/],
  ['properties["a"] == 1 \u202e', 22, /properties\["name"\]/],
  ['properties["a"] == "\u0000"', 21, /remove it/],
  ['properties["a"] == "\ud800"', 21, /not valid Unicode/],
  ['and properties["a"]', 1, /value on both sides/],
  ['properties["a"] ==', 19, /complete the expression/],
  ['1 2', 3, /join the terms/],
  ['properties["a"] == 1abc', 20, /malformed|separated/],
  ['', 1, /remove the option/],
  ['   ', 1, /remove the option/],
  [`${'('.repeat(MAX_WHERE_DEPTH + 1)}1${')'.repeat(MAX_WHERE_DEPTH + 1)}`, MAX_WHERE_DEPTH + 1, /simplify/],
  [`${'not '.repeat(MAX_WHERE_DEPTH + 1)}true`, MAX_WHERE_DEPTH * 4 + 1, /simplify/],
  [`properties["a"] in [${Array.from({ length: 1200 }, (_, i) => i).join(',')}]`, MAX_WHERE_LENGTH + 1, /export_events/],
];

describe('parseWhere / printWhere', () => {
  it('accepts the documented grammar and prints one canonical text, fully parenthesised', () => {
    for (const [text, printed] of ACCEPTED) {
      expect(canonical(text), text).toBe(printed);
      expect(canonical(printed), printed).toBe(printed);
    }
  });

  it('rejects what is not the grammar with the position and the fix', () => {
    for (const [text, position, fix] of REJECTED) {
      const error = rejection(text);
      expect(error.position, text).toBe(position);
      expect(error.fix, text).toMatch(fix);
      expect(error.message, text).toContain(`at character ${position}`);
    }
  });

  it('walks no deeper than MAX_WHERE_DEPTH however the input nests (no stack overflow)', () => {
    const deep = `${'('.repeat(100_000)}1${')'.repeat(100_000)}`;
    expect(() => parseWhere(deep)).toThrow(WhereSyntaxError);
    const nested = `${'-'.repeat(3000)}1`;
    expect(rejection(nested).fix).toMatch(/simplify/);
    // A long flat chain is fine: the parser loops, and the tree prints within the length limit.
    const chain = Array.from({ length: 300 }, (_, i) => `properties["p${i}"] == ${i}`).join(' or ').slice(0, MAX_WHERE_LENGTH);
    const cut = chain.slice(0, chain.lastIndexOf(' or '));
    expect(parseWhere(cut).kind).toBe('binary');
  });
});

const NASTY = ['") or (true', "') or ('", '\\', '\\"', '"', "'", ')', '(', ' and ', ' or true', '\n', '\t', '日本', '🙂', ']', '[', 'properties["x"]', '#', '//', '/*', '%', ''];

function randomString(next: () => number): string {
  let s = '';
  const n = Math.floor(next() * 4);
  for (let i = 0; i < n; i++) s += next() < 0.5 ? NASTY[Math.floor(next() * NASTY.length)]! : String.fromCharCode(0x20 + Math.floor(next() * 0x5f));
  return s;
}

function randomLiteral(next: () => number): WhereLiteral {
  const r = next();
  if (r < 0.4) {
    const int = String(Math.floor(next() * 1000));
    const frac = next() < 0.3 ? `.${Math.floor(next() * 100)}` : '';
    const exp = next() < 0.2 ? `e${next() < 0.5 ? '-' : ''}${Math.floor(next() * 20)}` : '';
    return { kind: 'number', text: `${int}${frac}${exp}` };
  }
  if (r < 0.8) return { kind: 'string', value: randomString(next) };
  return { kind: 'boolean', value: next() < 0.5 };
}

const BINARY = ['or', 'and', '==', '!=', '>', '>=', '<', '<=', 'in', '+', '-', '*', '/', '%'] as const;
const FUNCTIONS = ['defined', 'datetime', 'boolean', 'number', 'string', 'floor', 'round', 'ceil'] as const;
const ACCESSORS = ['properties', 'event', 'user'] as const;

function randomTree(next: () => number, depth: number): WhereNode {
  const r = next();
  if (depth <= 0 || r < 0.25) {
    if (next() < 0.5) return { kind: 'property', accessor: ACCESSORS[Math.floor(next() * 3)]!, name: randomString(next) };
    return randomLiteral(next);
  }
  if (r < 0.35) return { kind: 'list', items: Array.from({ length: Math.floor(next() * 3) }, () => randomLiteral(next)) };
  if (r < 0.5) return { kind: 'call', fn: FUNCTIONS[Math.floor(next() * FUNCTIONS.length)]!, arg: randomTree(next, depth - 1) };
  if (r < 0.6) return { kind: 'unary', op: next() < 0.5 ? 'not' : '-', arg: randomTree(next, depth - 1) };
  return { kind: 'binary', op: BINARY[Math.floor(next() * BINARY.length)]!, left: randomTree(next, depth - 1), right: randomTree(next, depth - 1) };
}

describe('printWhere output is one closed term (generated trees)', () => {
  it('parses back to the same tree, and AND-ed in parentheses it never swallows the bound that follows', () => {
    const next = random(19);
    const bound = parseWhere('properties["mp_processing_time_ms"] <= 5');
    for (let i = 0; i < 3000; i++) {
      const tree = randomTree(next, 5);
      const text = printWhere(tree);
      expect(text, text).not.toMatch(/[\r\n]/);
      expect(parseWhere(text), text).toEqual(tree);
      expect(parseWhere(`(${text}) and properties["mp_processing_time_ms"] <= 5`), text).toEqual({ kind: 'binary', op: 'and', left: tree, right: bound });
    }
  });
});

/** Sample records for comparing the emulator's reading of the original and of the printed text. */
const RECORDS: readonly Readonly<Record<string, unknown>>[] = [
  { $os: 'iOS', account_id: 3, amount: '7', n: 9, x: 2, a: 1, b: true, p: 7, q: 'single', city: 'Paris', 'My Prop': 1, ü: '日本語 🙂', 'say "hi"': "tab\there\nnew \\ 'x'" },
  { $os: 'Android', account_id: 9, amount: 2, n: 1, x: -2000, a: 2, b: false, p: 4, $email: 'example@mixpanel.com' },
  {},
];

function context(record: Readonly<Record<string, unknown>>): WhereContext {
  return {
    get: (name) => (name === '$time' ? new DateValue(Date.UTC(2024, 5, 1)) : record[name]),
    parseDateTime: (text) => Date.parse(`${text}Z`),
  };
}

describe('the emulator reads the printed text as it reads the original', () => {
  it('gives the same value on every sample record, for every accepted expression', () => {
    for (const [text] of ACCEPTED) {
      const original = emulatorParseWhere(text.trim());
      const printed = emulatorParseWhere(canonical(text));
      for (const record of RECORDS) expect(evaluateWhere(printed, context(record)), text).toEqual(evaluateWhere(original, context(record)));
    }
  });

  it('rejects the same malformed input, except where the emulator is laxer than the documented grammar', () => {
    // The emulator (a test double) also accepts these; the source rejects them before any call.
    const laxer = new Set(['properties["a"] == null', 'properties["$os"] == "i\\qOS"', 'properties["a"] in [1 2]', 'defined(properties["a"], 1)', '1e400 > properties["a"]', 'properties["a"] == "\u0000"', 'properties["a"] == "\ud800"', '   ', '', 'properties["a"] == "x"\n or true']);
    for (const [text] of REJECTED) {
      if (laxer.has(text) || text.length > MAX_WHERE_LENGTH || text.startsWith('(((') || text.startsWith('not not')) continue;
      expect(() => emulatorParseWhere(text), text).toThrow();
    }
  });
});
