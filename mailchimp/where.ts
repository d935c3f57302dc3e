/**
 * `--where`: a small, safe SQL boolean-expression subset over the engage columns, evaluated in process
 * (no SQL engine, nothing executed). Grammar:
 *   expr      := term (OR term)*            term := factor (AND factor)*        factor := NOT factor | predicate
 *   predicate := '(' expr ')' | operand [ (= | != | <> | < | <= | > | >=) operand
 *                | IS [NOT] NULL | [NOT] LIKE 'pattern' | [NOT] IN (literal, …) | [NOT] BETWEEN operand AND operand ]
 *   operand   := column | column['key'] (a custom_properties entry) | 'text' | number | TRUE | FALSE | NULL
 * Comparisons follow SQL's three-valued logic (NULL compares to nothing; a row passes only when TRUE).
 * A timestamp (or date) column compared with a literal takes a quoted date or timestamp, checked when `--where`
 * is parsed (TEMPORAL_FORMATS; UTC when no zone): anything else — 'not a date', '2026-02-30', a number — is a
 * ConfigError, never a filter that silently selects nothing.
 * A `custom_properties['k']` value is the JSON text Mixpanel sent, decoded: "pro" → pro, 12 → 12, true → true.
 */
import { ConfigError } from '../connector-spec/index.js';

export type Value = string | number | boolean | null;
export type ColumnKind = 'text' | 'number' | 'timestamp' | 'boolean' | 'map';

/** Access to one row's values. */
export interface RowAccess {
  get(column: string): Value;
  mapEntry(column: string, key: string): Value;
}

export type Predicate = (row: RowAccess) => boolean;

type Node =
  | { t: 'col'; name: string; kind: ColumnKind }
  | { t: 'entry'; name: string; key: string }
  | { t: 'lit'; value: Value; at?: number }
  | { t: 'cmp'; op: string; a: Node; b: Node }
  | { t: 'null'; a: Node; negate: boolean }
  | { t: 'like'; a: Node; re: RegExp; negate: boolean }
  | { t: 'in'; a: Node; list: Value[]; negate: boolean }
  | { t: 'between'; a: Node; lo: Node; hi: Node; negate: boolean }
  | { t: 'and' | 'or'; a: Node; b: Node }
  | { t: 'not'; a: Node };

type Token = { k: 'id' | 'str' | 'num' | 'op' | 'end'; v: string; at: number };

