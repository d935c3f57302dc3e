/**
 * JSONL framing for the export body: split on `\n` bytes only (never U+2028, U+0085 or other Unicode line
 * breaks), decode UTF-8 per complete line (a multi-byte character split across chunks stays intact), parse
 * losslessly, and recover lines whose strings hold raw control characters (escaped, value preserved).
 */
import { TransientError } from '../../../connector-spec/index.js';
import { parseJsonLosslessReporting } from '../json.js';

const NEWLINE = 0x0a;

/** Receives each complete line (without `\n`). */
export interface LineSink {
  line(text: string, byteOffset: number): void;
}

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Byte offset of the start of the carried (incomplete) line. */
  private offset = 0;
  bytes = 0;

  /** @param startOffset byte offset of the first pushed byte within the whole body (offsets in errors are body-wide) */
  constructor(
    private readonly sink: LineSink,
    startOffset = 0,
  ) {
    this.offset = startOffset;
    this.bytes = startOffset;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let start = 0;
    let nl = chunk.indexOf(NEWLINE, start);
    while (nl !== -1) {
      let text: string;
      if (this.carryBytes > 0) {
        this.carry.push(chunk.subarray(start, nl));
        text = Buffer.concat(this.carry, this.carryBytes + nl - start).toString('utf8');
        this.carry = [];
        this.carryBytes = 0;
      } else {
        text = chunk.toString('utf8', start, nl);
      }
      const lineOffset = this.offset;
      this.offset = this.bytes - chunk.length + nl + 1;
      this.sink.line(text, lineOffset);
      start = nl + 1;
      nl = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      this.carry.push(chunk.subarray(start));
      this.carryBytes += chunk.length - start;
    }
  }

  /** The body ended: anything left means the last line has no `\n`, so the body did not end cleanly. */
  finish(what: string): void {
    if (this.carryBytes === 0) return;
    const tail = Buffer.concat(this.carry, this.carryBytes).toString('utf8');
    this.carry = [];
    this.carryBytes = 0;
    throw unterminatedTail(tail, what, this.offset, this.bytes);
  }
}

/**
 * The error for a body whose last line has no `\n` (`tail`, starting at byte `tailOffset` of a body of
 * `bodyBytes`): Mixpanel's "terminated early" notice, or a cut stream. Both are retried.
 */
export function unterminatedTail(tail: string, what: string, tailOffset: number, bodyBytes: number): TransientError {
  if (isTerminatedEarly(tail)) return terminatedEarly(what, tailOffset);
  return new TransientError(`The export body ${what} ended without a final newline at byte ${bodyBytes} (a cut stream): the slice is retried`, {
    code: 'MP_EXPORT_TRUNCATED',
    context: { table: 'events', window: what, byteOffset: tailOffset },
  });
}

export function isTerminatedEarly(line: string): boolean {
  return !line.trimStart().startsWith('{') && /terminated early/i.test(line);
}

export function terminatedEarly(what: string, byteOffset: number): TransientError {
  return new TransientError(`Mixpanel ended the export ${what} with "terminated early" at byte ${byteOffset}: the slice is retried (and split if it keeps failing)`, {
    code: 'MP_EXPORT_TERMINATED_EARLY',
    context: { table: 'events', window: what, byteOffset },
  });
}

/**
 * Escape raw control characters (U+0000–U+001F) that appear inside JSON strings; outside strings they are left
 * alone (whitespace stays whitespace). Returns the input when nothing changed.
 */
export function escapeControlCharsInStrings(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!inString) {
      if (c === 0x22) inString = true;
      continue;
    }
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c === 0x5c) escaped = true;
    else if (c === 0x22) inString = false;
    else if (c < 0x20) {
      out += text.slice(last, i) + '\\u' + c.toString(16).padStart(4, '0');
      last = i + 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * `plain`: the line has no number that `JSON.parse` could round (no parsed number beyond ±(2^53 − 1), see
 * `holdsRoundedNumber`), so the `JSON.parse` result was kept and holds no bigint/LosslessNumber.
 */
export type ParsedLine = { readonly ok: true; readonly value: unknown; readonly recovered: boolean; readonly plain: boolean } | { readonly ok: false; readonly error: string };

const parseLine = parseJsonLosslessReporting;

/** Parse one export line losslessly; retry once with raw control characters escaped. */
export function parseExportLine(text: string): ParsedLine {
  try {
    const { value, plain } = parseLine(text);
    return { ok: true, value, recovered: false, plain };
  } catch (error) {
    const escaped = escapeControlCharsInStrings(text);
    if (escaped !== text) {
      try {
        const { value, plain } = parseLine(escaped);
        return { ok: true, value, recovered: true, plain };
      } catch {
        // fall through
      }
    }
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
