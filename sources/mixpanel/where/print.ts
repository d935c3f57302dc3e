/**
 * A parsed `where` expression → its text, re-serialised from the tree: every operand that is itself an operation
 * is parenthesised, strings are double-quoted with `\\ \" \n \t` escaped, numbers keep their source text. So the
 * text is one well-formed term whatever the user typed: nothing inside it can close a parenthesis of the
 * surrounding filter, and `parseWhere(printWhere(t))` gives back `t`.
 */
import type { WhereNode } from './parse.js';

/** A string literal as the export's expression parser reads it. */
export function quoteWhereString(value: string): string {
  let out = '"';
  for (const c of value) {
    if (c === '\\') out += '\\\\';
    else if (c === '"') out += '\\"';
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else out += c;
  }
  return `${out}"`;
}

function operand(node: WhereNode): string {
  return node.kind === 'binary' || node.kind === 'unary' ? `(${printWhere(node)})` : printWhere(node);
}

/** The canonical text of an expression tree. */
export function printWhere(node: WhereNode): string {
  switch (node.kind) {
    case 'number':
      return node.text;
    case 'string':
      return quoteWhereString(node.value);
    case 'boolean':
      return node.value ? 'true' : 'false';
    case 'list':
      return `[${node.items.map(printWhere).join(', ')}]`;
    case 'property':
      return `${node.accessor}[${quoteWhereString(node.name)}]`;
    case 'call':
      return `${node.fn}(${printWhere(node.arg)})`;
    case 'unary':
      return node.op === 'not' ? `not ${operand(node.arg)}` : `-${operand(node.arg)}`;
    case 'binary':
      return `${operand(node.left)} ${node.op} ${operand(node.right)}`;
  }
}
