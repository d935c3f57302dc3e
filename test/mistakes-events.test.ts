/**
 * Issue 19 findings 4, 5, 6 and 9, through the real CLI against the emulator (tables read back by DuckDB through
 * the Delta log):
 * 3. A where is AND-ed as one parenthesised term: an `or` in it cannot widen the processing-time bounds.
 * 4. A changed start_date is reported, naming --full-refresh and what a full refresh would re-read; following the
 *    advice loads the dates.
 * 5. --full-refresh events refuses to drop history older than what it re-reads (before any API call), says how
 *    far back it reads, and with --drop-history drops exactly the rows before that and re-reads the rest.
 * 6. An unreachable host fails fast naming the host and MIXPANEL_BASE_URL: one runner call, a few connection
 *    attempts, no slice splitting.
 * 9. Every number form of a custom property keeps its exact JSON text (-0.0, 1.0, 1E5, …).
 */
import { createServer } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type IngestEvent } from '../emulator/index.js';
import { runCli } from '../runner/testing/cli-child.js';
import { openDuck, tableScan, type Duck } from './helpers/duckdb.js';
import { lines, printedReport, treeDigest } from './helpers/mistakes-cli.js';

const DAY = 86_400_000;
const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

let emulator: Emulator;
let duck: Duck;
let root: string;
let env: Record<string, string>;
let seq = 0;

/** `perDay` events on each of the last `days` UTC dates (today included), processed now. */
function importDaily(days: number, perDay: number): void {
  const now = Date.now();
  const events: IngestEvent[] = [];
  for (let d = 0; d < days; d++) {
    const dayStart = Math.floor(now / DAY) * DAY - d * DAY;
    for (let i = 0; i < perDay; i++, seq++) {
      // Today: between midnight and now (so still today at any hour); other days: noon.
      const time = d === 0 ? dayStart + Math.floor((now - dayStart) / 2) - i : dayStart + 12 * 3_600_000 + i * 1000;
      events.push({ event: 'Viewed', properties: { time, distinct_id: `u-${seq % 13}`, $insert_id: `ev-${seq}` } });
    }
  }
  emulator.data.importEvents(events);
}

interface Dirs {
  readonly lakehouse: string;
  readonly state: string;
  readonly dir: string;
}

async function dirs(name: string): Promise<Dirs> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  return { dir, lakehouse: path.join(dir, 'lakehouse'), state: path.join(dir, 'state') };
}

async function spec(d: Dirs, name: string, tableConfiguration: Record<string, string>): Promise<string> {
  const file = path.join(d.dir, name);
  await writeFile(file, JSON.stringify({ connection_name: 'events_mistakes', objects: [{ table: { source_table: 'events', table_configuration: { safety_lag: '0', ...tableConfiguration } } }] }));
  return file;
}

const run = (d: Dirs, specFile: string, extra: string[] = [], over: Record<string, string> = {}) =>
  runCli(['run', '--spec', specFile, '--lakehouse', d.lakehouse, '--state', d.state, '--log-format', 'json', ...extra], { ...env, ...over });

async function eventDates(lakehouse: string): Promise<Array<[string, number]>> {
  const rows = await duck.all(`SELECT CAST(event_date AS VARCHAR) AS d, count(*)::INT AS n FROM ${await tableScan(lakehouse, 'events')} GROUP BY ALL ORDER BY d`);
  return rows.map((r) => [String(r['d']), Number(r['n'])]);
}

beforeAll(async () => {
  emulator = await startEmulator({ seed: 11 });
  duck = await openDuck();
  root = await mkdtemp(path.join(tmpdir(), 'mistakes-events-'));
  env = { MIXPANEL_BASE_URL: emulator.url, MIXPANEL_API_SECRET: emulator.project.apiSecret };
  importDaily(6, 4);
});

