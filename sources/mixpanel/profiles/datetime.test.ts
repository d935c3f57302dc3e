import { describe, expect, it } from 'vitest';
import { formatWhereDatetime, parseProfileDatetime } from './datetime.js';

const T = Date.UTC(2024, 0, 2, 3, 4, 5);

describe('parseProfileDatetime', () => {
  it.each([
    ['2024-01-02T03:04:05', T],
    ['2024-01-02 03:04:05', T],
    ['2024-01-02T03:04:05Z', T],
    ['2024-01-02T05:04:05+02:00', T],
    ['2024-01-01T22:04:05-0500', T],
    ['2024-01-02T03:04:05.250', T + 250],
    ['2024-01-02', Date.UTC(2024, 0, 2)],
    [1704164645, T],
    ['1704164645', T],
    [1704164645123, T + 123],
  ])('%s', (input, expected) => {
    expect(parseProfileDatetime(input)).toBe(expected);
  });

  it.each([['yesterday'], ['2024-13-01T00:00:00'], ['2024-02-30 00:00:00'], [''], [true], [null], [{ a: 1 }], [Number.NaN]])('rejects %s', (input) => {
    expect(parseProfileDatetime(input)).toBeNull();
  });

  it('formats where bounds in UTC without offset', () => {
    expect(formatWhereDatetime(T + 999)).toBe('2024-01-02T03:04:05');
  });
});
