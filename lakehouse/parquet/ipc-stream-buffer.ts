/**
 * One batch as an Arrow IPC stream (schema, the batch, end of stream), written into a buffer this object keeps and
 * reuses: the bytes `tableToIPC` gives, without its fresh buffer per call. The encoder on the calling thread copies
 * each stream into WebAssembly memory at once (`Table.fromIPCStream`), so one buffer serves every batch of a file.
 * A fresh ~12 MB buffer per 16k-row events batch cost 89–529 ms per 262k real-shaped rows on the bench's VM;
 * written into the reused one, the same bytes took 26–31 ms (README, Measured, R).
 *
 * apache-arrow's stream writer hands every piece (message headers, padding, the body buffers) to its protected
 * `_write`; the subclass keeps the pieces instead of queueing them, and they are copied once into the buffer.
 */
import { RecordBatchStreamWriter, Table, type RecordBatch } from 'apache-arrow';

/** A stream writer that keeps the pieces it writes (views of the batch's buffers and of its own headers). */
class PieceCollector extends RecordBatchStreamWriter {
  readonly pieces: Uint8Array[] = [];
  length = 0;

  protected override _write(chunk: unknown): this {
    if (!this._started) return this;
    if (!ArrayBuffer.isView(chunk)) throw new TypeError('IPC stream writer: expected a byte view from apache-arrow');
    if (chunk.byteLength > 0) {
      this.pieces.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.length += chunk.byteLength;
      this._position += chunk.byteLength;
    }
    return this;
  }
}

/** `batch` as one IPC stream, not yet copied anywhere: its pieces and their total length. */
export interface IpcPieces {
  readonly pieces: readonly Uint8Array[];
  readonly length: number;
}

export function ipcPiecesOf(batch: RecordBatch): IpcPieces {
  const writer = new PieceCollector();
  writer.writeAll(new Table([batch]));
  return { pieces: writer.pieces, length: writer.length };
}

/** Copy the pieces into `into` (at least `length` bytes); returns the view of the stream. */
export function copyPieces({ pieces, length }: IpcPieces, into: Uint8Array): Uint8Array {
  if (into.byteLength < length) throw new RangeError(`IPC stream of ${length} bytes does not fit in ${into.byteLength}`);
  let at = 0;
  for (const piece of pieces) {
    into.set(piece, at);
    at += piece.byteLength;
  }
  return into.subarray(0, at);
}

export class IpcStreamBuffer {
  #buffer = new Uint8Array(0);

  /** `batch` as one IPC stream: a view of this object's buffer, valid until the next call or `release()`. */
  streamOf(batch: RecordBatch): Uint8Array {
    const stream = ipcPiecesOf(batch);
    if (this.#buffer.byteLength < stream.length) this.#buffer = new Uint8Array(Math.ceil(stream.length * 1.25));
    return copyPieces(stream, this.#buffer);
  }

  /** Let the buffer go (a finished file). */
  release(): void {
    this.#buffer = new Uint8Array(0);
  }
}
