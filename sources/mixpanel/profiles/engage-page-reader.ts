/**
 * An Engage page read as its body arrives, profile by profile, never as one string.
 *
 * A page of 1,000 profiles is ~0.5 MB of text. Read whole (`body.text()`, then `JSON.parse`), each page is one
 * fresh buffer and one string too large for V8's regular heap: new memory every page, and on a VM every 4 KiB of it
 * is a page fault (1M profiles: ~200k faults, ~3 s of system time). Here the body is decoded in small pieces; the
 * page's envelope (everything but the items of `results`) is kept as text, and each item of `results` is cut out
 * and parsed as soon as it is complete. Same result as parsing the whole text: every item and the envelope pass
 * `JSON.parse`, and the separators between items are checked here, so a cut or damaged body is a `SyntaxError`
 * (which the client retries like any body that is not JSON).
 */
import { isJsonSpace, parseJsonLossless, parseJsonRecordLossless } from '../json.js';
import { engagePageOf, profileRecordOf, type EngagePage, type ProfileRecord } from './engage-response.js';

/** Bytes decoded at a time: a piece's string stays a regular V8 object, even when it is two-byte. */
const PIECE_BYTES = 32 * 1024;
/** Member names longer than this (as written) are not `results`, even with escapes. */
const MAX_NAME_CHARS = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Depth inside the `results` array (the page's object is depth 1). */
const ITEMS_DEPTH = 2;

/** Where the reader stands in the `results` array. */
const enum At {
  /** Not inside the `results` array. */
  Outside,
  /** After its `[`: an item or `]`. */
  First,
  /** After an item: `,` or `]`. */
  AfterItem,
  /** After `,`: an item. */
  Next,
  /** Inside an item. */
  Item,
}

const enum ItemKind {
  /** An object or array: ends when its bracket closes. */
  Container,
  String,
  /** A number or literal: ends at the next separator. */
  Primitive,
}

/** Is s[start, q) ended by an odd run of backslashes (with `carry`: one more before `start`)? */
function oddRun(s: string, start: number, q: number, carry: boolean): boolean {
  let k = q - 1;
  while (k >= start && s.charCodeAt(k) === BACKSLASH) k--;
  const run = q - 1 - k;
  return (k < start ? run + (carry ? 1 : 0) : run) % 2 === 1;
}

/** The index of the quote that closes a string from `j` on (`carry`: s[j] is escaped), or -1 when `s` ends first. */
function closingQuote(s: string, j: number, carry: boolean): number {
  const start = j;
  for (;;) {
    const q = s.indexOf('"', j);
    if (q < 0 || !oddRun(s, start, q, carry)) return q;
    j = q + 1;
  }
}

function isResults(rawName: string): boolean {
  if (rawName === 'results') return true;
  if (!rawName.includes('\\') || rawName.length > MAX_NAME_CHARS) return false;
  try {
    return JSON.parse(`"${rawName}"`) === 'results';
  } catch {
    return false;
  }
}

export class EngagePageReader {
  /**
   * UTF-8 → text across chunk boundaries. `TextDecoder` in streaming mode decoded the bench's profile pages 1.8×
   * faster than `StringDecoder` (200 MB in 32 KiB pieces: 339–365 against 603–643 ms). `ignoreBOM`: a byte order mark
   * stays in the text, and `scan` skips it (as undici's `text()` does).
   */
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** The page's text without the items of `results` (their array left as `[]`). */
  private envelope = '';
  private records: ProfileRecord[] = [];
  /** Depth of `{`/`[` outside strings. */
  private depth = 0;
  /** The page's object has closed: only whitespace may follow. */
  private closed = false;
  private inString = false;
  /** The string continues from the last piece, which ended in an odd run of backslashes. */
  private escapeCarry = false;
  /** Collecting a depth-1 string (a member name, when a value follows). */
  private nameOpen = false;
  private name = '';
  /** The last depth-1 string: the name of the member whose value comes next. */
  private lastName = '';
  private at = At.Outside;
  private itemKind = ItemKind.Container;
  /** The current item's text from earlier pieces. */
  private itemHead = '';
  private started = false;

  constructor(private readonly table: string) {}

  /** Feed a chunk of the body. Throws SyntaxError (the body is not JSON) or DataError (not an Engage page). */
  write(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length; off += PIECE_BYTES) {
      const piece = this.decoder.decode(chunk.subarray(off, Math.min(chunk.length, off + PIECE_BYTES)), { stream: true });
      if (piece.length > 0) this.scan(piece);
    }
  }

  /** The page, once the whole body was written. */
  end(): EngagePage {
    const rest = this.decoder.decode();
    if (rest.length > 0) this.scan(rest);
    if (!this.closed) throw new SyntaxError('the Engage page ends before its closing bracket');
    // Checks everything outside the items (members, brackets, what follows the page) and gives its values.
    return engagePageOf(parseJsonLossless(this.envelope), this.records, this.table);
  }

  private scan(s: string): void {
    const n = s.length;
    /** Start of this piece's text not yet copied to the envelope or to the item. */
    let from = 0;
    let i = 0;
    if (!this.started) {
      this.started = true;
      // A UTF-8 byte order mark is skipped, as undici's text() skips it.
      if (s.charCodeAt(0) === 0xfeff) from = i = 1;
    }
    if (this.inString) {
      const q = closingQuote(s, 0, this.escapeCarry);
      if (q < 0) {
        this.escapeCarry = oddRun(s, 0, n, this.escapeCarry);
        this.addToName(s, 0, n);
        this.keep(s, 0, n);
        return;
      }
      this.inString = false;
      this.addToName(s, 0, q);
      i = q + 1;
      from = this.stringClosed(s, from, i);
    }
    while (i < n) {
      const c = s.charCodeAt(i);
      if (this.closed) {
        if (!isJsonSpace(c)) throw new SyntaxError('unexpected text after the Engage page');
        i++;
        continue;
      }
      if (this.depth === ITEMS_DEPTH && this.at !== At.Outside) {
        if (this.at === At.Item) {
          if (this.itemKind === ItemKind.Primitive) {
            if (c === COMMA || c === CLOSE_ARRAY || isJsonSpace(c)) {
              from = this.itemEnded(s, from, i); // the separator is read again, between items
              continue;
            }
            i++;
            continue;
          }
        } else {
          // Between items: the separators are checked here (the envelope's JSON.parse sees only `[]`).
          if (isJsonSpace(c)) {
            i++;
            continue;
          }
          if (c === COMMA) {
            if (this.at !== At.AfterItem) throw new SyntaxError('unexpected "," in the results of the Engage page');
            this.envelope += s.slice(from, i);
            from = i + 1;
            this.at = At.Next;
            i++;
            continue;
          }
          if (c === CLOSE_ARRAY) {
            if (this.at === At.Next) throw new SyntaxError('unexpected "]" after "," in the results of the Engage page');
            this.at = At.Outside;
            this.depth--;
            i++;
            continue;
          }
          if (this.at === At.AfterItem) throw new SyntaxError('expected "," or "]" after a result of the Engage page');
          // An item starts.
          this.envelope += s.slice(from, i);
          from = i;
          this.at = At.Item;
          this.itemKind = c === OPEN_OBJECT || c === OPEN_ARRAY ? ItemKind.Container : c === QUOTE ? ItemKind.String : ItemKind.Primitive;
          if (this.itemKind === ItemKind.Primitive) {
            i++;
            continue;
          }
        }
      }
      if (c === QUOTE) {
        if (this.depth === 1) {
          this.nameOpen = true;
          this.name = '';
        }
        const q = closingQuote(s, i + 1, false);
        if (q < 0) {
          this.inString = true;
          this.escapeCarry = oddRun(s, i + 1, n, false);
          this.addToName(s, i + 1, n);
          break;
        }
        this.addToName(s, i + 1, q);
        i = q + 1;
        from = this.stringClosed(s, from, i);
        continue;
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.depth++;
        if (c === OPEN_ARRAY && this.depth === ITEMS_DEPTH && isResults(this.lastName)) {
          // `results`: its items are cut out; the envelope keeps this `[` and the `]` that closes it.
          this.at = At.First;
          this.records = []; // a repeated `results` member: the last one counts, as in JSON.parse
        }
        this.lastName = '';
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (this.depth === 0) throw new SyntaxError(`unexpected "${String.fromCharCode(c)}" in the Engage page`);
        this.depth--;
        if (this.depth === 0) this.closed = true;
        if (this.depth === ITEMS_DEPTH && this.at === At.Item) {
          i++;
          from = this.itemEnded(s, from, i);
          continue;
        }
      }
      i++;
    }
    this.keep(s, from, n);
  }

  /** A string closed just before `end`; returns the new `from` (moved when the string was an item). */
  private stringClosed(s: string, from: number, end: number): number {
    if (this.nameOpen) {
      this.nameOpen = false;
      this.lastName = this.name;
    }
    if (this.depth === ITEMS_DEPTH && this.at === At.Item && this.itemKind === ItemKind.String) return this.itemEnded(s, from, end);
    return from;
  }

  private addToName(s: string, from: number, to: number): void {
    if (this.nameOpen && this.name.length <= MAX_NAME_CHARS) this.name += s.slice(from, Math.min(to, from + MAX_NAME_CHARS + 1 - this.name.length));
  }

  /** The rest of a piece: part of the current item, or of the envelope. */
  private keep(s: string, from: number, to: number): void {
    if (from >= to) return;
    if (this.at === At.Item) this.itemHead += s.slice(from, to);
    else this.envelope += s.slice(from, to);
  }

  /** The current item ends at `to` (its text: `itemHead` + s[from, to)). Returns `to`, the new `from`. */
  private itemEnded(s: string, from: number, to: number): number {
    const text = this.itemHead === '' ? s.slice(from, to) : this.itemHead + s.slice(from, to);
    this.itemHead = '';
    this.at = At.AfterItem;
    this.records.push(profileRecordOf(parseJsonRecordLossless(text), this.table));
    return to;
  }
}
