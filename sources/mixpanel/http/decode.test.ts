import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../connector-spec/index.js';
import { decodedBody } from './decode.js';

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const text = Array.from({ length: 500 }, (_, i) => `{"event":"e","properties":{"i":${i}}}`).join('\n') + '\n';

describe('decodedBody', () => {
  it('gunzips a complete body', async () => {
    const body = new PassThrough();
    body.end(gzipSync(Buffer.from(text)));
    expect(await collect(decodedBody(body, true, 'test'))).toBe(text);
  });

  it('turns a cut gzip stream and a reset into TransientError', async () => {
    const zipped = gzipSync(Buffer.from(text));
    const cut = new PassThrough();
    cut.end(zipped.subarray(0, zipped.length - 10));
    const cutError = await collect(decodedBody(cut, true, 'cut')).catch((e: unknown) => e);
    expect(cutError).toBeInstanceOf(TransientError);
    expect((cutError as TransientError).code).toBe('MP_STREAM_BROKEN');

    const reset = new PassThrough();
    reset.write(Buffer.from(text.slice(0, 100)));
    setImmediate(() => reset.destroy(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })));
    const resetError = await collect(decodedBody(reset, false, 'reset')).catch((e: unknown) => e);
    expect(resetError).toBeInstanceOf(TransientError);
    expect((resetError as Error).message).toContain('UND_ERR_SOCKET');
  });
});

describe('decodedBody with an empty body', () => {
  it('reads an empty body labelled gzip as empty (no error, so the slice is not split)', async () => {
    const body = new PassThrough();
    body.end();
    expect(await collect(decodedBody(body, true, 'empty'))).toBe('');
    const plain = new PassThrough();
    plain.end();
    expect(await collect(decodedBody(plain, false, 'empty'))).toBe('');
  });

  it('still fails a gzip body that is cut after some bytes', async () => {
    const zipped = gzipSync(Buffer.from(text));
    const cut = new PassThrough();
    cut.end(zipped.subarray(0, 5));
    const error = await collect(decodedBody(cut, true, 'cut')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
  });
});
