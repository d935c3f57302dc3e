import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../connector-spec/index.js';
import { LineSplitter, escapeControlCharsInStrings, parseExportLine } from './lines.js';

function split(chunks: Buffer[]): { lines: [string, number][]; error: unknown } {
  const lines: [string, number][] = [];
  const splitter = new LineSplitter({ line: (text, offset) => lines.push([text, offset]) });
  try {
    for (const c of chunks) splitter.push(c);
    splitter.finish('test');
  } catch (error) {
    return { lines, error };
  }
  return { lines, error: undefined };
}

describe('LineSplitter', () => {
  it('splits on \\n bytes only, with byte offsets, across chunk boundaries', () => {
    const body = Buffer.from('{"a":"x\u2028y\u0085z\u001c"}\n{"b":"é😀"}\n\n', 'utf8');
    const chunks = [body.subarray(0, 5), body.subarray(5, 27), body.subarray(27, 28), body.subarray(28)];
    const { lines, error } = split(chunks);
    expect(error).toBeUndefined();
    expect(lines).toEqual([
      ['{"a":"x\u2028y\u0085z\u001c"}', 0],
      ['{"b":"é😀"}', Buffer.byteLength('{"a":"x\u2028y\u0085z\u001c"}\n')],
      ['', body.length - 1],
    ]);
  });

  it('fails a body that does not end with a newline, or ends with "terminated early"', () => {
    const cut = split([Buffer.from('{"a":1}\n{"a":')]);
    expect(cut.error).toBeInstanceOf(TransientError);
    expect((cut.error as TransientError).code).toBe('MP_EXPORT_TRUNCATED');
    const early = split([Buffer.from('{"a":1}\nterminated early')]);
    expect((early.error as TransientError).code).toBe('MP_EXPORT_TERMINATED_EARLY');
  });
});

describe('parseExportLine', () => {
  it('repairs raw control characters inside strings only, keeping the value', () => {
    expect(escapeControlCharsInStrings('{"a":\t"x\u0006y\\"\u0001"}')).toBe('{"a":\t"x\\u0006y\\"\\u0001"}');
    expect(parseExportLine('{"a":"x\u0006y"}')).toEqual({ ok: true, value: { a: 'x\u0006y' }, recovered: true, plain: true });
    expect(parseExportLine('{"n":1234567890123456789}')).toEqual({ ok: true, value: { n: 1234567890123456789n }, recovered: false, plain: false });
    expect(parseExportLine('terminated early').ok).toBe(false);
    expect(parseExportLine('{"a":').ok).toBe(false);
  });
});
