/**
 * Mixpanel segmentation expressions (the `where` of the export and engage APIs), parsed by the source itself so a
 * user's filter is checked before any call and can be re-serialised as one well-formed term (`print.ts`). The
 * grammar is Mixpanel's documented one (docs.mixpanel.com/reference/segmentation-expressions; the team's API notes,
 * mixpanel-api-notes §3.5, summarise it), with the documented examples' `defined(…)`, `datetime(…)`,
 * list literals and the `event[…]`/`user[…]` accessors:
 *
 * ```
 * expr     := and ('or' and)*
 * and      := not ('and' not)*
 * not      := 'not' not | compare
 * compare  := sum (('==' | '!=' | '>' | '>=' | '<' | '<=' | 'in') sum)*
 * sum      := product (('+' | '-') product)*
 * product  := unary (('*' | '/' | '%') unary)*
 * unary    := '-' unary | primary
 * primary  := accessor '[' string ']' | function '(' expr ')' | '(' expr ')' | list | number | string | 'true' | 'false'
 * list     := '[' (literal (',' literal)*)? ']'          literal := number | string | 'true' | 'false'
 * accessor := 'properties' | 'event' | 'user'
 * function := 'defined' | 'datetime' | 'boolean' | 'number' | 'string' | 'floor' | 'round' | 'ceil'
 * ```
 *
 * Keywords and function names are case-insensitive (printed lower-case); accessors are not. Strings are `"…"` or
 * `'…'` with the escapes `\\ \" \' \n \t`, and hold no raw control character. Numbers are unsigned decimals
 * (`12`, `1.5`, `2e3`; a leading `-` is the unary operator) and must be finite. Whitespace separates tokens.
 * Nothing else is accepted: no comments, no `null`, no `&&`/`||`/`!`/`=`, no other names.
 */

export type Accessor = 'properties' | 'event' | 'user';
export type WhereFunction = 'defined' | 'datetime' | 'boolean' | 'number' | 'string' | 'floor' | 'round' | 'ceil';
export type BinaryOp = 'or' | 'and' | '==' | '!=' | '>' | '>=' | '<' | '<=' | 'in' | '+' | '-' | '*' | '/' | '%';

/** A literal allowed in a list. */
export type WhereLiteral =
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'boolean'; readonly value: boolean };

export type WhereNode =
  | WhereLiteral
  | { readonly kind: 'list'; readonly items: readonly WhereLiteral[] }
  | { readonly kind: 'property'; readonly accessor: Accessor; readonly name: string }
  | { readonly kind: 'call'; readonly fn: WhereFunction; readonly arg: WhereNode }
  | { readonly kind: 'unary'; readonly op: 'not' | '-'; readonly arg: WhereNode }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: WhereNode; readonly right: WhereNode };

/** Longest expression accepted (characters): the export sends `where` in the URL. */
export const MAX_WHERE_LENGTH = 4096;
/** Deepest nesting accepted (parentheses, calls, `not`, unary minus): keeps every walk of the tree shallow. */
export const MAX_WHERE_DEPTH = 64;

/** Why an expression was rejected: `position` is the 1-based character where the problem starts. */
export class WhereSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
    readonly fix: string,
  ) {
    super(`${reason} at character ${position}: ${fix}`);
  }

  override get name(): string {
    return 'WhereSyntaxError';
  }
}

type Token =
  | { readonly t: 'number'; readonly text: string; readonly at: number }
  | { readonly t: 'string'; readonly value: string; readonly at: number }
  | { readonly t: 'word'; readonly text: string; readonly at: number }
  | { readonly t: 'op'; readonly text: string; readonly at: number }
  | { readonly t: 'end'; readonly at: number };

const OPERATORS = ['==', '!=', '>=', '<=', '>', '<', '+', '-', '*', '/', '%', '(', ')', '[', ']', ','] as const;
const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '>', '>=', '<', '<=']);
const ACCESSORS: ReadonlySet<string> = new Set<Accessor>(['properties', 'event', 'user']);
const FUNCTIONS: ReadonlySet<string> = new Set<WhereFunction>(['defined', 'datetime', 'boolean', 'number', 'string', 'floor', 'round', 'ceil']);
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'in', 'true', 'false']);
const NUMBER = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_$][A-Za-z0-9_$]*/y;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t' };