afterAll(async () => {
  duck?.close();
  await emulator?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('finding 4: a changed start_date names --full-refresh and what it would re-read', () => {
  it('start_date moved earlier: exit 3 naming the dates incremental runs never read and --full-refresh events; the full refresh then loads them', async () => {
    const d = await dirs('start-earlier');
    const today = utcDate(Date.now());
    const first = await run(d, await spec(d, 'first.json', { start_date: utcDate(Date.now() - 2 * DAY) }));
    expect(first.code, first.stderr).toBe(0);
    expect((await eventDates(d.lakehouse)).map(([date]) => date)).toEqual([utcDate(Date.now() - 2 * DAY), utcDate(Date.now() - DAY), today]);

    const earlier = utcDate(Date.now() - 4 * DAY);
    const moved = await spec(d, 'moved.json', { start_date: earlier });
    const second = await run(d, moved);
    expect(second.code, second.stderr).toBe(3);
    expect(second.stdout).toContain(
      `start_date ${earlier} is before ${utcDate(Date.now() - 2 * DAY)}, the date this table's cursor began at: incremental runs never read ${earlier}..${utcDate(Date.now() - 3 * DAY)}. To load them, a full refresh (--full-refresh events) re-reads ${earlier}..today (start_date ${earlier})`,
    );
    const refreshed = await run(d, moved, ['--full-refresh', 'events']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(await eventDates(d.lakehouse)).toEqual([4, 3, 2, 1, 0].map((n) => [utcDate(Date.now() - n * DAY), 4]));
  });

  it('start_date moved later: a warning that the older rows stay, naming --full-refresh events and what it re-reads (exit 0)', async () => {
    const d = await dirs('start-later');
    const first = await run(d, await spec(d, 'first.json', { start_date: utcDate(Date.now() - 3 * DAY) }));
    expect(first.code, first.stderr).toBe(0);
    const later = utcDate(Date.now() - DAY);
    const second = await run(d, await spec(d, 'later.json', { start_date: later }));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(
      `start_date ${later} is after ${utcDate(Date.now() - 3 * DAY)}, the date this table's cursor began at: rows from ${utcDate(Date.now() - 3 * DAY)}..${utcDate(Date.now() - 2 * DAY)} stay in the table. To drop them, a full refresh (--full-refresh events) re-reads ${later}..today (start_date ${later})`,
    );
  });
});

/** Index of the ")" that closes the "(" at the start of `text` (strings skipped). */
function closingParen(text: string): number {
  expect(text[0]).toBe('(');
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced: ${text}`);
}

describe('finding 3: where is one parenthesised term AND-ed with the processing-time bounds', () => {
  it('a where with "or" selects only what it says, and every export request keeps it inside its own parentheses', async () => {
    const now = Date.now();
    const os = ['iOS', 'Android', 'Linux', 'Windows'];
    emulator.data.importEvents(os.map((name, i) => ({ event: 'Opened', properties: { time: now - 600_000 - i, distinct_id: `os-${i}`, $insert_id: `os-${name}`, $os: name } })));
    const d = await dirs('where-or');
    const where = 'properties["$os"] == "iOS" or properties["$os"] == "Android"';
    emulator.log.clear();
    const result = await run(d, await spec(d, 'spec.json', { where }), [], { MIXPANEL_HISTORICAL_DAYS: '1' });
    expect(result.code, result.stderr).toBe(0);
    const rows = await duck.all(`SELECT os FROM ${await tableScan(d.lakehouse, 'events')} ORDER BY os`);
    expect(rows.map((r) => r['os'])).toEqual(['Android', 'iOS']);
    const sent = emulator.log.forRoute('export').map((e) => e.params['where'] ?? '');
    expect(sent.length).toBeGreaterThan(0);
    for (const w of sent) {
      // The filter (re-printed from its parse) is the first term, closed before the bounds begin.
      const close = closingParen(w);
      expect(w.slice(0, close + 1)).toContain('"iOS"');
      expect(w.slice(0, close + 1)).toContain('"Android"');
      expect(w.slice(close + 1)).toMatch(/^ and properties\["mp_processing_time_ms"\] <= \d+$/);
    }
  });
});

describe('finding 5: --full-refresh never drops history silently', () => {
  it('refuses before any API call, saying how far back it reads; with --drop-history it drops exactly the older rows and says so', async () => {
    const d = await dirs('full-refresh');
    const file = await spec(d, 'spec.json', {});
    const first = await run(d, file, [], { MIXPANEL_HISTORICAL_DAYS: '4' });
    expect(first.code, first.stderr).toBe(0);
    const held = await eventDates(d.lakehouse);
    expect(held.map(([date]) => date)).toEqual([4, 3, 2, 1, 0].map((n) => utcDate(Date.now() - n * DAY)));

    const from = utcDate(Date.now() - 2 * DAY);
    const before = await treeDigest(d.lakehouse);
    emulator.log.clear();
    const refused = await run(d, file, ['--full-refresh', 'events'], { MIXPANEL_HISTORICAL_DAYS: '2' });
    expect(emulator.log.entries).toEqual([]);
    expect(await treeDigest(d.lakehouse)).toEqual(before);
    expect(refused.code).toBe(2);
    expect(lines(refused.stderr)).toEqual([
      `error [RUNNER_FULL_REFRESH_DROPS_HISTORY]: --full-refresh events re-reads from event_date ${from} (MIXPANEL_HISTORICAL_DAYS=2 before ${utcDate(Date.now())}), but the table holds 8 row(s) from ${utcDate(Date.now() - 4 * DAY)} to before ${from} that a full refresh would drop for good. Add --drop-history to drop them, or reach further back first (for events: MIXPANEL_HISTORICAL_DAYS or start_date)`,
    ]);

    const dropped = await run(d, file, ['--full-refresh', 'events', '--drop-history'], { MIXPANEL_HISTORICAL_DAYS: '2' });
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain(`full refresh re-reads from event_date ${from} (MIXPANEL_HISTORICAL_DAYS=2 before ${utcDate(Date.now())}); --drop-history dropped 8 row(s) dated before it`);
    expect(await eventDates(d.lakehouse)).toEqual(held.filter(([date]) => date >= from));
  });
});

describe('finding 6: an unreachable host fails fast', () => {
  it('a refused connection: exit 2 naming the host and MIXPANEL_BASE_URL after one call of 3 attempts, no slice split', async () => {
    // A port that refuses: bound once, then closed.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const d = await dirs('unreachable');
    // Six days in one-day slices: a source that split slices on a refused connection would make many more calls.
    const result = await run(d, await spec(d, 'spec.json', { window_days: '1' }), [], { MIXPANEL_BASE_URL: `http://127.0.0.1:${port}`, MIXPANEL_HISTORICAL_DAYS: '6' });
    expect(result.code, result.stderr).toBe(2);
    const report = await printedReport(result.stdout);
    const events = report.tables[0]!;
    expect(events['error']).toMatchObject({ code: 'MP_UNREACHABLE' });
    const message = (events['error'] as { message: string }).message;
    expect(message).toContain(`Cannot reach 127.0.0.1:${port}`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).toContain(`MIXPANEL_BASE_URL points every API at 127.0.0.1:${port}: check it`);
    expect({ calls: events['calls'], apiCalls: events['apiCalls'], retries: events['retries'], rowsRead: events['rowsRead'] }).toEqual({ calls: 1, apiCalls: 3, retries: 2, rowsRead: 0 });
    expect(events['warnings']).toEqual([]);
  });
});

