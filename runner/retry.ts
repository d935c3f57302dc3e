/** Retry policy for a failed `readTable` call: retryable errors only, bounded attempts, backoff or Retry-After. */
import { RateLimitError, isConnectorError } from '../connector-spec/index.js';

export interface RetryPolicy {
  /** Total attempts per call, first included. */
  readonly attempts: number;
  /** Backoff before attempt n+1 is baseDelayMs · 2^(n−1). */
  readonly baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 2_000 };

export function isRetryable(error: unknown): boolean {
  return isConnectorError(error) && error.retryable;
}

/** Milliseconds to wait before the next attempt after `attempt` failed with `error`. */
export function retryDelayMs(error: unknown, attempt: number, policy: RetryPolicy): number {
  if (error instanceof RateLimitError) return Math.max(0, error.retryAfterMs);
  return policy.baseDelayMs * 2 ** (attempt - 1);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
