/**
 * Cuts an export body into chunks of complete lines (each ends with `\n`), about `target` bytes each, in exact-size
 * ArrayBuffers that can be transferred to a parse worker. Splits on `\n` bytes only, so a multi-byte UTF-8
 * character is never cut; what follows the last `\n` of the body is the unterminated tail (a cut stream).
 */
const NEWLINE = 0x0a;

export interface BodyChunk {
  /** Complete lines, exactly `byteLength` bytes, owned by the caller. */
  readonly bytes: ArrayBuffer;
  /** Offset of the chunk's first byte within the body. */
  readonly baseOffset: number;
}

export class ChunkFramer {
  private pieces: Buffer[] = [];
  private pending = 0;
  /** Body offset of the first pending byte. */
  private offset = 0;
  /** Body bytes seen so far. */
  bytes = 0;

  constructor(private readonly target: number) {
    if (!Number.isSafeInteger(target) || target < 1) throw new RangeError(`chunk target must be ≥ 1 byte, got ${target}`);
  }

  /** Add a piece of the body; returns a chunk once at least `target` bytes of complete lines are pending. */
  push(piece: Buffer): BodyChunk | null {
    this.bytes += piece.length;
    if (piece.length === 0) return null;
    this.pieces.push(piece);
    this.pending += piece.length;
    if (this.pending < this.target) return null;
    // The last newline: in the newest piece, else in an earlier one.
    for (let i = this.pieces.length - 1; i >= 0; i--) {
      const nl = this.pieces[i]!.lastIndexOf(NEWLINE);
      if (nl !== -1) return this.cut(i, nl + 1);
    }
    return null; // one line longer than target so far: keep reading
  }

  /** The body ended: the remaining complete lines (or null) and the unterminated tail (or null). */
  finish(): { readonly lines: BodyChunk | null; readonly tail: Buffer | null; readonly tailOffset: number } {
    let lines: BodyChunk | null = null;
    for (let i = this.pieces.length - 1; i >= 0 && lines === null; i--) {
      const nl = this.pieces[i]!.lastIndexOf(NEWLINE);
      if (nl !== -1) lines = this.cut(i, nl + 1);
    }
    const tailOffset = this.offset;
    const tail = this.pending > 0 ? Buffer.concat(this.pieces, this.pending) : null;
    this.pieces = [];
    this.pending = 0;
    return { lines, tail, tailOffset };
  }

  /** Take pieces[0 .. last-1] and pieces[last][0 .. end) as one chunk; keep the rest. */
  private cut(last: number, end: number): BodyChunk {
    let size = end;
    for (let i = 0; i < last; i++) size += this.pieces[i]!.length;
    const out = Buffer.allocUnsafeSlow(size); // its own ArrayBuffer (transferable), not zero-filled: every byte is set below
    let at = 0;
    for (let i = 0; i < last; i++) {
      out.set(this.pieces[i]!, at);
      at += this.pieces[i]!.length;
    }
    const lastPiece = this.pieces[last]!;
    out.set(lastPiece.subarray(0, end), at);
    const rest = lastPiece.subarray(end);
    this.pieces = rest.length > 0 ? [rest, ...this.pieces.slice(last + 1)] : this.pieces.slice(last + 1);
    this.pending -= size;
    const chunk = { bytes: out.buffer as ArrayBuffer, baseOffset: this.offset };
    this.offset += size;
    return chunk;
  }
}