describe('finding 9: lossless custom properties', () => {
  it('-0.0 and every other number form of the issue come back with their exact JSON text', async () => {
    const forms: Record<string, string> = {
      neg_zero: '-0.0',
      one_point_zero: '1.0',
      upper_exp: '1E5',
      small: '1e-7',
      big_exp: '1e21',
      frac_exp: '0.1e1',
      huge: '123456789012345678901234567890',
      neg_int_zero: '-0',
      trailing: '1.50',
    };
    const time = Math.floor((Date.now() - 3_600_000) / 1000);
    const props = Object.entries(forms).map(([k, v]) => `"${k}": ${v}`).join(', ');
    const line = `{"event":"Numbers","properties":{"time":${time},"distinct_id":"n-1","$insert_id":"numbers-1","mp_processing_time_ms":${Date.now() - 60_000},${props},"nested":{"z":-0.0,"l":[1.0,1E5]}}}\n`;
    // The export answers with this exact line (JSON.stringify would have written -0.0 as 0).
    const body = emulator.faults.status('export', 200, { body: line, times: 1 });
    const d = await dirs('lossless');
    const result = await run(d, await spec(d, 'spec.json', {}), [], { MIXPANEL_HISTORICAL_DAYS: '1' });
    body.remove();
    expect(result.code, result.stderr).toBe(0);
    const rows = await duck.all(`SELECT CAST(to_json(custom_properties) AS VARCHAR) AS p FROM ${await tableScan(d.lakehouse, 'events')} WHERE insert_id = 'numbers-1'`);
    expect(rows).toHaveLength(1);
    const custom = JSON.parse(String(rows[0]!['p'])) as Record<string, string>;
    expect(custom).toEqual({ ...forms, nested: '{"z":-0.0,"l":[1.0,1E5]}' });
  });
});