function fail(where: string, at: number, what: string): never {
  throw new ConfigError(`--where: ${what} at character ${at + 1} of ${JSON.stringify(where)}; use comparisons, IS NULL, LIKE, IN, BETWEEN, AND/OR/NOT over engage columns`, {
    code: 'MAILCHIMP_WHERE_INVALID',
  });
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let s = '';
      let j = i + 1;
      for (;;) {
        if (j >= src.length) fail(src, i, 'unterminated string');
        if (src[j] === "'") {
          if (src[j + 1] === "'") {
            s += "'";
            j += 2;
            continue;
          }
          break;
        }
        s += src[j];
        j++;
      }
      out.push({ k: 'str', v: s, at: i });
      i = j + 1;
      continue;
    }
    if (c === '"') {
      const j = src.indexOf('"', i + 1);
      if (j < 0) fail(src, i, 'unterminated quoted column');
      out.push({ k: 'id', v: src.slice(i + 1, j), at: i });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/i.exec(src.slice(i));
    if (num && (c !== '-' || out.length === 0 || out[out.length - 1]!.k === 'op')) {
      out.push({ k: 'num', v: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
    if (id) {
      out.push({ k: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = /^(<=|>=|<>|!=|=|<|>|\(|\)|,|\[|\])/.exec(src.slice(i));
    if (!op) fail(src, i, `unexpected ${JSON.stringify(c)}`);
    out.push({ k: 'op', v: op[0], at: i });
    i += op[0].length;
  }
  out.push({ k: 'end', v: '', at: src.length });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'like', 'in', 'between', 'true', 'false']);

function likeRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) re += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 's');
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
    private readonly columns: ReadonlyMap<string, ColumnKind>,
  ) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private kw(word: string): boolean {
    const t = this.peek();
    if (t.k === 'id' && t.v.toLowerCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  private op(sym: string): boolean {
    const t = this.peek();
    if (t.k === 'op' && t.v === sym) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectOp(sym: string): void {
    if (!this.op(sym)) fail(this.src, this.peek().at, `expected ${sym}`);
  }

  parse(): Node {
    const node = this.or();
    if (this.peek().k !== 'end') fail(this.src, this.peek().at, `unexpected ${JSON.stringify(this.peek().v)}`);
    return node;
  }
  private or(): Node {
    let a = this.and();
    while (this.kw('or')) a = { t: 'or', a, b: this.and() };
    return a;
  }
  private and(): Node {
    let a = this.factor();
    while (this.kw('and')) a = { t: 'and', a, b: this.factor() };
    return a;
  }
  private factor(): Node {
    if (this.kw('not')) return { t: 'not', a: this.factor() };
    return this.predicate();
  }
  private predicate(): Node {
    if (this.op('(')) {
      const inner = this.or();
      this.expectOp(')');
      return inner;
    }
    const a = this.operand();
    const t = this.peek();
    if (t.k === 'op' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      const b = this.operand();
      return { t: 'cmp', op: t.v === '<>' ? '!=' : t.v, a: this.temporal(a, b), b: this.temporal(b, a) };
    }
    if (this.kw('is')) {
      const negate = this.kw('not');
      if (!this.kw('null')) fail(this.src, this.peek().at, 'expected NULL');
      return { t: 'null', a, negate };
    }
    const negate = this.kw('not');
    if (this.kw('like')) {
      const p = this.peek();
      if (p.k !== 'str') fail(this.src, p.at, "LIKE needs a 'pattern'");
      this.i++;
      return { t: 'like', a, re: likeRegExp(p.v), negate };
    }
    if (this.kw('in')) {
      this.expectOp('(');
      const list: Value[] = [];
      do {
        const v = this.operand();
        if (v.t !== 'lit') fail(this.src, this.peek().at, 'IN takes literals');
        const checked = this.temporal(v, a);
        list.push(checked.t === 'lit' ? checked.value : v.value);
      } while (this.op(','));
      this.expectOp(')');
      return { t: 'in', a, list, negate };
    }
    if (this.kw('between')) {
      const lo = this.temporal(this.operand(), a);
      if (!this.kw('and')) fail(this.src, this.peek().at, 'expected AND');
      return { t: 'between', a, lo, hi: this.temporal(this.operand(), a), negate };
    }
    if (negate) fail(this.src, this.peek().at, 'expected LIKE, IN or BETWEEN after NOT');
    if (a.t === 'col' && a.kind === 'boolean') return a;
    fail(this.src, t.at, 'expected a comparison');
  }
  /**
   * `node` compared with `other`: when `other` is a timestamp/date column and `node` a literal, the literal must be a
   * date or timestamp; it becomes epoch ms (so each row compares numbers).
   */
  private temporal(node: Node, other: Node): Node {
    if (node.t !== 'lit' || other.t !== 'col' || other.kind !== 'timestamp' || node.value === null) return node;
    const at = node.at ?? 0;
    if (typeof node.value !== 'string') {
      failTemporal(this.src, at, `${other.name} is a timestamp column; compare it with a quoted date, not the ${typeof node.value} ${String(node.value)}`);
    }
    const ms = parseTemporal(node.value);
    if (ms === null) failTemporal(this.src, at, `'${node.value}' is not a valid date or timestamp to compare with ${other.name}`);
    return { t: 'lit', value: ms, at };
  }

  private operand(): Node {
    const t = this.peek();
    this.i++;
    if (t.k === 'str') return { t: 'lit', value: t.v, at: t.at };
    if (t.k === 'num') return { t: 'lit', value: Number(t.v), at: t.at };
    if (t.k === 'id') {
      const lower = t.v.toLowerCase();
      if (lower === 'null') return { t: 'lit', value: null };
      if (lower === 'true' || lower === 'false') return { t: 'lit', value: lower === 'true', at: t.at };
      if (KEYWORDS.has(lower)) fail(this.src, t.at, `unexpected keyword ${t.v}`);
      const kind = this.columns.get(t.v);
      if (kind === undefined) {
        const names = [...this.columns.keys()].filter((n) => !n.endsWith('_raw')).join(', ');
        fail(this.src, t.at, `unknown column ${JSON.stringify(t.v)} (engage columns: ${names})`);
      }
      if (this.op('[')) {
        const key = this.peek();
        if (kind !== 'map' || key.k !== 'str') fail(this.src, key.at, `only a MAP column takes ['key']`);
        this.i++;
        this.expectOp(']');
        return { t: 'entry', name: t.v, key: key.v };
      }
      if (kind === 'map') fail(this.src, t.at, `${t.v} is a MAP: compare one entry, e.g. ${t.v}['plan'] = 'pro'`);
      return { t: 'col', name: t.v, kind };
    }
    fail(this.src, t.at, t.k === 'end' ? 'unexpected end' : `unexpected ${JSON.stringify(t.v)}`);
  }
}

/** The literal forms a timestamp/date column compares with (named in the error message). */
export const TEMPORAL_FORMATS = "'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS[.fff]]' or 'YYYY-MM-DDTHH:MM[:SS[.fff]]' (UTC), optionally with a zone: Z, +HH:MM or -HHMM";

function failTemporal(where: string, at: number, what: string): never {
  throw new ConfigError(`--where: ${what} (at character ${at + 1} of ${JSON.stringify(where)}); write it as ${TEMPORAL_FORMATS}, e.g. last_seen >= '2026-01-31'`, {
    code: 'MAILCHIMP_WHERE_BAD_DATE',
  });
}

const TEMPORAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A date or timestamp literal → epoch ms, or null when it is not one. Strict: the calendar is checked (no
 * 2026-02-30, no hour 24), zones up to ±14:00; fractions beyond milliseconds are truncated.
 */
export function parseTemporal(text: string): number | null {
  const m = TEMPORAL.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const h = Number(z[2]);
    const mm = Number(z[3]);
    if (h > 14 || mm > 59 || h * 60 + mm > 14 * 60) return null;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (h * 60 + mm);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  return utc.getTime() - offsetMinutes * 60_000;
}

/** Bring two operands to comparable values (timestamps vs text, numbers vs numeric text). */
function coerce(a: Value, b: Value, aKind: ColumnKind | undefined, bKind: ColumnKind | undefined): [Value, Value] {
  if (aKind === 'timestamp' && typeof b === 'string') return [a, parseTemporal(b)];
  if (bKind === 'timestamp' && typeof a === 'string') return [parseTemporal(a), b];
  if (typeof a === 'number' && typeof b === 'string' && b.trim() !== '' && !Number.isNaN(Number(b))) return [a, Number(b)];
  if (typeof b === 'number' && typeof a === 'string' && a.trim() !== '' && !Number.isNaN(Number(a))) return [Number(a), b];
  return [a, b];
}

function compare(op: string, a: Value, b: Value): boolean | null {
  if (a === null || b === null) return null;
  if (typeof a !== typeof b) return op === '!=' ? true : op === '=' ? false : null;
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function kindOf(n: Node): ColumnKind | undefined {
  return n.t === 'col' ? n.kind : undefined;
}

function evaluate(n: Node, row: RowAccess): boolean | null | Value {
  switch (n.t) {
    case 'col':
      return row.get(n.name);
    case 'entry':
      return row.mapEntry(n.name, n.key);
    case 'lit':
      return n.value;
    case 'cmp': {
      const [a, b] = coerce(evaluate(n.a, row) as Value, evaluate(n.b, row) as Value, kindOf(n.a), kindOf(n.b));
      return compare(n.op, a, b);
    }
    case 'null': {
      const isNull = evaluate(n.a, row) === null;
      return n.negate ? !isNull : isNull;
    }
    case 'like': {
      const v = evaluate(n.a, row);
      if (v === null) return null;
      const m = n.re.test(String(v));
      return n.negate ? !m : m;
    }
    case 'in': {
      const v = evaluate(n.a, row) as Value;
      if (v === null) return null;
      const found = n.list.some((item) => compare('=', ...coerce(v, item, kindOf(n.a), undefined)) === true);
      return n.negate ? !found : found;
    }
    case 'between': {
      const v = evaluate(n.a, row) as Value;
      const lo = compare('>=', ...coerce(v, evaluate(n.lo, row) as Value, kindOf(n.a), kindOf(n.lo)));
      const hi = compare('<=', ...coerce(v, evaluate(n.hi, row) as Value, kindOf(n.a), kindOf(n.hi)));
      const r = lo === null || hi === null ? null : lo && hi;
      return r === null ? null : n.negate ? !r : r;
    }
    case 'and': {
      const a = evaluate(n.a, row);
      if (a === false) return false;
      const b = evaluate(n.b, row);
      if (b === false) return false;
      return a === null || b === null ? null : true;
    }
    case 'or': {
      const a = evaluate(n.a, row);
      if (a === true) return true;
      const b = evaluate(n.b, row);
      if (b === true) return true;
      return a === null || b === null ? null : false;
    }
    case 'not': {
      const a = evaluate(n.a, row);
      return a === null ? null : !a;
    }
  }
}

/** Parse `--where` against the table's columns; throws ConfigError naming the problem. */
export function compileWhere(where: string, columns: ReadonlyMap<string, ColumnKind>): Predicate {
  if (where.trim() === '') return () => true;
  const node = new Parser(where, tokenize(where), columns).parse();
  return (row) => evaluate(node, row) === true;
}

/** Decode a `custom_properties` JSON text for comparisons. */
export function decodeMapValue(text: string | null): Value {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (v === null) return null;
  } catch {
    // not JSON: compare the text itself
  }
  return text;
}
