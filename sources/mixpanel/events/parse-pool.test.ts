import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TransientError, emptyReadStats, type ReadStats } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import { driveTable, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';
import { ChunkFramer } from './chunk-framer.js';
import { parseEventChunk } from './parse-chunk.js';
import { PARSE_WORKER_YOUNG_MB, ParsePool, defaultParseWorkers } from './parse-pool.js';

const T0 = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };

let emulator: Emulator | undefined;
const pools: ParsePool[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await emulator?.close();
  emulator = undefined;
  for (const pool of pools.splice(0)) await pool.close();
});

function event(i: number, extra = ''): string {
  return `{"event":"E${i}","properties":{"time":${1718000000 + i},"distinct_id":"u${i}","$insert_id":"id-${i}","$browser":"Chrome","city":"Zürich"${extra}}}\n`;
}

async function drive(emu: Emulator, workers: number, tableOptions: Record<string, string>): Promise<{ rows: Row[]; counters: ReadStats['counters']; errors: unknown[] }> {
  const source = emulatorSource(emu, { now: () => T0, config: { historicalDays: 4, parseWorkers: workers }, parseChunkBytes: 16 * 1024 });
  try {
    const stats = emptyReadStats();
    const run = await driveTable(source, 'events', null, { tableOptions, stats });
    return { rows: run.rows, counters: stats.counters, errors: run.errors };
  } finally {
    await source.close?.();
  }
}

describe('events parse workers', () => {
  it('rows, their order and the selected columns are the same on 2 workers as on the main thread (16 KiB chunks)', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS, eventsPerDay: 1500, days: 3, seed: 5 });
    const selections: Record<string, string>[] = [{ safety_lag: '0' }, { safety_lag: '0', select_properties_by_default: 'false', properties: '$browser,$os' }];
    const onWorkers = vi.spyOn(ParsePool.prototype, 'parse');
    for (const tableOptions of selections) {
      const inline = await drive(emulator, 0, tableOptions);
      expect(onWorkers).not.toHaveBeenCalled();
      const pooled = await drive(emulator, 2, tableOptions);
      // The comparison means something only if the workers really parsed chunks.
      expect(onWorkers.mock.calls.length).toBeGreaterThan(3);
      onWorkers.mockClear();
      expect(inline.errors).toEqual([]);
      expect(pooled.errors).toEqual([]);
      expect(inline.rows.length).toBeGreaterThan(3000);
      expect(pooled.rows).toEqual(inline.rows);
      expect(pooled.counters).toEqual(inline.counters);
    }
  });

  it('legacy local time is converted on the workers exactly as on the main thread', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS, eventsPerDay: 800, days: 2, seed: 9, projects: [{ timezone: 'US/Pacific', legacyLocalTime: true }] });
    const inline = await drive(emulator, 0, { safety_lag: '0' });
    const pooled = await drive(emulator, 2, { safety_lag: '0' });
    expect(inline.rows.length).toBeGreaterThan(1000);
    expect(inline.rows.some((r) => r['time'] !== r['time_raw'])).toBe(true);
    expect(pooled.rows).toEqual(inline.rows);
  });

  it('a bad line in a middle chunk fails the read with its body-wide byte offset', async () => {
    expect.hasAssertions();
    const pool = new ParsePool(2);
    pools.push(pool);
    const lines = Array.from({ length: 400 }, (_, i) => event(i));
    lines[250] = '{"event":"broken","properties":{\n';
    const body = Buffer.from(lines.join(''));
    const badOffset = Buffer.byteLength(lines.slice(0, 250).join(''));
    const framer = new ChunkFramer(4096);
    const settings = { what: '2024-06-09', legacyZone: null, selected: null };
    const results = [];
    for (let at = 0; at < body.length; at += 1000) {
      const chunk = framer.push(body.subarray(at, at + 1000));
      if (chunk) results.push(pool.parse(chunk.bytes, chunk.baseOffset, settings).then((r) => r, (e: unknown) => e));
    }
    const rest = framer.finish();
    expect(rest.tail).toBeNull();
    if (rest.lines) results.push(pool.parse(rest.lines.bytes, rest.lines.baseOffset, settings).then((r) => r, (e: unknown) => e));
    const settled = await Promise.all(results);
    const failures = settled.filter((r) => r instanceof TransientError);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.code).toBe('MP_EXPORT_BAD_LINE');
    expect(failures[0]!.context['byteOffset']).toBe(badOffset);
    expect(settled.length).toBeGreaterThan(3);
  });

  it('closing the pool fails the queued chunks instead of leaving them pending', async () => {
    expect.hasAssertions();
    const pool = new ParsePool(1);
    const bytes = () => new Uint8Array(Buffer.from(event(1) + event(2))).buffer;
    const settings = { what: 'x', legacyZone: null, selected: null };
    const first = pool.parse(bytes(), 0, settings).then(() => 'done', () => 'failed');
    const second = pool.parse(bytes(), 0, settings).then(() => 'done', () => 'failed');
    await pool.close();
    expect([await first, await second]).toContain('failed');
    await expect(pool.parse(bytes(), 0, settings)).rejects.toThrow(/closed/);
  });
});

