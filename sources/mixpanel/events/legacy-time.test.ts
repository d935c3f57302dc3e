import { describe, expect, it } from 'vitest';
import { LegacyClock } from './legacy-time.js';

/** The legacy stored value: wall clock read as UTC. */
const wall = (iso: string): number => Date.parse(`${iso}Z`);

describe('LegacyClock (US/Pacific)', () => {
  const clock = new LegacyClock('US/Pacific');
  const convert = (iso: string, processing: number | null = null): [string, string | null] => {
    const utc = clock.toUtc(wall(iso), processing);
    return [new Date(utc).toISOString(), clock.flag];
  };

  it('converts around the 2024-03-10 spring-forward gap, mapping the gap forward and flagging it', () => {
    expect(convert('2024-03-10T01:59:59')).toEqual(['2024-03-10T09:59:59.000Z', null]);
    expect(convert('2024-03-10T02:30:00')).toEqual(['2024-03-10T10:30:00.000Z', 'dst_gap']);
    expect(convert('2024-03-10T03:00:00')).toEqual(['2024-03-10T10:00:00.000Z', null]);
  });

  it('resolves the 2024-11-03 overlap by mp_processing_time_ms and flags it', () => {
    expect(convert('2024-11-03T00:59:59')).toEqual(['2024-11-03T07:59:59.000Z', null]);
    expect(convert('2024-11-03T01:30:00', Date.parse('2024-11-03T08:30:05Z'))).toEqual(['2024-11-03T08:30:00.000Z', 'dst_ambiguous']);
    expect(convert('2024-11-03T01:30:00', Date.parse('2024-11-03T09:30:05Z'))).toEqual(['2024-11-03T09:30:00.000Z', 'dst_ambiguous']);
    expect(convert('2024-11-03T01:30:00', null)).toEqual(['2024-11-03T08:30:00.000Z', 'dst_ambiguous']);
    expect(convert('2024-11-03T02:00:00')).toEqual(['2024-11-03T10:00:00.000Z', null]);
  });

  it('uses the offset in force at the instant (summer, winter)', () => {
    expect(convert('2024-07-15T12:00:00')).toEqual(['2024-07-15T19:00:00.000Z', null]);
    expect(convert('2024-01-15T12:00:00')).toEqual(['2024-01-15T20:00:00.000Z', null]);
    expect(new LegacyClock('Asia/Kolkata').toUtc(wall('2024-01-15T00:00:00'), null)).toBe(Date.parse('2024-01-14T18:30:00Z'));
  });
});
