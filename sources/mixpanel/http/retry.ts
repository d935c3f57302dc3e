/** Pure retry arithmetic: Retry-After parsing, the hourly "N/60" 429, exponential backoff with jitter. */

/** `Retry-After` as seconds or an HTTP date → ms to wait (≥ 0), or undefined when absent/unparseable. */
export function parseRetryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * True when a 429 body says the hourly quota is used up: a count over its limit next to "hour"
 * ("61/60 queries running in the last hour"). A body that only reports the hour count under its limit
 * ("4/3 queries in the last second and 5/60 queries in the last hour") is not hourly.
 */
export function isHourlyQuotaMessage(body: string): boolean {
  for (const m of body.matchAll(/(\d+)\s*\/\s*(\d+)([^\d\/]*?)\b(hour|second|minute)s?\b/gi)) {
    if (m[4]!.toLowerCase() === 'hour' && Number(m[1]) > Number(m[2])) return true;
  }
  return false;
}

/**
 * Exponential backoff with full jitter in [base·2^(attempt-1)/2, base·2^(attempt-1)], capped.
 * `attempt` counts from 1. `random` ∈ [0, 1).
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/**
 * Connection-level failures worth retrying with backoff (undici / node error codes), before any body byte was
 * used. A refused connection or a failed DNS lookup is not among them: see `unreachableCode`.
 */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The first error `code` in `error`, its `cause` chain and an AggregateError's `errors` that `wanted` holds. */
function findCode(error: unknown, wanted: ReadonlySet<string>, depth = 0): string | undefined {
  if (error === null || typeof error !== 'object' || depth > 8) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && wanted.has(code)) return code;
  // Node's happy-eyeballs connect (IPv6 and IPv4 tried in turn) fails with an AggregateError of both attempts.
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = findCode(inner, wanted, depth + 1);
      if (found !== undefined) return found;
    }
  }
  const cause = (error as { cause?: unknown }).cause;
  return cause !== error ? findCode(cause, wanted, depth + 1) : undefined;
}

export function isRetryableNetworkError(error: unknown): boolean {
  return findCode(error, RETRYABLE_CODES) !== undefined;
}

/**
 * A refused connection or a failed DNS lookup: the host cannot be reached at all. Waiting minutes, or asking for
 * a smaller slice, cannot fix that (issue 19: 146 s and 30 calls for one refused port), so the client tries only
 * `UNREACHABLE_RETRY_WAITS_MS.length` more times, quickly, and then fails with MP_UNREACHABLE.
 */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']);

/** Waits before the quick retries of an unreachable host (a restarting proxy or a DNS blip gets a second chance). */
export const UNREACHABLE_RETRY_WAITS_MS: readonly number[] = Object.freeze([250, 1_000]);

/** `ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, … when `error` says the host cannot be reached, else undefined. */
export function unreachableCode(error: unknown): string | undefined {
  return findCode(error, UNREACHABLE_CODES);
}

const HEADERS_TIMEOUT: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT']);

/** undici gave up waiting for the response headers: the server is working on the request (maybe too large a one). */
export function isHeadersTimeout(error: unknown): boolean {
  return findCode(error, HEADERS_TIMEOUT) !== undefined;
}

/** A short, secret-free description of a network error (code + message). */
export function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
