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

/** Connection-level failures worth retrying (undici / node error codes), before any body byte was used. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export function isRetryableNetworkError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isRetryableNetworkError(cause);
}

/** A short, secret-free description of a network error (code + message). */
export function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
