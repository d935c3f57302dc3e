/** The export body as one Readable: gunzipped when needed, failures turned into TransientError. */
import { PassThrough, finished, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TransientError } from '../../../connector-spec/index.js';
import { ERROR_CODE_PREFIX } from './errors.js';
import { EXPORT_PATH } from './hosts.js';
import { describeNetworkError } from './retry.js';

/** Output chunk size of the gunzip stream: fewer, larger chunks for the line splitter (zlib's default is 16 KiB). */
const GUNZIP_CHUNK = 128 * 1024;

/**
 * The body, gunzipped when needed, as one Readable with backpressure. A reset, a body timeout or a cut gzip
 * destroys it with a TransientError. Destroying it aborts the request. An empty body stays empty even when it is
 * labelled `Content-Encoding: gzip` (an export with no events): zero bytes are not a cut gzip stream.
 */
export function decodedBody(body: Readable, gzip: boolean, what: string): Readable {
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  const gunzip = gzip ? createGunzip({ chunkSize: GUNZIP_CHUNK }) : undefined;
  let failed = false;
  let received = 0;
  let bodyEnded = false;
  if (gunzip) {
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    body.once('end', () => {
      bodyEnded = true;
    });
  }
  const fail = (cause: unknown): void => {
    if (failed) return;
    if (gunzip && bodyEnded && received === 0 && cause === gunzipError) {
      // Nothing was sent: an empty body, not a broken stream.
      failed = true;
      gunzip.unpipe(out);
      out.end();
      return;
    }
    failed = true;
    if (cause instanceof Error && cause.name === 'AbortError') {
      // The caller aborted: not a broken stream, and not to be retried.
      out.destroy(cause);
      body.destroy();
      gunzip?.destroy();
      return;
    }
    out.destroy(
      new TransientError(`The export stream ${what} broke off (${describeNetworkError(cause)}): the slice is retried`, {
        code: `${ERROR_CODE_PREFIX}_STREAM_BROKEN`,
        context: { path: EXPORT_PATH },
        cause,
      }),
    );
    body.destroy();
    gunzip?.destroy();
  };
  let gunzipError: unknown;
  // `finished` also reports a body that already failed before we got it (a reset while the call was being handed
  // over): an 'error' listener attached now would never hear of it, and the read would hang instead of failing.
  finished(body, { writable: false }, (error) => {
    if (error) fail(error);
  });
  gunzip?.once('error', (error) => {
    gunzipError = error;
    fail(error);
  });
  out.once('close', () => {
    if (!body.destroyed) body.destroy();
    if (gunzip && !gunzip.destroyed) gunzip.destroy();
  });
  if (gunzip) body.pipe(gunzip).pipe(out);
  else body.pipe(out);
  return out;
}