describe('an idle parse worker', () => {
  it('is retired after idleMs (its heap is returned while the call is merged and encoded) and a new one parses the next body', async () => {
    const pool = new ParsePool(1, undefined, 100);
    pools.push(pool);
    const settings = { what: '2024-06-09', legacyZone: null, selected: null };
    const chunk = (from: number): ArrayBuffer => new Uint8Array(Buffer.from(event(from) + event(from + 1))).buffer;
    for (let i = 0; i < 5; i++) {
      expect((await pool.parse(chunk(i * 2), 0, settings)).rows).toBe(2);
      expect(pool.workers).toBe(1); // back-to-back chunks keep their worker
    }
    const retiredBy = Date.now() + 5_000;
    while (pool.workers > 0 && Date.now() < retiredBy) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pool.workers).toBe(0);
    const again = await pool.parse(chunk(100), 0, settings);
    expect(again.rows).toBe(2);
    expect(pool.workers).toBe(1);
    expect(pool.pending).toBe(0);
  });
});

describe('retireIdle', () => {
  it('terminates a worker that holds no chunk at once, and never one that still parses', async () => {
    const pairing = new ParsePool(1, { file: fileURLToPath(new URL('./testing/pairing-parse-worker.mjs', import.meta.url)), execArgv: [] }, 60_000);
    pools.push(pairing);
    const settings = { what: '2024-06-09', legacyZone: null, selected: null };
    const first = pairing.parse(new ArrayBuffer(3), 0, settings); // the pairing worker answers once it holds two
    pairing.retireIdle();
    expect(pairing.workers).toBe(1);
    const second = pairing.parse(new ArrayBuffer(5), 0, settings);
    expect((await Promise.all([first, second])).map((r) => r.rows)).toEqual([3, 5]);
    pairing.retireIdle();
    expect(pairing.workers).toBe(0); // not after idleMs (a minute here): now
  });

  it('is called when an export body has been read: no parse worker outlives the read into the merge', async () => {
    emulator = await startEmulator({ now: () => T0, limits: NO_LIMITS, eventsPerDay: 1500, days: 3, seed: 5 });
    const source = emulatorSource(emulator, { now: () => T0, config: { historicalDays: 4, parseWorkers: 1 }, parseChunkBytes: 16 * 1024 });
    const used = new Set<ParsePool>();
    const parse = ParsePool.prototype.parse;
    vi.spyOn(ParsePool.prototype, 'parse').mockImplementation(function (this: ParsePool, ...args) {
      used.add(this);
      return parse.apply(this, args);
    });
    try {
      const run = await driveTable(source, 'events', null, { tableOptions: { safety_lag: '0' } });
      expect(run.errors).toEqual([]);
      expect(run.rows.length).toBeGreaterThan(3000);
      expect(used.size).toBe(1); // the workers parsed the body
      // The pool's idle timer is 500 ms; the worker is gone as soon as the read has ended.
      expect([...used][0]!.workers).toBe(0);
    } finally {
      await source.close?.();
    }
  });
});

describe('a busy parse worker', () => {
  it('already holds its next chunk when it finishes one (it never waits for this thread to hand it work)', async () => {
    const pairing = new ParsePool(1, { file: fileURLToPath(new URL('./testing/pairing-parse-worker.mjs', import.meta.url)), execArgv: [] });
    pools.push(pairing);
    const settings = { what: '2024-06-09', legacyZone: null, selected: null };
    const answered = Promise.all([pairing.parse(new ArrayBuffer(3), 0, settings), pairing.parse(new ArrayBuffer(5), 0, settings)]).then((results) => results.map((r) => r.rows));
    const late = new Promise<string>((resolve) => setTimeout(() => resolve('the second chunk was never posted'), 3_000).unref());
    expect(await Promise.race([answered, late])).toEqual([3, 5]);
    expect(pairing.pending).toBe(0);
    expect(pairing.workers).toBe(1);
  });
});

