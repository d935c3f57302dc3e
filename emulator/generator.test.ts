import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { GENERATOR_EPOCH_MS, NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { DataGenerator } from './generator.js';
import { HOSTILE_BIG_INTEGERS } from './hostile.js';
import { TEST_NOW, getText, isoDate, secretAuth } from './test-helpers.js';

const DAY = 86_400_000;
let em: Emulator | undefined;

afterEach(async () => {
  await em?.close();
  em = undefined;
});

describe('generated events', () => {
  it('are a pure function of (seed, index) on a fixed epoch: another process with the same seed agrees', async () => {
    em = await startEmulator({ now: () => TEST_NOW, seed: 42, eventsPerDay: 3000, days: 2, limits: NO_RATE_LIMITS });
    const mine = em.data.exportLines({ fromDate: isoDate(TEST_NOW - DAY), toDate: isoDate(TEST_NOW) });
    // Start a second emulator in a child process with a later start clock (same data clock afterwards).
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./scripts/print-export.ts', import.meta.url)), '42', String(TEST_NOW), isoDate(TEST_NOW - DAY), isoDate(TEST_NOW)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const theirs: string[] = [];
    for await (const line of createInterface({ input: child.stdout })) theirs.push(line);
    expect(theirs.length).toBe(mine.length);
    expect(theirs).toEqual(mine);
    const other = await startEmulator({ now: () => TEST_NOW, seed: 43, eventsPerDay: 3000, days: 2 });
    try {
      expect(other.data.exportLines({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) })).not.toEqual(em.data.exportLines({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) }));
    } finally {
      await other.close();
    }
  });

  it('map a time range to an index range arithmetically (no materialisation), each event inside its slot', () => {
    const g = new DataGenerator({ seed: 7, eventsPerDay: 1_000_000, windowStartMs: GENERATOR_EPOCH_MS, profiles: 0, cohorts: 0 });
    const from = Date.UTC(2030, 0, 1);
    const i0 = g.firstIndexAtOrAfter(from);
    expect(i0).toBeGreaterThan(3_000_000_000);
    expect(g.timeOf(i0)).toBeLessThan(from);
    expect(g.timeOf(i0 + 2)).toBeGreaterThanOrEqual(from);
    for (let i = i0; i < i0 + 1000; i++) expect(g.timeOf(i + 1)).toBeGreaterThanOrEqual(g.timeOf(i));
    expect(g.indexBound(from + DAY) - i0).toBeLessThanOrEqual(1_000_003);
  });

  it('have realistic standard properties, every JSON type in custom properties, and ~1% late arrivals', async () => {
    em = await startEmulator({ now: () => TEST_NOW, eventsPerDay: 6000, days: 5, profiles: 100, limits: NO_RATE_LIMITS });
    const events = em.data.exportEvents({ fromDate: isoDate(TEST_NOW - 4 * DAY), toDate: isoDate(TEST_NOW - 4 * DAY) });
    expect(events.length).toBeGreaterThan(5800);
    const types = new Set<string>();
    const problems: string[] = [];
    let late = 0;
    for (const e of events) {
      const p = e.properties;
      for (const k of ['$browser', '$os', '$city', '$region', 'mp_country_code', '$device_id', 'distinct_id', '$current_url', 'mp_lib', '$lib_version']) if (typeof p[k] !== 'string') problems.push(`${k} not a string`);
      for (const k of ['$browser_version', '$screen_width', 'time', 'mp_processing_time_ms']) if (typeof p[k] !== 'number') problems.push(`${k} not a number`);
      if (!/^[A-Za-z0-9-]{1,36}$/.test(String(p['$insert_id']))) problems.push(`bad $insert_id ${String(p['$insert_id'])}`);
      const delay = (p['mp_processing_time_ms'] as number) - (p['time'] as number);
      if (delay <= 0 || delay > 3 * DAY) problems.push(`delay ${delay}`);
      if (delay >= 3_600_000) late++;
      for (const v of Object.values(p)) types.add(v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'int' : typeof v);
    }
    expect(problems).toEqual([]);
    expect([...types].sort()).toEqual(['array', 'boolean', 'int', 'null', 'number', 'object', 'string']);
    expect(late / events.length).toBeGreaterThan(0.005);
    expect(late / events.length).toBeLessThan(0.02);
    const ids = new Set(events.map((e) => e.properties['$insert_id']));
    expect(ids.size).toBe(events.length);
    expect(em.data.countDistinctInsertIds({ fromDate: isoDate(TEST_NOW - 4 * DAY), toDate: isoDate(TEST_NOW - 4 * DAY) })).toBe(events.length);
  });
});

describe('hostile fixtures', () => {
  it('write line separators, control characters, emoji and 19-digit integers into the export text exactly', async () => {
    em = await startEmulator({ now: () => TEST_NOW, hostile: true, limits: NO_RATE_LIMITS });
    const r = await getText(`${em.url}/api/2.0/export?from_date=${isoDate(TEST_NOW)}&to_date=${isoDate(TEST_NOW)}&time_in_ms=true`, { authorization: secretAuth(em.project) });
    expect(r.status).toBe(200);
    expect(r.text).toContain('"big_id":1234567890123456789');
    expect(r.text).toContain('"min_int64":-9223372036854775808');
    expect(r.text).toContain('\u2028');
    expect(r.text).toContain('\u0085');
    expect(r.text).toContain('\\u0001');
    expect(r.text).toContain('😀');
    // U+2028 inside a string is not a line break for JSONL: split on \n only.
    const lines = r.text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(8);
    const parsed = em.data.exportEvents({ fromDate: isoDate(TEST_NOW), toDate: isoDate(TEST_NOW) });
    const numbers = parsed.find((e) => e.event === 'Hostile Numbers');
    expect(numbers?.properties['big_id']).toBe(HOSTILE_BIG_INTEGERS[0]);
    const keys = parsed.find((e) => e.event === 'Hostile Keys')?.properties ?? {};
    expect([keys['Plan'], keys['plan'], keys['PLAN']]).toEqual(['upper', 'lower', 'shout']);
    expect(keys['event']).toBe('a property named event');
    expect(Object.keys(parsed.find((e) => e.event === 'Hostile Wide')?.properties ?? {}).length).toBeGreaterThan(3000);
    expect(parsed.find((e) => e.event === 'Hostile No Insert Id')?.properties).not.toHaveProperty('$insert_id');
    expect(parsed.find((e) => e.event === 'Hostile Empty Distinct Id')?.properties['distinct_id']).toBe('');
    const seen = em.data.listProfiles().map((p) => p.properties['$last_seen']);
    expect(seen).toEqual(expect.arrayContaining(['2024-01-02T03:04:05', '2024-01-02 03:04:05', 1704164645]));
    const engage = await fetch(`${em.url}/api/query/engage`, { method: 'POST', headers: { authorization: secretAuth(em.project) } });
    expect(await engage.text()).toContain('"big_id":1234567890123456789');
  });
});
