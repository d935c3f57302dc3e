/** The export body as one Readable: gunzipped when needed, failures turned into TransientError. */
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TransientError } from '../../../connector-spec/index.js';
import { ERROR_CODE_PREFIX } from './errors.js';
import { EXPORT_PATH } from './hosts.js';
import { describeNetworkError } from './retry.js';

/**
 * The body, gunzipped when needed, as one Readable with backpressure. A reset, a body timeout or a cut gzip
 * destroys it with a TransientError. Destroying it aborts the request.
 */
export function decodedBody(body: Readable, gzip: boolean, what: string): Readable {
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  const gunzip = gzip ? createGunzip() : undefined;
  let failed = false;
  const fail = (cause: unknown): void => {
    if (failed) return;
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
  body.once('error', fail);
  gunzip?.once('error', fail);
  out.once('close', () => {
    if (!body.destroyed) body.destroy();
    if (gunzip && !gunzip.destroyed) gunzip.destroy();
  });
  if (gunzip) body.pipe(gunzip).pipe(out);
  else body.pipe(out);
  return out;
}

