import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../connector-spec/index.js';
import { parseProfileCursor, profileCursorJson } from './profile-cursor.js';
import { isFullRefreshDue, scanWhere } from './profile-read.js';

describe('profile cursor', () => {
  it('round-trips with a fixed key order', () => {
    const c = { v: 1 as const, last_seen_ms: 5, window_digest: '00000000000000ff', last_full_refresh_ms: null, known_ids: ['a'] };
    const json = profileCursorJson(c);
    expect(JSON.stringify(json)).toBe('{"v":1,"last_seen_ms":5,"window_digest":"00000000000000ff","last_full_refresh_ms":null,"known_ids":["a"]}');
    expect(parseProfileCursor(json, 'engage')).toEqual(c);
  });

  it('start cursors are null; foreign cursors are a ConfigError naming the fix', () => {
    expect(parseProfileCursor(null, 'engage')).toBeNull();
    expect(parseProfileCursor({}, 'engage')).toBeNull();
    expect(() => parseProfileCursor({ last_seen: '2024-01-01', page: 0 }, 'engage')).toThrow(ConfigError);
    expect(() => parseProfileCursor({ v: 1, last_seen_ms: 'x' }, 'engage')).toThrow(/full refresh/);
  });

  it('full refresh is due on the first run and after full_refresh_every', () => {
    const c = { v: 1 as const, last_seen_ms: 1, window_digest: null, last_full_refresh_ms: 1000, known_ids: null };
    expect(isFullRefreshDue(null, null, 5000)).toBe(true);
    expect(isFullRefreshDue(c, null, 5000)).toBe(false);
    expect(isFullRefreshDue(c, 4000, 4999)).toBe(false);
    expect(isFullRefreshDue(c, 4000, 5000)).toBe(true);
  });

  it('AND-s the user filter with the $last_seen bound', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5);
    expect(scanWhere(undefined, ms)).toBe('properties["$last_seen"] > "2024-01-02T03:04:05"');
    expect(scanWhere('properties["plan"] == "pro"', ms)).toBe('(properties["plan"] == "pro") and properties["$last_seen"] > "2024-01-02T03:04:05"');
    expect(scanWhere('x', null)).toBe('x');
    expect(scanWhere(undefined, null)).toBeUndefined();
  });
});
