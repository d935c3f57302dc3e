/**
 * The real-shaped bench's parts, at small scale: the generator's lines, the dataset's expected counts (checked
 * here by brute force, with Mixpanel's rule and JSON.parse, not the connector's code), the export server in its
 * own process (bodies, where bounds, chunking, gzip, refusals, its imports), DuckDB on the same bytes, and the
 * connector against that server: rows = distinct events after the first and the second run.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDuckdbJob } from '../duckdb-job.js';
import { runPipelineJob } from '../pipeline-job.js';
import { rowsVerdict, tableRows } from '../table-rows.js';
import { FIRST_RUN_NOW_MS, SECOND_RUN_NOW_MS, SKIP_COPIES, ensureRealDataset, servedFiles, type RealDataset } from './dataset.js';
import { realEventLine } from './generator.js';
import { startExportServer, type ExportServerProcess } from './server-process.js';

const ROOT = join(tmpdir(), `bench-real-test-${process.pid}`);
const AUTH = { authorization: `Basic ${Buffer.from('bench-api-secret:').toString('base64')}` };

let dataset: RealDataset;
let server: ExportServerProcess;

beforeAll(async () => {
  dataset = await ensureRealDataset(ROOT, 12_000, 8, 3);
  server = await startExportServer({ dataDir: dataset.dir });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(ROOT, { recursive: true, force: true });
});

async function fileText(name: string): Promise<string> {
  return readFile(join(dataset.dir, name), 'utf8');
}

async function served(run: 'first' | 'first-no-copies' | 'second'): Promise<string> {
  return (await Promise.all(servedFiles(dataset, run).map((f) => fileText(f.name)))).join('');
}

function digest(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Line {
  readonly event: string;
  readonly properties: Record<string, unknown> & { time: number; mp_processing_time_ms: number; distinct_id: unknown; $insert_id?: string };
}

/** Mixpanel's dedupe identity, computed here: event, distinct_id, time in seconds, $insert_id (else the whole line). */
function mixpanelKey(text: string, line: Line): string {
  const p = line.properties;
  return p.$insert_id === undefined ? `line:${text}` : JSON.stringify([line.event, JSON.stringify(p.distinct_id), Math.floor(p.time / 1000), p.$insert_id]);
}

function distinct(text: string): { total: number; byDay: Record<string, number> } {
  const days = new Map<string, Set<string>>();
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const line = JSON.parse(raw) as Line;
    const day = new Date(line.properties.time).toISOString().slice(0, 10);
    if (!days.has(day)) days.set(day, new Set());
    days.get(day)!.add(mixpanelKey(raw, line));
  }
  const byDay = Object.fromEntries([...days].map(([d, keys]) => [d, keys.size]));
  return { total: Object.values(byDay).reduce((a, b) => a + b, 0), byDay };
}

function get(path: string, headers: Record<string, string> = { ...AUTH, 'accept-encoding': 'gzip' }): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers });
}

function exportPath(from: string, to: string, where?: string): string {
  return `/api/2.0/export?from_date=${from}&to_date=${to}${where === undefined ? '' : `&where=${encodeURIComponent(where)}`}`;
}

describe('real-shaped lines', () => {
  it('are deterministic, valid JSON without duplicate keys, and carry the hostile forms', () => {
    const lines = Array.from({ length: 3_000 }, (_, i) => realEventLine(5, i, { timeMs: 1_774_900_000_000 + i, processingMs: 1_774_900_005_000 + i }));
    expect(realEventLine(5, 17, { timeMs: 1, processingMs: 2 })).toBe(realEventLine(5, 17, { timeMs: 1, processingMs: 2 }));
    for (const line of lines) expect(() => parseLossless(line)).not.toThrow(); // lossless-json rejects duplicate keys
    const all = lines.join('\n');
    for (const form of ['-0.0', '1E5', '1e-7', '0.1e1', '123456789012345678901234567890', '"TIER"', '"tier"', '"$custom_dollar"', '\u202E', '😀', '𝄞', 'שלום', '""', 'null', '"$screen_dpi":"xhdpi"']) {
      expect(all.includes(form) || all.toLowerCase().includes(form.toLowerCase()), form).toBe(true);
    }
    const widths = lines.map((l) => Object.keys((JSON.parse(l) as Line).properties).length);
    expect(Math.max(...widths)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...lines.map((l) => l.length))).toBeGreaterThan(8_000);
    expect(lines.some((l) => !l.includes('"$insert_id"'))).toBe(true);
  });
});

