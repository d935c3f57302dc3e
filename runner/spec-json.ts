/**
 * A small JSON checker for hand-written config files. `JSON.parse` silently keeps the last of two equal keys
 * (a spec with two `"objects"` lost a table) and, on Node 20, often reports no position at all. This scanner
 * walks the text once and returns the first problem with its offset: a syntax error with a reason a person can
 * act on (comments, single quotes, trailing commas, unquoted keys), or a duplicate key with its JSON path and
 * the offset of the first occurrence. It builds no values: once it finds nothing, `JSON.parse` does that.
 */

export type JsonScanProblem =
  | { readonly kind: 'syntax'; readonly offset: number; readonly reason: string }
  | { readonly kind: 'duplicate'; readonly offset: number; readonly firstOffset: number; readonly path: string };

const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Problem extends Error {
  constructor(readonly problem: JsonScanProblem) {
    super(problem.kind);
  }
}

/** `a.b`, `a["odd key"]`, `a[0]`: the path notation of the spec's messages. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

class Scanner {
  private i = 0;
  constructor(private readonly text: string) {}

  run(): void {
    this.ws();
    if (this.i >= this.text.length) this.syntax('the file is empty; write a JSON object');
    this.value('', 0);
    this.ws();
    if (this.i < this.text.length) this.syntax('unexpected text after the end of the JSON value; remove it (or wrap both values in one object)');
  }

  private syntax(reason: string, offset = this.i): never {
    throw new Problem({ kind: 'syntax', offset, reason });
  }

  private ws(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private unexpected(expected: string): never {
    const t = this.text;
    if (this.i >= t.length) this.syntax(`unexpected end of the file, expected ${expected} (a missing } or ]?)`);
    const c = t[this.i]!;
    if (c === '/' && (t[this.i + 1] === '/' || t[this.i + 1] === '*')) this.syntax('comments are not allowed in JSON; remove them');
    if (c === '#') this.syntax('comments are not allowed in JSON; remove them');
    if (c === "'") this.syntax('JSON strings need double quotes ("), not single quotes');
    const word = /[A-Za-z_$][A-Za-z0-9_$]*/y;
    word.lastIndex = this.i;
    const w = word.exec(t)?.[0];
    if (w !== undefined) {
      if (['NaN', 'Infinity', 'undefined', 'True', 'False', 'None', 'nil'].includes(w)) this.syntax(`${w} is not a JSON value; use a number, "text", true, false or null`);
      this.syntax(`unexpected ${JSON.stringify(w)}, expected ${expected}; text values need double quotes`);
    }
    this.syntax(`unexpected ${JSON.stringify(c)}, expected ${expected}`);
  }

  private value(path: string, depth: number): void {
    if (depth > MAX_DEPTH) this.syntax(`nested more than ${MAX_DEPTH} levels deep`);
    const t = this.text;
    const c = t[this.i];
    if (c === '{') return this.object(path, depth);
    if (c === '[') return this.array(path, depth);
    if (c === '"') {
      this.string();
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (t.startsWith(word, this.i) && !/[A-Za-z0-9_$]/.test(t[this.i + word.length] ?? '')) {
        this.i += word.length;
        return;
      }
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = this.i;
      const m = NUMBER.exec(t);
      if (m === null) this.syntax('not a valid JSON number');
      this.i += m[0].length;
      if (/[0-9.eE+\-xXA-Za-z_]/.test(t[this.i] ?? '')) this.syntax('not a valid JSON number (no leading zeros, hex, or trailing dot)', this.i - m[0].length);
      return;
    }
    this.unexpected('a value');
  }

  private string(): string {
    const t = this.text;
    const start = this.i;
    this.i++;
    let out = '';
    let run = this.i;
    for (;;) {
      if (this.i >= t.length) this.syntax('unterminated string (a missing ")', start);
      const c = t.charCodeAt(this.i);
      if (c === 0x22) {
        out += t.slice(run, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.syntax(c === 0x0a ? 'line break inside a string (a missing " before it?)' : 'control character inside a string; escape it');
      if (c === 0x5c) {
        out += t.slice(run, this.i);
        const e = t[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.i += 2;
        } else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(t.slice(this.i + 2, this.i + 6))) {
          out += String.fromCharCode(parseInt(t.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
        } else {
          this.syntax(`invalid escape \\${e ?? ''} in a string; write \\\\ for a backslash`);
        }
        run = this.i;
        continue;
      }
      this.i++;
    }
  }

  private object(path: string, depth: number): void {
    const t = this.text;
    this.i++;
    const seen = new Map<string, number>();
    this.ws();
    if (t[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (t[this.i] === '}' && seen.size > 0) this.syntax('trailing comma before }; remove it');
      if (t[this.i] !== '"') this.unexpected(seen.size === 0 ? 'a "key" or }' : 'a "key"');
      const keyAt = this.i;
      const key = this.string();
      const first = seen.get(key);
      const at = childPath(path, key);
      if (first !== undefined) throw new Problem({ kind: 'duplicate', offset: keyAt, firstOffset: first, path: at });
      seen.set(key, keyAt);
      this.ws();
      if (t[this.i] !== ':') this.unexpected(`: after the key ${JSON.stringify(key)}`);
      this.i++;
      this.ws();
      this.value(at, depth + 1);
      this.ws();
      if (t[this.i] === ',') {
        this.i++;
        continue;
      }
      if (t[this.i] === '}') {
        this.i++;
        return;
      }
      if (t[this.i] === '"') this.syntax('expected , or } after the value (a missing comma?)');
      this.unexpected(', or }');
    }
  }

  private array(path: string, depth: number): void {
    const t = this.text;
    this.i++;
    this.ws();
    if (t[this.i] === ']') {
      this.i++;
      return;
    }
    for (let n = 0; ; n++) {
      this.ws();
      if (t[this.i] === ']' && n > 0) this.syntax('trailing comma before ]; remove it');
      this.value(childPath(path, n), depth + 1);
      this.ws();
      if (t[this.i] === ',') {
        this.i++;
        continue;
      }
      if (t[this.i] === ']') {
        this.i++;
        return;
      }
      if (t[this.i] === '{' || t[this.i] === '[' || t[this.i] === '"') this.syntax('expected , or ] after the value (a missing comma?)');
      this.unexpected(', or ]');
    }
  }
}

/** The first problem of `text` as JSON (syntax or a duplicate key at any depth), or undefined when it is clean. */
export function scanJson(text: string): JsonScanProblem | undefined {
  try {
    new Scanner(text).run();
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return error.problem;
    throw error;
  }
}

/** 1-based line and column (in characters as an editor counts them) of a UTF-16 offset. */
export function lineColumn(text: string, offset: number): { readonly line: number; readonly column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  let line = 1;
  for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) line++;
  return { line, column: [...before.slice(lineStart)].length + 1 };
}

/**
 * Whether text that is not JSON looks like a YAML document (a `key: value` mapping, a `- item` list, a `---`
 * marker or `#` comments before it), so the message can say what happened instead of pointing at a character.
 */
export function looksLikeYaml(text: string): boolean {
  const lines = text.split(/\r?\n/);
  let sawComment = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      sawComment = true;
      continue;
    }
    if (line === '---' || line.startsWith('%YAML')) return true;
    if (line.startsWith('{') || line.startsWith('[')) return false;
    if (/^-( |$)/.test(line)) return true;
    if (/^("[^"]*"|'[^']*'|[A-Za-z_][\w .-]*)\s*:(\s|$)/.test(line)) return true;
    return sawComment;
  }
  return false;
}