/** Fixes for the mistakes people make when they write C, SQL or JavaScript instead. */
const CHARACTER_FIXES: Readonly<Record<string, string>> = {
  '=': 'compare with == (a single = is not an operator)',
  '&': 'write and instead of &&',
  '|': 'write or instead of ||',
  '!': 'write not … (or != for "not equal")',
  '#': 'remove the comment: expressions have no comments',
  '.': 'write a number with a digit before its point, e.g. 0.5',
  '{': 'write a list as [1, 2, 3]',
  '}': 'write a list as [1, 2, 3]',
  ';': 'remove the semicolon: an expression is one term',
};

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\u00a0' || c === '\u3000' || /\s/.test(c);
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (isSpace(c)) {
      if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') {
        throw new WhereSyntaxError('a line break', i + 1, 'write the expression on one line');
      }
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new WhereSyntaxError('an unterminated string', i + 1, `close the string with ${c}`);
        const d = src[j]!;
        if (d === c) break;
        if (d === '\\') {
          const next = src[j + 1];
          const decoded = next === undefined ? undefined : ESCAPES[next];
          if (decoded === undefined) {
            throw new WhereSyntaxError(`an unknown escape \\${next ?? ''}`, j + 1, 'use only \\\\, \\", \\\', \\n or \\t inside a string');
          }
          value += decoded;
          j += 2;
          continue;
        }
        if (d.charCodeAt(0) < 0x20 || d === '\u007f') {
          throw new WhereSyntaxError(`a control character (U+${d.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}) in a string`, j + 1, 'remove it, or write \\n or \\t');
        }
        value += d;
        j++;
      }
      out.push({ t: 'string', value, at: i });
      i = j + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(src);
    if (number !== null) {
      const text = number[0];
      const after = src[i + text.length];
      if (after !== undefined && /[A-Za-z0-9_$.]/.test(after)) {
        throw new WhereSyntaxError(`a malformed number "${src.slice(i, i + text.length + 1)}"`, i + 1, 'write numbers as 12, 1.5 or 2e3, separated from names by a space or an operator');
      }
      if (!Number.isFinite(Number(text))) throw new WhereSyntaxError(`the number ${text} is out of range`, i + 1, 'use a number below 1e308');
      out.push({ t: 'number', text, at: i });
      i += text.length;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(src);
    if (word !== null) {
      out.push({ t: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) {
      const fix = CHARACTER_FIXES[c] ?? 'use only properties["name"], literals, operators, parentheses and the documented functions';
      const code = c.codePointAt(0)!;
      const shown = code > 0x20 && code < 0x7f ? JSON.stringify(c) : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      throw new WhereSyntaxError(`an unexpected character ${shown}`, i + 1, fix);
    }
    if (op === '/' && (src[i + 1] === '/' || src[i + 1] === '*')) {
      throw new WhereSyntaxError('a comment', i + 1, 'remove the comment: expressions have no comments');
    }
    out.push({ t: 'op', text: op, at: i });
    i += op.length;
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

function describe(token: Token): string {
  switch (token.t) {
    case 'end':
      return 'the end of the expression';
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${token.text}`;
    default:
      return `"${token.text}"`;
  }
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parse(): WhereNode {
    const node = this.or();
    const next = this.peek();
    if (next.t !== 'end') {
      const fix = next.t === 'op' && next.text === ')' ? 'remove the unmatched ")" (every "(" needs one ")", in order)' : 'join the terms with and / or, or remove what follows';
      throw this.error(`unexpected ${describe(next)}`, next, fix);
    }
    return node;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private error(reason: string, token: Token, fix: string): WhereSyntaxError {
    return new WhereSyntaxError(reason, token.at + 1, fix);
  }

  private isWord(word: string): boolean {
    const t = this.peek();
    return t.t === 'word' && t.text.toLowerCase() === word;
  }

  private isOp(op: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.text === op;
  }

  private expectOp(op: string, fix: string): void {
    const t = this.peek();
    if (!this.isOp(op)) throw this.error(`expected "${op}" but found ${describe(t)}`, t, fix);
    this.pos++;
  }

  private nested<T>(at: Token, parse: () => T): T {
    if (++this.depth > MAX_WHERE_DEPTH) {
      throw this.error(`nesting deeper than ${MAX_WHERE_DEPTH} levels`, at, 'simplify the expression (fewer nested parentheses, not and calls)');
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private or(): WhereNode {
    let left = this.and();
    while (this.isWord('or')) {
      this.pos++;
      left = { kind: 'binary', op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): WhereNode {
    let left = this.not();
    while (this.isWord('and')) {
      this.pos++;
      left = { kind: 'binary', op: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): WhereNode {
    const t = this.peek();
    if (this.isWord('not')) {
      this.pos++;
      return this.nested(t, () => ({ kind: 'unary', op: 'not', arg: this.not() }));
    }
    return this.compare();
  }

  private compare(): WhereNode {
    let left = this.sum();
    for (;;) {
      const t = this.peek();
      let op: BinaryOp;
      if (t.t === 'op' && COMPARISONS.has(t.text)) op = t.text as BinaryOp;
      else if (this.isWord('in')) op = 'in';
      else return left;
      this.pos++;
      left = { kind: 'binary', op, left, right: this.sum() };
    }
  }

  private sum(): WhereNode {
    let left = this.product();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.peek() as { text: string }).text as BinaryOp;
      this.pos++;
      left = { kind: 'binary', op, left, right: this.product() };
    }
    return left;
  }

  private product(): WhereNode {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.peek() as { text: string }).text as BinaryOp;
      this.pos++;
      left = { kind: 'binary', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): WhereNode {
    const t = this.peek();
    if (this.isOp('-')) {
      this.pos++;
      return this.nested(t, () => ({ kind: 'unary', op: '-', arg: this.unary() }));
    }
    return this.primary();
  }

  private literal(): WhereLiteral | undefined {
    const t = this.peek();
    if (t.t === 'number') {
      this.pos++;
      return { kind: 'number', text: t.text };
    }
    if (t.t === 'string') {
      this.pos++;
      return { kind: 'string', value: t.value };
    }
    if (this.isWord('true') || this.isWord('false')) {
      this.pos++;
      return { kind: 'boolean', value: (t as { text: string }).text.toLowerCase() === 'true' };
    }
    return undefined;
  }

  private list(open: Token): WhereNode {
    const items: WhereLiteral[] = [];
    this.pos++;
    if (this.isOp(']')) {
      this.pos++;
      return { kind: 'list', items };
    }
    for (;;) {
      const t = this.peek();
      const item = this.literal();
      if (item === undefined) {
        const fix = t.t === 'end' ? 'close the list with "]"' : 'a list holds only numbers (without a sign), strings, true and false, separated by commas';
        throw this.error(`${describe(t)} in a list`, t, fix);
      }
      items.push(item);
      if (this.isOp(',')) {
        this.pos++;
        continue;
      }
      const close = this.peek();
      if (this.isOp(']')) {
        this.pos++;
        return { kind: 'list', items };
      }
      throw this.error(`expected "," or "]" after a list item but found ${describe(close)}`, close, `separate list items with commas and close the list opened at character ${open.at + 1} with "]"`);
    }
  }

  private primary(): WhereNode {
    const t = this.peek();
    const literal = this.literal();
    if (literal !== undefined) return literal;
    if (t.t === 'op' && t.text === '(') {
      this.pos++;
      return this.nested(t, () => {
        const inner = this.or();
        this.expectOp(')', `close the "(" at character ${t.at + 1} with ")"`);
        return inner;
      });
    }
    if (t.t === 'op' && t.text === '[') return this.list(t);
    if (t.t === 'word') {
      const lower = t.text.toLowerCase();
      if (ACCESSORS.has(t.text)) {
        this.pos++;
        this.expectOp('[', `write ${t.text}["name"]`);
        const name = this.peek();
        if (name.t !== 'string') throw this.error(`${t.text}[…] without a quoted property name`, name, `write ${t.text}["name"] with the name in quotes`);
        this.pos++;
        this.expectOp(']', `write ${t.text}["${name.value}"]`);
        return { kind: 'property', accessor: t.text as Accessor, name: name.value };
      }
      if (FUNCTIONS.has(lower)) {
        this.pos++;
        return this.nested(t, () => {
          this.expectOp('(', `call it as ${lower}(…)`);
          const arg = this.or();
          if (this.isOp(',')) throw this.error(`a second argument to ${lower}(…)`, this.peek(), `${lower} takes one argument`);
          this.expectOp(')', `close ${lower}( at character ${t.at + 1} with ")"`);
          return { kind: 'call', fn: lower as WhereFunction, arg };
        });
      }
      if (lower === 'null' || lower === 'undefined') throw this.error(`"${t.text}"`, t, 'there is no null literal: test presence with defined(properties["name"]) or not defined(…)');
      if (KEYWORDS.has(lower)) throw this.error(`"${t.text}" where a value was expected`, t, 'put a value on both sides of the operator');
      const near = ['properties', 'event', 'user', ...FUNCTIONS].find((w) => w.toLowerCase() === lower || editDistanceAtMostOne(w, lower));
      throw this.error(`the unknown name "${t.text}"`, t, near === undefined ? 'read a property as properties["name"]; quote string values' : `did you mean ${near}? (read a property as properties["name"]; quote string values)`);
    }
    if (t.t === 'end') throw this.error('the expression ends where a value was expected', t, 'complete the expression');
    throw this.error(`unexpected ${describe(t)}`, t, 'put a value (properties["name"], a literal or a parenthesised expression) here');
  }
}

function editDistanceAtMostOne(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1 || a === b) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (a.length < b.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/** Parse a `where` expression; throws WhereSyntaxError with the 1-based position and the fix. */
export function parseWhere(src: string): WhereNode {
  if (src.length > MAX_WHERE_LENGTH) {
    throw new WhereSyntaxError(`an expression of ${src.length} characters`, MAX_WHERE_LENGTH + 1, `keep it under ${MAX_WHERE_LENGTH} characters (filter event names with export_events instead of a long list)`);
  }
  const lone = LONE_SURROGATE.exec(src);
  if (lone !== null) throw new WhereSyntaxError('an unpaired UTF-16 surrogate', lone.index + 1, 'remove the broken character (the text is not valid Unicode)');
  const tokens = tokenize(src);
  if (tokens.length === 1) throw new WhereSyntaxError('an empty expression', 1, 'write an expression such as properties["$os"] == "iOS", or remove the option');
  return new Parser(tokens).parse();
}
