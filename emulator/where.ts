/**
 * Mixpanel segmentation expressions (the subset export and engage `where` use): `properties["name"]`
 * (also `event[...]`, `user[...]`), string/number/boolean literals, `datetime(...)`, `defined(...)`,
 * `boolean/number/string(...)`, `floor/round/ceil`, `+ - * / %`, comparisons, `in`, `not`, `and`, `or`,
 * parentheses. Semantics per Mixpanel: `==` across types is false, comparisons across types are undefined,
 * `and`/`or` read undefined as false, `in` is substring on strings and membership on lists.
 */

/** A datetime value (from `datetime(...)` or an event's time). */
export class DateValue {
  constructor(readonly ms: number) {}
}

export type WhereValue = undefined | null | boolean | number | string | DateValue | readonly unknown[] | object;

export type WhereNode =
  | { readonly kind: 'literal'; readonly value: WhereValue }
  | { readonly kind: 'property'; readonly name: string }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly WhereNode[] }
  | { readonly kind: 'unary'; readonly op: 'not' | '-'; readonly arg: WhereNode }
  | { readonly kind: 'binary'; readonly op: string; readonly left: WhereNode; readonly right: WhereNode };

export class WhereSyntaxError extends Error {}

type Token =
  | { readonly t: 'num'; readonly v: number }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: 'op'; readonly v: string };

