import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addDays, dateInZone, daysInRange, isDate } from './dates.js';

describe('dates', () => {
  it('does calendar arithmetic on YYYY-MM-DD', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(daysInRange('2024-03-30', '2024-04-02')).toBe(4);
    expect(isDate('2023-02-29')).toBe(false);
    expect(dateInZone(Date.parse('2024-05-20T18:30:00Z'), 'Asia/Kolkata')).toBe('2024-05-21');
  });

  it('plans the same windows under host TZ=Pacific/Kiritimati as under TZ=UTC', () => {
    const script = fileURLToPath(new URL('../testing/plan-snapshot.ts', import.meta.url));
    const run = (tz: string): string =>
      execFileSync(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    const utc = run('UTC');
    const kiritimati = run('Pacific/Kiritimati');
    expect(JSON.parse(utc)).toHaveProperty('hostOffsetMinutes', 0);
    expect(JSON.parse(kiritimati)).toHaveProperty('hostOffsetMinutes', -840);
    expect(JSON.parse(kiritimati).plans).toEqual(JSON.parse(utc).plans);
    expect(JSON.parse(utc).plans[0].lastDate).toBe('2024-05-20');
  });
});
