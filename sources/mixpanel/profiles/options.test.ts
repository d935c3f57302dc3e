import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../connector-spec/index.js';
import { optionalDuration, parseDuration, rejectUnknownOptions } from './options.js';
import { parseProfileOptions } from './profile-options.js';

describe('profile options', () => {
  it('parses durations', () => {
    expect(parseDuration('10m', 'overlap', 't')).toBe(600_000);
    expect(parseDuration('12h', 'overlap', 't')).toBe(43_200_000);
    expect(parseDuration('1d', 'overlap', 't')).toBe(86_400_000);
    expect(optionalDuration('off', 'x', 't')).toBeNull();
    expect(optionalDuration(undefined, 'x', 't')).toBeNull();
  });

  it('names the option and the fix on a bad value', () => {
    expect(() => parseDuration('daily', 'full_refresh_every', 'engage')).toThrow(/full_refresh_every.*e\.g\. 10m/);
    expect(() => parseProfileOptions({ deletion_tracking_limit: '-1' }, 'engage')).toThrow(ConfigError);
  });

  it('defaults: 10 minute overlap, no full refresh', () => {
    const o = parseProfileOptions({}, 'engage');
    expect(o).toMatchObject({ overlapMs: 600_000, fullRefreshEveryMs: null, where: undefined, deletionTrackingLimit: 10_000 });
  });

  it('rejects unknown options with the valid list', () => {
    expect(() => rejectUnknownOptions({ overlapp: '1h' }, ['where', 'overlap'], 'engage')).toThrow(/overlapp.*where, overlap/);
  });
});