const OPS = ['==', '!=', '>=', '<=', '>', '<', '+', '-', '*', '/', '%', '(', ')', '[', ']', ','];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const n = src[j + 1] as string;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          j += 2;
        } else {
          s += src[j];
          j++;
        }
      }
      if (j >= src.length) throw new WhereSyntaxError(`unterminated string at ${i}`);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num !== null) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
    if (id !== null) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new WhereSyntaxError(`unexpected character ${JSON.stringify(c)} at ${i}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  return out;
}

const FUNCTIONS = new Set(['datetime', 'defined', 'boolean', 'number', 'string', 'floor', 'round', 'ceil']);
const ACCESSORS = new Set(['properties', 'event', 'user']);

class Parser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parse(): WhereNode {
    const node = this.or();
    if (this.pos < this.tokens.length) throw new WhereSyntaxError(`unexpected token ${JSON.stringify(this.tokens[this.pos]?.v)}`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isWord(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'id' && t.v.toLowerCase() === v;
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  }

  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new WhereSyntaxError(`expected ${v}`);
    this.pos++;
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
    if (this.isWord('not')) {
      this.pos++;
      return { kind: 'unary', op: 'not', arg: this.not() };
    }
    return this.comparison();
  }

  private comparison(): WhereNode {
    let left = this.additive();
    for (;;) {
      const t = this.peek();
      if (t?.t === 'op' && ['==', '!=', '>', '>=', '<', '<='].includes(t.v)) {
        this.pos++;
        left = { kind: 'binary', op: t.v, left, right: this.additive() };
      } else if (this.isWord('in')) {
        this.pos++;
        left = { kind: 'binary', op: 'in', left, right: this.additive() };
      } else {
        return left;
      }
    }
  }

  private additive(): WhereNode {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.tokens[this.pos++] as Token).v as string;
      left = { kind: 'binary', op, left, right: this.multiplicative() };
    }
    return left;
  }

  private multiplicative(): WhereNode {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.tokens[this.pos++] as Token).v as string;
      left = { kind: 'binary', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): WhereNode {
    if (this.isOp('-')) {
      this.pos++;
      return { kind: 'unary', op: '-', arg: this.unary() };
    }
    return this.primary();
  }

  private primary(): WhereNode {
    const t = this.peek();
    if (t === undefined) throw new WhereSyntaxError('unexpected end of expression');
    this.pos++;
    if (t.t === 'num' || t.t === 'str') return { kind: 'literal', value: t.v };
    if (t.t === 'op' && t.v === '(') {
      const inner = this.or();
      this.expectOp(')');
      return inner;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: WhereValue[] = [];
      while (!this.isOp(']')) {
        const item = this.primary();
        if (item.kind !== 'literal') throw new WhereSyntaxError('list literals hold literals only');
        items.push(item.value);
        if (this.isOp(',')) this.pos++;
      }
      this.pos++;
      return { kind: 'literal', value: items };
    }
    if (t.t === 'id') {
      const word = t.v;
      const lower = word.toLowerCase();
      if (lower === 'true' || lower === 'false') return { kind: 'literal', value: lower === 'true' };
      if (lower === 'null') return { kind: 'literal', value: null };
      if (ACCESSORS.has(word)) {
        this.expectOp('[');
        const name = this.peek();
        if (name?.t !== 'str') throw new WhereSyntaxError(`${word}[...] needs a quoted property name`);
        this.pos++;
        this.expectOp(']');
        return { kind: 'property', name: name.v };
      }
      if (FUNCTIONS.has(lower)) {
        this.expectOp('(');
        const args: WhereNode[] = [];
        while (!this.isOp(')')) {
          args.push(this.or());
          if (this.isOp(',')) this.pos++;
          else break;
        }
        this.expectOp(')');
        return { kind: 'call', fn: lower, args };
      }
      throw new WhereSyntaxError(`unknown identifier ${word}`);
    }
    throw new WhereSyntaxError(`unexpected token ${JSON.stringify(t.v)}`);
  }
}

export function parseWhere(src: string): WhereNode {
  return new Parser(tokenize(src)).parse();
}

/** Property names an expression reads. */
export function referencedProperties(node: WhereNode, into: Set<string> = new Set()): Set<string> {
  switch (node.kind) {
    case 'property':
      into.add(node.name);
      break;
    case 'call':
      for (const a of node.args) referencedProperties(a, into);
      break;
    case 'unary':
      referencedProperties(node.arg, into);
      break;
    case 'binary':
      referencedProperties(node.left, into);
      referencedProperties(node.right, into);
      break;
    case 'literal':
      break;
  }
  return into;
}

export interface WhereContext {
  /** Value of a property (`undefined` when absent). Return a `DateValue` for time-like properties. */
  get(name: string): unknown;
  /** Zone in which `datetime("YYYY-MM-DDTHH:MM:SS")` is read, as a parser (NaN = invalid). */
  parseDateTime(text: string): number;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof DateValue) return v.ms;
  if (typeof v === 'object' && v !== null && 'isLosslessNumber' in v) return Number(String(v));
  return undefined;
}

function dateOf(v: unknown, ctx: WhereContext): number | undefined {
  if (v instanceof DateValue) return v.ms;
  if (typeof v === 'string') {
    const ms = ctx.parseDateTime(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const n = toNumber(v);
  if (n === undefined) return undefined;
  // A bare number against a datetime: unix seconds (or ms when it is that large).
  return Math.abs(n) < 1e11 ? n * 1000 : n;
}

function compare(op: string, a: unknown, b: unknown, ctx: WhereContext): boolean | undefined {
  let x: number | string | boolean | undefined;
  let y: number | string | boolean | undefined;
  if (a instanceof DateValue || b instanceof DateValue) {
    x = dateOf(a, ctx);
    y = dateOf(b, ctx);
  } else if (typeof a === 'string' && typeof b === 'string') {
    x = a;
    y = b;
  } else if (typeof a === 'boolean' && typeof b === 'boolean') {
    x = a;
    y = b;
  } else {
    x = toNumber(a);
    y = toNumber(b);
  }
  if (op === '==' || op === '!=') {
    let eq: boolean;
    if (x === undefined || y === undefined) {
      eq = a === null && b === null;
    } else {
      eq = x === y;
    }
    return op === '==' ? eq : !eq;
  }
  if (x === undefined || y === undefined) return undefined;
  switch (op) {
    case '>':
      return x > y;
    case '>=':
      return x >= y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
  }
  return undefined;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  return true;
}

export function evaluateWhere(node: WhereNode, ctx: WhereContext): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'property':
      return ctx.get(node.name);
    case 'unary': {
      const v = evaluateWhere(node.arg, ctx);
      if (node.op === 'not') return !truthy(v);
      const n = toNumber(v);
      return n === undefined ? undefined : -n;
    }
    case 'call': {
      const args = node.args.map((a) => evaluateWhere(a, ctx));
      const a = args[0];
      switch (node.fn) {
        case 'defined':
          return a !== undefined;
        case 'datetime': {
          if (typeof a === 'string') {
            const ms = ctx.parseDateTime(a);
            return Number.isNaN(ms) ? undefined : new DateValue(ms);
          }
          if (a instanceof DateValue) return a;
          const n = toNumber(a);
          return n === undefined ? undefined : new DateValue(n * 1000);
        }
        case 'boolean':
          return truthy(a);
        case 'number': {
          if (typeof a === 'string') {
            const n = Number(a);
            return Number.isNaN(n) ? undefined : n;
          }
          if (a instanceof DateValue) return a.ms / 1000;
          return toNumber(a);
        }
        case 'string':
          return a === undefined ? undefined : a instanceof DateValue ? new Date(a.ms).toISOString().slice(0, 19) : typeof a === 'string' ? a : JSON.stringify(a);
        case 'floor':
        case 'round':
        case 'ceil': {
          const n = toNumber(a);
          if (n === undefined) return undefined;
          return node.fn === 'floor' ? Math.floor(n) : node.fn === 'ceil' ? Math.ceil(n) : Math.round(n);
        }
      }
      return undefined;
    }
    case 'binary': {
      if (node.op === 'and') return truthy(evaluateWhere(node.left, ctx)) && truthy(evaluateWhere(node.right, ctx));
      if (node.op === 'or') return truthy(evaluateWhere(node.left, ctx)) || truthy(evaluateWhere(node.right, ctx));
      const l = evaluateWhere(node.left, ctx);
      const r = evaluateWhere(node.right, ctx);
      if (node.op === 'in') {
        if (typeof l === 'string' && typeof r === 'string') return r.includes(l);
        if (Array.isArray(r)) return r.some((x) => compare('==', l, x, ctx) === true);
        return undefined;
      }
      if (['==', '!=', '>', '>=', '<', '<='].includes(node.op)) return compare(node.op, l, r, ctx);
      if (node.op === '+' && typeof l === 'string' && typeof r === 'string') return l + r;
      const x = toNumber(l);
      const y = toNumber(r);
      if (x === undefined || y === undefined) return undefined;
      switch (node.op) {
        case '+':
          return x + y;
        case '-':
          return x - y;
        case '*':
          return x * y;
        case '/':
          return y === 0 ? undefined : x / y;
        case '%':
          return y === 0 ? undefined : x % y;
      }
      return undefined;
    }
  }
}

/** True when the expression selects the record. */
export function matchesWhere(node: WhereNode, ctx: WhereContext): boolean {
  return truthy(evaluateWhere(node, ctx));
}
