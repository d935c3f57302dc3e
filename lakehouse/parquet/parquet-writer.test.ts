/**
 * The Parquet writer streams into an Upload: bytes arrive chunk by chunk while batches are still being written
 * (never the whole file at close), close() finishes the upload once, abort() aborts it, a failing upload fails
 * the writer, and the fault hook sees every chunk.
 */
import { Field, Int64, Schema, Utf8, tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromColumns } from '../../connector-spec/index.js';
import type { StoredObject, Upload } from '../storage/types.js';
import { PIECE_ROWS, ROW_GROUP_ROWS, ParquetFileWriter } from './parquet-writer.js';
import { loadParquetWasm } from './parquet-wasm.js';
import { EncoderWorker } from './parquet-encoder.js';

class RecordingUpload implements Upload {
  readonly chunks: number[] = [];
  readonly bytes: Uint8Array[] = [];
  closed = 0;
  aborted = 0;
  failAt = -1;

  async write(chunk: Uint8Array): Promise<void> {
    if (this.chunks.length === this.failAt) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    this.chunks.push(chunk.byteLength);
    this.bytes.push(chunk.slice());
  }

  async close(): Promise<StoredObject> {
    this.closed++;
    return { path: 'x.parquet', size: this.chunks.reduce((a, b) => a + b, 0), modifiedMs: 0 };
  }

  async abort(): Promise<void> {
    this.aborted++;
  }
}

const schema = new Schema([new Field('k', new Utf8(), false), new Field('n', new Int64(), true)]);
const batch = (from: number, count: number) =>
  batchFromColumns(schema, [Array.from({ length: count }, (_, i) => `key-${from + i}-${(from + i) * 7919}`), Array.from({ length: count }, (_, i) => BigInt(from + i))]);

describe('ParquetFileWriter into an Upload', () => {
  for (const mode of ['in-thread', 'worker'] as const) {
    it(`${mode}: hands the file to the upload chunk by chunk, then closes it once`, async () => {
      const encoder = mode === 'worker' ? new EncoderWorker() : undefined;
      try {
        const upload = new RecordingUpload();
        const points: string[] = [];
        const writer = await ParquetFileWriter.open({ upload, keyValueMetadata: new Map(), faults: { check: (p) => points.push(p) }, ...(encoder ? { encoder } : {}) });
        for (let g = 0; g < 4; g++) await writer.write(batch(g * ROW_GROUP_ROWS, ROW_GROUP_ROWS));
        const written = await writer.close();
        // Streamed: many chunks (row groups are flushed as they fill), none of them the whole file.
        expect(upload.chunks.length).toBeGreaterThan(4);
        expect(Math.max(...upload.chunks)).toBeLessThan(written.bytes / 2);
        expect(upload.closed).toBe(1);
        expect(upload.aborted).toBe(0);
        expect(written).toEqual({ path: 'x.parquet', rows: 4 * ROW_GROUP_ROWS, bytes: upload.chunks.reduce((a, b) => a + b, 0) });
        expect(points.filter((p) => p === 'parquet-write').length).toBe(upload.chunks.length);
        expect(points.at(-1)).toBe('staged');
      } finally {
        await encoder?.terminate();
      }
    });
  }

  it('abort() aborts the upload and never closes it', async () => {
    const upload = new RecordingUpload();
    const writer = await ParquetFileWriter.open({ upload, keyValueMetadata: new Map() });
    await writer.write(batch(0, 100));
    await writer.abort();
    expect(upload).toMatchObject({ closed: 0, aborted: 1 });
  });

  it('a failing upload fails the writer and the upload is aborted, not closed', async () => {
    expect.hasAssertions();
    const upload = new RecordingUpload();
    upload.failAt = 1;
    const writer = await ParquetFileWriter.open({ upload, keyValueMetadata: new Map() });
    const error = await (async () => {
      for (let g = 0; g < 4; g++) await writer.write(batch(g * ROW_GROUP_ROWS, ROW_GROUP_ROWS));
      await writer.close();
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOSPC' });
    await writer.abort();
    expect(upload.closed).toBe(0);
    expect(upload.aborted).toBeGreaterThan(0);
  });
});

describe('worker-encoded files: batches go in pieces, through transfer buffers the worker hands back', () => {
  it('a batch larger than a piece and many small ones arrive whole and in order, and the transfer buffers are reused', async () => {
    const encoder = new EncoderWorker();
    try {
      const upload = new RecordingUpload();
      const writer = await ParquetFileWriter.open({ upload, keyValueMetadata: new Map(), encoder });
      const sizes = [3 * PIECE_ROWS + 17, ...Array.from({ length: 40 }, (_, i) => 500 + i * 37)];
      let rows = 0;
      for (const n of sizes) {
        await writer.write(batch(rows, n));
        rows += n;
      }
      await writer.close();
      const { readParquet } = await loadParquetWasm();
      const file = new Uint8Array(Buffer.concat(upload.bytes));
      const table = tableFromIPC(readParquet(file).intoIPCStream());
      expect(table.numRows).toBe(rows);
      const n = table.getChild('n')!;
      const k = table.getChild('k')!;
      for (const r of [0, PIECE_ROWS - 1, PIECE_ROWS, 3 * PIECE_ROWS + 16, 3 * PIECE_ROWS + 17, rows - 1]) {
        expect(n.get(r)).toBe(BigInt(r));
        expect(k.get(r)).toBe(`key-${r}-${r * 7919}`);
      }
      // 44 messages (4 pieces of the large batch, 40 small batches); without the buffers coming back, 44 buffers.
      const { allocated, spare } = encoder.transferBuffers;
      expect(allocated).toBeLessThanOrEqual(8);
      expect(spare).toBeGreaterThan(0);
    } finally {
      await encoder.terminate();
    }
  });
});
