import { describe, expect, it } from 'vitest';
import { backoffMs, isHourlyQuotaMessage, isRetryableNetworkError, parseRetryAfterMs } from './retry.js';

describe('retry arithmetic', () => {
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfterMs('2', 0)).toBe(2000);
    expect(parseRetryAfterMs(['7'], 0)).toBe(7000);
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z'))).toBe(60_000);
    expect(parseRetryAfterMs(undefined, 0)).toBeUndefined();
    expect(parseRetryAfterMs('soon', 0)).toBeUndefined();
  });

  it('recognises an exhausted hourly quota only', () => {
    expect(isHourlyQuotaMessage('Query rate limit exceeded. 61/60 queries running in the last hour')).toBe(true);
    expect(isHourlyQuotaMessage('Export rate limit exceeded for project_id: 1. 4/3 queries in the last second and 5/60 queries in the last hour.')).toBe(false);
    expect(isHourlyQuotaMessage('Export rate limit exceeded for project_id: 1. 1/3 queries in the last second and 61/60 queries in the last hour.')).toBe(true);
    expect(isHourlyQuotaMessage('too many export requests in progress for this project')).toBe(false);
  });

  it('backs off exponentially with bounded jitter', () => {
    expect(backoffMs(1, 1000, 60_000, 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, 0.999)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, 0)).toBe(2000);
    expect(backoffMs(20, 1000, 60_000, 0.5)).toBe(45_000);
  });

  it('classifies connection errors, including wrapped causes', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableNetworkError(new Error('x', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isRetryableNetworkError(new TypeError('bad'))).toBe(false);
  });
});