describe('real-shaped dataset', () => {
  it('counts the distinct events right: checked by brute force over the served bytes', async () => {
    expect.hasAssertions();
    const first = distinct(await served('first'));
    expect(first).toEqual({ total: dataset.expected.firstRun.total, byDay: dataset.expected.firstRun.byDay });
    expect(distinct(await served('first-no-copies')).total).toBe(dataset.events);
    const both = distinct((await served('first')) + (await served('second')));
    expect(both).toEqual({ total: dataset.expected.secondRun.total, byDay: dataset.expected.secondRun.byDay });
  });

  it('has re-sent copies within a call and across calls, and late events, each on the right side of the runs', async () => {
    expect.hasAssertions();
    const c = dataset.counts;
    expect(c.copiesWithinRun).toBeGreaterThan(dataset.events * 0.005);
    expect(c.copiesSameSecond).toBeGreaterThan(0);
    expect(c.copiesAcrossRuns).toBeGreaterThan(0);
    expect(c.lateFirstRun).toBeGreaterThan(dataset.events * 0.005);
    expect(c.lateSecondRun).toBeGreaterThan(0);
    expect(servedFiles(dataset, 'first').reduce((n, f) => n + f.lines, 0)).toBe(dataset.events + c.copiesWithinRun);
    for (const raw of (await served('first')).split('\n').filter(Boolean)) {
      const p = (JSON.parse(raw) as Line).properties;
      expect(p.mp_processing_time_ms).toBeLessThanOrEqual(dataset.firstUpperMs);
      expect(p.mp_processing_time_ms).toBeGreaterThan(p.time);
    }
    const second = (await served('second')).split('\n').filter(Boolean);
    expect(second.length).toBe(c.copiesAcrossRuns + c.lateSecondRun);
    for (const raw of second) {
      const p = (JSON.parse(raw) as Line).properties;
      expect(p.mp_processing_time_ms).toBeGreaterThan(dataset.firstUpperMs);
      expect(p.mp_processing_time_ms).toBeLessThanOrEqual(dataset.secondUpperMs);
    }
  });
});

