/** Fast checks of the bench harness itself (no dataset, no child process): table, RSS probe, profile parser, where, lock. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLease } from '../connector-spec/index.js';
import { stageOf, summarizeProfile, type CpuProfile } from './cpu-profile.js';
import { eventLine, profileJson } from './generator.js';
import { BENCH_LOCK, runBench } from './index.js';
import { parseBenchArgs } from './main.js';
import { parseTimeMaxRssKb } from './spawn-child.js';
import { formatMarkdownTable, formatTable, rowCells, type BenchRow } from './table.js';
import { lastSeenLowerBound, exportBounds } from './where-bounds.js';

const row: BenchRow = {
  label: 'events 1M × 1d',
  records: 1_000_000,
  jsonlBytes: 877_000_000,
  seconds: 10,
  peakRssMb: 250.4,
  parquetBytes: 76_000_000,
  apiCalls: 2,
  vsDuckdb: 0.5,
};

describe('table', () => {
  it('derives records/s and MB/s from the measured seconds', () => {
    expect(rowCells(row)).toEqual(['events 1M × 1d', '1,000,000', '877.0', '10.00', '100,000', '87.7', '250', '76,000,000', '2', '0.50×', '–']);
    expect(rowCells({ ...row, check: 'ok' }).at(-1)).toBe('ok');
  });

  it('aligns every line to the same width and marks failures', () => {
    const text = formatTable([row, { ...row, label: 'x', error: 'boom' }]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]!.length).toBeGreaterThanOrEqual(lines[2]!.length);
    expect(lines[3]).toContain('FAILED: boom');
    expect(formatMarkdownTable([row]).split('\n')[2]).toMatch(/^\| events 1M × 1d \| 1,000,000 \|/);
  });
});

describe('peak RSS probe', () => {
  it('reads GNU time -v output', () => {
    expect(parseTimeMaxRssKb('\tUser time (seconds): 1.0\n\tMaximum resident set size (kbytes): 262144\n')).toBe(262144);
    expect(parseTimeMaxRssKb('nothing')).toBeNull();
  });
});

describe('cpu profile', () => {
  it('ranks self time by function and stage, without idle', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3, 4] },
        { id: 2, callFrame: { functionName: 'parseLine', url: 'file:///r/sources/mixpanel/events/rows.ts', lineNumber: 9 }, children: [5] },
        { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 4, callFrame: { functionName: 'encode', url: 'wasm://wasm/abc', lineNumber: 0 } },
        { id: 5, callFrame: { functionName: 'parse', url: '', lineNumber: -1 } },
      ],
      samples: [2, 5, 3, 4, 2],
      timeDeltas: [0, 1000, 1000, 1000, 1000, 1000],
      startTime: 0,
      endTime: 5000,
    };
    const s = summarizeProfile(profile, 'x.cpuprofile');
    expect(s.busyMs).toBe(4);
    expect(s.functions[0]).toEqual({ name: 'parseLine sources/mixpanel/events/rows.ts:10', ms: 2, share: 0.5 });
    expect(s.stages.map((x) => x.name)).toEqual(['sources/mixpanel/events/rows.ts', '(native)', 'parquet-wasm (wasm)']);
    expect(s.steps.map((x) => x.name)).toEqual(['source (other)', 'Parquet encode']);
    expect(stageOf({ functionName: 'x', url: 'file:///r/node_modules/apache-arrow/data.mjs', lineNumber: 1 })).toBe('apache-arrow');
    expect(stageOf({ functionName: '(garbage collector)', url: '', lineNumber: -1 })).toBe('(garbage collector)');
  });
});

describe('where bounds', () => {
  it('parses the export processing-time window and refuses anything else', () => {
    expect(exportBounds('properties["mp_processing_time_ms"] > 10 and properties["mp_processing_time_ms"] <= 20')).toEqual({
      lowerExclusive: 10,
      upperInclusive: 20,
      unsupported: null,
      time: { lowerExclusive: null, upperInclusive: null },
    });
    const hour = exportBounds('properties["mp_processing_time_ms"] <= 5 and properties["$time"] >= datetime("2026-04-01T00:00:00") and properties["$time"] < datetime("2026-04-01T01:00:00")');
    expect(hour.unsupported).toBeNull();
    expect(hour.time).toEqual({ lowerExclusive: Date.parse('2026-04-01T00:00:00Z') - 1, upperInclusive: Date.parse('2026-04-01T01:00:00Z') - 1 });
    expect(exportBounds('properties["mp_processing_time_ms"] >= 10').lowerExclusive).toBe(9);
    expect(exportBounds('properties["$os"] == "iOS"').unsupported).not.toBeNull();
  });

  it('parses the engage $last_seen lower bound', () => {
    expect(lastSeenLowerBound('properties["$last_seen"] > "2026-03-30T12:00:00"').lowerExclusive).toBe(Date.parse('2026-03-30T12:00:00Z'));
    expect(lastSeenLowerBound('(properties["$last_seen"] > "2026-03-30T12:00:00") and properties["plan"] == "pro"').unsupported).not.toBeNull();
  });
});

describe('generator and arguments', () => {
  it('is deterministic and valid JSON of the documented size', () => {
    const a = eventLine(1, 42, { timeMs: 1, processingMs: 2 });
    expect(eventLine(1, 42, { timeMs: 1, processingMs: 2 })).toBe(a);
    const parsed = JSON.parse(a) as { event: string; properties: Record<string, unknown> };
    expect(Object.keys(parsed.properties).length).toBeGreaterThanOrEqual(27);
    expect(Buffer.byteLength(a)).toBeGreaterThan(700);
    expect(JSON.parse(profileJson(1, 7, 0))).toMatchObject({ $distinct_id: 'user-7' });
  });

  it('parses bench arguments', () => {
    expect(parseBenchArgs(['--events', '1000000,5_000_000', '--windows', '30d', '--cpu-prof', '--no-gzip'])).toEqual({
      events: [1_000_000, 5_000_000],
      windows: ['30d'],
      cpuProf: true,
      gzip: false,
    });
    expect(() => parseBenchArgs(['--windows', '7d'])).toThrow(/1d and\/or 30d/);
  });
});

describe('the bench lock', () => {
  it('refuses a second bench on the same folder at once, naming the holder, and leaves the folder as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-lock-'));
    try {
      const held = await acquireLease(join(dir, BENCH_LOCK)); // a bench running in this process
      const printed: string[] = [];
      // Nothing to measure: without the lock this bench would run to its end in a moment (and print), not be refused.
      const nothing = { events: [] as number[], profiles: 0, noDuckdb: true, noReal: true, noProxy: true, noEmulator: true };
      const error = await runBench({ dir, ...nothing, out: (text) => void printed.push(text) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(`another bench is running on ${dir} (pid ${process.pid} on `);
      expect(printed).toEqual([]); // it started nothing
      expect(await readdir(dir)).toEqual([BENCH_LOCK]);
      await held.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