describe('a parse worker\'s heap', () => {
  it(`has a young generation of PARSE_WORKER_YOUNG_MB (${PARSE_WORKER_YOUNG_MB} MiB), not V8's default (48 MiB for a worker)`, async () => {
    const limits = new ParsePool(1, { file: fileURLToPath(new URL('./testing/limits-parse-worker.mjs', import.meta.url)), execArgv: [] });
    pools.push(limits);
    const settings = { what: '2024-06-09', legacyZone: null, selected: null };
    // The worker reports the limit V8 applied to its own isolate.
    expect((await limits.parse(new ArrayBuffer(1), 0, settings)).rows).toBe(PARSE_WORKER_YOUNG_MB);
  });
});

describe('a parse worker that dies', () => {
  it('fails its chunk as retryable, and the next chunk gets a fresh worker', async () => {
    expect.hasAssertions();
    const crashing = new ParsePool(1, { file: fileURLToPath(new URL('./testing/crashing-parse-worker.mjs', import.meta.url)), execArgv: [] });
    pools.push(crashing);
    const settings = { what: '2024-06-09', legacyZone: null, selected: null };
    const chunk = (): ArrayBuffer => new Uint8Array(Buffer.from(event(1))).buffer;
    const failure = await crashing.parse(chunk(), 0, settings).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as TransientError).code).toBe('MP_PARSE_WORKER_FAILED');
    expect((failure as TransientError).retryable).toBe(true);
    const again = await crashing.parse(chunk(), 0, settings).then(
      () => null,
      (e: unknown) => e,
    );
    expect((again as TransientError).code).toBe('MP_PARSE_WORKER_FAILED');
    expect(crashing.pending).toBe(0);
    const healthy = new ParsePool(1);
    pools.push(healthy);
    expect((await healthy.parse(chunk(), 0, settings)).rows).toBe(1);
  });
});

describe('ChunkFramer', () => {
  it('cuts only after newlines, keeps every byte once with its body offset, and never splits a UTF-8 character', () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => event(i, i % 7 === 0 ? ',"emoji":"😀€"' : '')).join(''));
    for (const [target, piece] of [
      [1, 7],
      [512, 333],
      [4096, 1000],
      [1 << 20, 4096],
    ] as const) {
      const framer = new ChunkFramer(target);
      const chunks: { bytes: ArrayBuffer; baseOffset: number }[] = [];
      for (let at = 0; at < body.length; at += piece) {
        const chunk = framer.push(body.subarray(at, at + piece));
        if (chunk) chunks.push(chunk);
      }
      const rest = framer.finish();
      if (rest.lines) chunks.push(rest.lines);
      expect(rest.tail).toBeNull();
      let offset = 0;
      for (const chunk of chunks) {
        expect(chunk.baseOffset).toBe(offset);
        const bytes = Buffer.from(chunk.bytes);
        expect(bytes[bytes.length - 1]).toBe(0x0a);
        expect(bytes.toString('utf8')).not.toContain('\ufffd');
        offset += bytes.length;
      }
      expect(Buffer.concat(chunks.map((c) => Buffer.from(c.bytes)))).toEqual(body);
      expect(framer.bytes).toBe(body.length);
    }
  });

  it('returns the unterminated tail of a cut body with its offset', () => {
    const framer = new ChunkFramer(1 << 20);
    const whole = event(1) + event(2);
    expect(framer.push(Buffer.from(whole + '{"event":"cut'))).toBeNull();
    const rest = framer.finish();
    expect(rest.tail?.toString()).toBe('{"event":"cut');
    expect(rest.tailOffset).toBe(Buffer.byteLength(whole));
    expect(parseEventChunk(new Uint8Array(rest.lines!.bytes), 0, { what: 'x', legacyZone: null, selected: null }).rows).toBe(2);
  });
});

describe('defaultParseWorkers', () => {
  it("one worker per core beyond the first, capped at 4", () => {
    expect([1, 2, 3, 4, 6, 16].map((cores) => defaultParseWorkers(cores))).toEqual([0, 1, 2, 3, 4, 4]);
  });
});
