/**
 * Small pieces the remote stores share: the store-path rule, byte comparison, and the DataErrors for an object
 * that is missing or shorter than the log says.
 */
import { DataError, InternalError } from '../../connector-spec/index.js';

/** Store paths are relative, `/`-separated, with no empty, `.` or `..` segment (a bug in the caller otherwise). */
export function checkStorePath(path: string): void {
  const bad = path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').some((segment, index, all) => (segment === '' && index < all.length - 1) || segment === '.' || segment === '..');
  if (bad) {
    throw new InternalError(`Object store path "${path}" is not a relative /-separated path.`, { code: 'LAKEHOUSE_STORE_PATH', context: { path } });
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

export function missingObject(displayUrl: string, path: string): DataError {
  return new DataError(`${displayUrl}: ${path} is missing from the store. Fix: restore it, or repair the table that lists it (mixpanel-lakeflow repair <table>).`, {
    code: 'LAKEHOUSE_OBJECT_MISSING',
    context: { path },
  });
}

export function shortObject(displayUrl: string, path: string, offset: number, length: number, got: number): DataError {
  return new DataError(
    `${displayUrl}: ${path} is shorter than expected (asked for ${length} bytes at ${offset}, got ${got}). Fix: restore it, or repair the table that lists it (mixpanel-lakeflow repair <table>).`,
    { code: 'LAKEHOUSE_OBJECT_SHORT', context: { path, offset, length } },
  );
}

/** createUpload onto a path that holds another object: data files are never overwritten. */
export function objectExists(displayUrl: string, path: string): DataError {
  return new DataError(
    `${displayUrl}: ${path} already exists; a data file is never overwritten. Fix: run again (new files get new names); if it repeats, another writer is using the same file names.`,
    { code: 'LAKEHOUSE_OBJECT_EXISTS', context: { path } },
  );
}

export function checkRange(path: string, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
    throw new InternalError(`readRange(${path}, ${offset}, ${length}): offset and length must be non-negative integers.`, { code: 'LAKEHOUSE_STORE_RANGE', context: { path } });
  }
}

const SECRET_QUERY = /([?&;](?:sig|signature|se|st|sv|sp|spr|srt|ss|sr|skoid|sktid|skt|ske|sks|skv|saoid|suoid|scid|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&\s;"']*/gi;
const SECRET_PAIR = /((?:AccountKey|SharedAccessSignature|Signature|Credential)=)[^;,\s"']*/gi;

/** Text with SAS parameters, signatures and account keys blanked. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_QUERY, '$1<redacted>').replace(SECRET_PAIR, '$1<redacted>');
}

/**
 * A stand-in for an SDK error, for `cause`: its name and (redacted) message only. SDK errors carry the raw
 * request and response (signed headers, a SAS in the URL), which a logger serialising `cause` would print.
 */
export function leanCause(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(redactSecrets(String(error)));
  const lean = new Error(redactSecrets(error.message));
  lean.name = error.name;
  return lean;
}