describe('the export server (its own process)', () => {
  const all = (): [string, string] => [Object.keys(dataset.expected.firstRun.byDay).sort()[0]!, '2026-04-01'];

  it('serves the first run, the second run and an hour slice: exactly the lines the where selects, as one gzip member', async () => {
    expect.hasAssertions();
    const [from, to] = all();
    const first = await get(exportPath(from, to, `properties["mp_processing_time_ms"] <= ${dataset.firstUpperMs}`));
    expect(first.headers.get('content-encoding')).toBe('gzip');
    expect(first.headers.get('transfer-encoding')).toBe('chunked');
    expect(digest(await first.text())).toBe(digest(await served('first')));
    const second = await get(exportPath(from, to, `properties["mp_processing_time_ms"] > ${dataset.firstUpperMs} and properties["mp_processing_time_ms"] <= ${dataset.secondUpperMs}`));
    expect(digest(await second.text())).toBe(digest(await served('second')));
    // An hour slice cuts files: the server filters those line by line.
    const day = '2026-03-30';
    const hour = await get(exportPath(day, day, `properties["mp_processing_time_ms"] <= ${dataset.firstUpperMs} and properties["$time"] >= datetime("${day}T05:00:00") and properties["$time"] < datetime("${day}T06:00:00")`));
    const expected = (await served('first'))
      .split('\n')
      .filter((l) => l !== '' && (JSON.parse(l) as Line).properties.time >= Date.parse(`${day}T05:00:00Z`) && (JSON.parse(l) as Line).properties.time < Date.parse(`${day}T06:00:00Z`));
    expect(expected.length).toBeGreaterThan(10);
    expect(await hour.text()).toBe(expected.map((l) => `${l}\n`).join(''));
  });

  it('writes its own chunk sizes (irregular, 7–60 KiB) and its own gzip (a single member, several flushes)', async () => {
    expect.hasAssertions();
    const [from, to] = all();
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      const parts: Buffer[] = [];
      socket.on('data', (d) => parts.push(d));
      socket.on('end', () => resolve(Buffer.concat(parts)));
      socket.on('error', reject);
      socket.write(`GET ${exportPath(from, to)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH.authorization}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`);
    });
    let at = raw.indexOf('\r\n\r\n') + 4;
    const sizes: number[] = [];
    const body: Buffer[] = [];
    for (;;) {
      const eol = raw.indexOf('\r\n', at);
      const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
      if (size === 0) break;
      body.push(raw.subarray(eol + 2, eol + 2 + size));
      sizes.push(size);
      at = eol + 2 + size + 2;
    }
    expect(sizes.length).toBeGreaterThan(20);
    for (const size of sizes.slice(0, -1)) {
      expect(size).toBeGreaterThanOrEqual(7 * 1024);
      expect(size).toBeLessThanOrEqual(60 * 1024);
    }
    expect(new Set(sizes).size).toBeGreaterThan(sizes.length / 2);
    const gz = Buffer.concat(body);
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gz.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 3)).toBe(-1); // one member
    expect(gz.indexOf(Buffer.from([0x00, 0x00, 0xff, 0xff]))).toBeGreaterThan(0); // sync flushes inside
    // No where: every file, in name order (each day's r1 files, then its r2 file).
    const everything = (await Promise.all(dataset.files.map((f) => fileText(f.name)))).join('');
    expect(digest(gunzipSync(gz))).toBe(digest(everything));
  });

  it('refuses what it does not understand, needs auth, answers an empty range without gzip; skips the copies on request', async () => {
    expect.hasAssertions();
    expect((await get(exportPath('2026-03-30', '2026-03-31', 'properties["$os"] == "iOS"'))).status).toBe(400);
    expect((await get(exportPath('2026-03-30', '2026-03-31', `properties["mp_processing_time_ms"] <= 5 or true`))).status).toBe(400);
    expect((await get(exportPath('2026-03-30', '2026-03-31'), { 'accept-encoding': 'gzip' })).status).toBe(401);
    expect((await get('/api/query/engage')).status).toBe(404);
    const empty = await get(exportPath('2020-01-01', '2020-01-02'));
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-encoding')).toBeNull();
    expect(await empty.text()).toBe('');
    const noCopies = await startExportServer({ dataDir: dataset.dir, skip: SKIP_COPIES });
    try {
      const [from, to] = all();
      const response = await fetch(`${noCopies.url}${exportPath(from, to, `properties["mp_processing_time_ms"] <= ${dataset.firstUpperMs}`)}`, { headers: AUTH });
      expect(digest(await response.text())).toBe(digest(await served('first-no-copies')));
    } finally {
      await noCopies.close();
    }
    expect(server.log.some((r) => r.status === 400 && r.path === '/api/2.0/export')).toBe(true);
  });

  it('imports nothing of ours but its own files', async () => {
    expect.hasAssertions();
    const dir = new URL('../export-server/', import.meta.url);
    const seen: string[] = [];
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const text = await readFile(new URL(name, dir), 'utf8');
      const specifiers = [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      seen.push(...specifiers);
      for (const s of specifiers) expect(s.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(s), `${name} imports ${s}`).toBe(true);
    }
    expect(seen).toContain('./prepare.js');
    expect(seen).toContain('node:http');
  });
});

describe('the bench on the same bytes', () => {
  it('DuckDB reads the hostile bytes as served: one row per line', async () => {
    expect.hasAssertions();
    const files = servedFiles(dataset, 'first');
    const out = join(ROOT, 'duck.parquet');
    const result = await runDuckdbJob({ kind: 'duckdb', files: files.map((f) => join(dataset.dir, f.name)), out });
    expect(result.rows).toBe(files.reduce((n, f) => n + f.lines, 0));
  }, 60_000);

  it('the connector against the export server: rows = distinct events after the first run and after the second', async () => {
    expect.hasAssertions();
    const base = { kind: 'pipeline', table: 'events', baseUrl: server.url, historicalDays: dataset.days, lakehouseDir: join(ROOT, 'lakehouse'), stateDir: join(ROOT, 'state') } as const;
    await runPipelineJob({ ...base, nowMs: FIRST_RUN_NOW_MS });
    const first = await tableRows(base.lakehouseDir, 'events', 'event_date');
    expect(rowsVerdict(first, dataset.expected.firstRun.total, dataset.expected.firstRun.byDay)).toBe('ok');
    await runPipelineJob({ ...base, nowMs: SECOND_RUN_NOW_MS });
    const second = await tableRows(base.lakehouseDir, 'events', 'event_date');
    expect(rowsVerdict(second, dataset.expected.secondRun.total, dataset.expected.secondRun.byDay)).toBe('ok');
    expect(rowsVerdict(second, dataset.expected.firstRun.total, dataset.expected.firstRun.byDay)).toMatch(/^WRONG/);
  }, 120_000);
});
