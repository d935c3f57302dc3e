/**
 * The byte scanner's rows are today's rows. Every corpus goes through `parseEventChunk` (the scanner, with its
 * fallbacks) and `parseEventChunkByRecords` (JSON.parse per line, today's path), chunk by chunk at several chunk
 * sizes, and the two must give the same batches byte for byte (their Arrow IPC streams), the same counters and
 * zone-shift tallies, or the same error: the real-shaped bench generator (1 in 10 hostile, and only hostile lines),
 * the emulator's generator and its hostile fixture, E1's lossless fuzz corpus, hand-written edge cases of every
 * fallback rule, and thousands of randomly broken lines. The same corpora on a parse worker give the same rows.
 * Each corpus also checks how many lines the scanner took, so a scanner that falls back on everything fails.
 */
import { Field, Schema, Table, tableToIPC, type RecordBatch } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8MapType } from '../../../connector-spec/index.js';
import { startEmulator } from '../../../emulator/index.js';
import { EVENT_CORE_COLUMNS, EVENT_PROPERTIES, propertyTable } from '../properties.js';
import { rowsOf } from '../testing/driver.js';
import { EventBatchBuilder } from './builder.js';
import { ChunkFramer } from './chunk-framer.js';
import { parseEventChunk, parseEventChunkByRecords, type ChunkResult, type ChunkSettings } from './parse-chunk.js';
import { ParsePool } from './parse-pool.js';
import { ScanBatchBuilder } from './scan-builder.js';
import { CORE_FIELDS } from './schema.js';
import { Lines, random } from './testing/fuzz-lines.js';
import { realShapedLines } from './testing/real-lines.js';

const SETTINGS: ChunkSettings = { what: 'differential', legacyZone: null, selected: null };
const pool = new ParsePool(1);
afterAll(async () => {
  await pool.close();
});

function ipc(batch: RecordBatch): Buffer {
  return Buffer.from(tableToIPC(new Table([batch]), 'stream'));
}

function describeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return { name: error.constructor.name, message: error.message, code: (error as { code?: unknown }).code, context: (error as { context?: unknown }).context };
}

function run(parse: typeof parseEventChunk, bytes: Uint8Array, baseOffset: number, settings: ChunkSettings): { result?: ChunkResult; error?: unknown } {
  try {
    return { result: parse(bytes, baseOffset, settings) };
  } catch (error) {
    return { error };
  }
}

/** Both paths on one chunk: equal batches (IPC bytes), counters and tally, or equal errors. Returns the scan's result. */
function expectSame(bytes: Uint8Array, baseOffset: number, settings: ChunkSettings, what: string): ChunkResult | undefined {
  const scan = run(parseEventChunk, bytes, baseOffset, settings);
  const today = run(parseEventChunkByRecords, bytes, baseOffset, settings);
  if (today.error !== undefined) {
    expect(describeError(scan.error), what).toEqual(describeError(today.error));
    return undefined;
  }
  expect(scan.error, what).toBeUndefined();
  const a = scan.result!;
  const b = today.result!;
  expect(a.rows, what).toBe(b.rows);
  expect(a.batches.length, what).toBe(b.batches.length);
  a.batches.forEach((batch, i) => {
    if (!ipc(batch).equals(ipc(b.batches[i]!))) {
      // Name the first differing cell, then fail on the bytes whatever it was.
      expect(rowsOf(batch), what).toEqual(rowsOf(b.batches[i]!));
      expect(batch.schema.fields.map((f) => [f.name, String(f.type)]), what).toEqual(b.batches[i]!.schema.fields.map((f) => [f.name, String(f.type)]));
      expect.fail(`${what}: batch ${i} differs in its Arrow buffers`);
    }
  });
  expect(a.counters, what).toEqual(b.counters);
  expect(a.zoneShift, what).toEqual(b.zoneShift);
  return a;
}

/** A body cut into chunks of about `target` bytes as the read path cuts it. */
function chunksOf(body: Buffer, target: number): { bytes: Uint8Array; baseOffset: number }[] {
  const framer = new ChunkFramer(target);
  const chunks: { bytes: Uint8Array; baseOffset: number }[] = [];
  for (let at = 0; at < body.length; at += 7_777) {
    const chunk = framer.push(body.subarray(at, Math.min(body.length, at + 7_777)));
    if (chunk !== null) chunks.push({ bytes: new Uint8Array(chunk.bytes), baseOffset: chunk.baseOffset });
  }
  const rest = framer.finish();
  if (rest.lines !== null) chunks.push({ bytes: new Uint8Array(rest.lines.bytes), baseOffset: rest.lines.baseOffset });
  expect(rest.tail).toBeNull();
  return chunks;
}

/** Every chunk of `lines` at each chunk size through both paths; returns the lines the scanner sent to today's path. */
function expectSameBody(lines: readonly string[], settings: ChunkSettings = SETTINGS, targets: readonly number[] = [1 << 20, 16 * 1024]): number {
  const body = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  let fallbacks = -1;
  for (const target of targets) {
    let rows = 0;
    let sent = 0;
    for (const chunk of chunksOf(body, target)) {
      const result = expectSame(chunk.bytes, chunk.baseOffset, settings, `chunk at ${chunk.baseOffset} (target ${target})`);
      rows += result?.rows ?? 0;
      sent += result?.fallbacks ?? 0;
    }
    expect(rows).toBe(lines.filter((l) => l.trim() !== '').length);
    fallbacks = sent;
  }
  return fallbacks;
}

/** The same body on a parse worker: the same rows and counters as today's path on this thread. */
async function expectSameOnWorker(lines: readonly string[], settings: ChunkSettings = SETTINGS): Promise<void> {
  const body = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  for (const chunk of chunksOf(body, 256 * 1024)) {
    const today = parseEventChunkByRecords(chunk.bytes, chunk.baseOffset, settings);
    const onWorker = await pool.parse(chunk.bytes.slice().buffer, chunk.baseOffset, settings);
    expect(onWorker.batches.flatMap((b) => rowsOf(b))).toEqual(today.batches.flatMap((b) => rowsOf(b)));
    expect(onWorker.counters).toEqual(today.counters);
    expect(onWorker.zoneShift).toEqual(today.zoneShift);
  }
}

const BASE = '"time":1718000000000,"distinct_id":"u1","$insert_id":"i1","mp_processing_time_ms":1718000001000';

/** Hand-written lines for every rule: each is taken or sent back, and both ways give today's row (or error). */
function edgeLines(): string[] {
  const props = (extra: string, base = BASE): string => `{"event":"E","properties":{${base}${extra === '' ? '' : `,${extra}`}}}`;
  const nest = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  const lines = [
    props(''),
    props('"a":1'),
    ` { "event" : "E" , "properties" : { "time" : 1718000000000 , "distinct_id" : "u1" , "$insert_id" : "i1" , "a" : [ 1 , { "b" : 2 , "c" : [ ] } ] , "s" : "x y" , "o" : { } } } `,
    `\t{"event":"E","properties":{${BASE},"a":{"b" :1, "c": "d e"}}}\t`,
    `${props('"a":1')}\r`,
    props('"\\u0061":1'),
    props('"a\\nb":1'),
    props('"1":1'),
    props('"01":1'),
    props('"4294967295":1'),
    props('"-1":1'),
    props('"b":1,"2":2,"a":3'),
    props('"x":1,"10":1,"9":1,"$browser":"b"'),
    props('"a":1,"a":2'),
    props('"$browser":"a","$browser":"b"'),
    props('"time":1718000000001'),
    props('"__proto__":{"x":1}'),
    props('"a":{"__proto__":1}'),
    props('"a":{"x":1,"x":2}'),
    props('"a":[{"x":1,"x":1}]'),
    props('"a":{"\\u0078":1}'),
    props(`"a":{${Array.from({ length: 9 }, (_, i) => `"k${i}":${i}`).join(',')}}`),
    props(`"a":{${Array.from({ length: 9 }, (_, i) => `"k${i}":${i}`).join(',')},"k3":3}`),
    props(`"a":{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k39":0}`),
    props(`"a":${nest(63)}`),
    props(`"a":${nest(64)}`),
    props(`"a":${nest(65)}`),
    props(`"a":${nest(300)}`),
    props('"s":"a\u0001b"'),
    props('"s":"tab\there"'),
    props('"s":"del\u007f"'),
    props('"s":"line\u2028sep\u0085 😀"'),
    props('"$browser":"Chr\u0006ome"'),
    `\uFEFF${props('')}`,
    props('"a":1,'),
    props('"a" 1'),
    `${props('')} x`,
    `${props('')}}`,
    props('"a":tru'),
    props('"a":nul'),
    props('"a":01'),
    props('"a":1.'),
    props('"a":.5'),
    props('"a":-'),
    props('"a":1e'),
    props('"a":+1'),
    props('"a":NaN'),
    props('"a":[1,]'),
    props('"a":{,}'),
    props('"a":{"b"}'),
    props('"a":"\\x"'),
    props('"a":"\\u12"'),
    "{'event':'E'}",
    '{"event":"E","properties":{"a":1}',
    '{"event":"E"}',
    '{"event":"E","properties":[1]}',
    '{"event":"E","properties":"x"}',
    '{"event":"E","properties":null}',
    '[1,2]',
    '"just a string"',
    '{}',
    `{"properties":{${BASE}}}`,
    `{"event":7,"properties":{${BASE}}}`,
    `{"event":{"x":1},"properties":{${BASE}}}`,
    `{"event":null,"properties":{${BASE}}}`,
    `{"event":"E\\u00e9\\\"q\\\\","properties":{${BASE}}}`,
    `{"event":"E\\ud800","properties":{${BASE}}}`,
    `{"event":"A","event":"B","properties":{${BASE}}}`,
    `{"event":"A","properties":{${BASE}},"properties":{${BASE}}}`,
    `{"propert\\u0069es":{${BASE}},"event":"E"}`,
    `{"extra":{"a":1,"a":2},"event":"E","properties":{${BASE}}}`,
    `{"extra":[1,{"b":[true,false,null,-0.0,"x"]}],"event":"E","properties":{${BASE}},"tail":1e400}`,
    `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1"}}`,
    `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1","$insert_id":null}}`,
    `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1","$insert_id":42}}`,
    `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1","$insert_id":{"a":1}}}`,
    `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1","$insert_id":"i\\u0031"}}`,
    `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1","$insert_id":""}}`,
    ...['null', '123', '1.0', '-0', '1e400', '12345678901234567890', 'true', '""', '"u\\u00e9"', '"u\\ud800"', '{"a":1}', '[1]', '"用户-1"'].map(
      (d) => `{"event":"E","properties":{"time":1718000000000,"distinct_id":${d},"$insert_id":"i1"}}`,
    ),
    `{"event":"E","properties":{"time":1718000000000,"$insert_id":"i1"}}`,
    ...['null', '"1718000000000"', '1718000000000.0', '1.718e12', '1.7180000000005e12', '-0', '-5', '9007199254740993', '1e400', 'true', '[1]', '{"t":1}', '1718000000999'].map(
      (t) => `{"event":"E","properties":{"time":${t},"distinct_id":"u1","$insert_id":"i1","mp_processing_time_ms":1718000001000}}`,
    ),
    `{"event":"E","properties":{"distinct_id":"u1","$insert_id":"i1"}}`,
    ...['null', '"x"', '1.5', '1718000001000.0', '12345678901234567890', '[1]'].map((p) => `{"event":"E","properties":{"time":1718000000000,"distinct_id":"u1","$insert_id":"i1","mp_processing_time_ms":${p}}}`),
    ...['null', '1', '"Chrome\\u00e9"', '""', '["a"]', '"\\ud800"', '"a\\/b"'].map((v) => props(`"$browser":${v}`)),
    ...['1.0', '1e3', '-0', '9007199254740993', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '1.5', '"1"', 'null', 'true', '1e400', '0.1e1', '123456789012345'].map((v) =>
      props(`"$screen_width":${v}`),
    ),
    ...['1e400', '12345678901234567890', '16.6', '-0.0', '1E5', '0.1e1', '9007199254740993', '1.7976931348623157e308', '5e-324', '"17"', '0.1000000000000000055511151231257827', '123456.789012345', '1234567890.1234567'].map((v) =>
      props(`"$browser_version":${v}`),
    ),
    ...['true', 'false', '"true"', '1', 'null', '{}'].map((v) => props(`"$import":${v}`)),
    props(['-0.0', '1.0', '1E5', '1e-7', '1e21', '0.1e1', '123456789012345678901234567890', '-0', '1.50', '1e+21', '-0e0', '4.9e-324', '9007199254740993'].map((n, i) => `"n${i}":${n}`).join(',')),
    props(['"caf\\u00e9"', '"a\\/b"', '"q\\"uote"', '"back\\\\slash"', '"line\\nbreak"', '"\\u001F"', '"\\ud83d\\ude00"', '"\\b\\f\\r\\t"'].map((s, i) => `"s${i}":${s}`).join(',')),
    props(Array.from({ length: 600 }, (_, i) => `"w${i}":${i}`).join(',')),
    props(`${Array.from({ length: 600 }, (_, i) => `"w${i}":${i}`).join(',')},"w17":0`),
    props(`${Array.from({ length: 40 }, (_, i) => `"c${i}":${i}`).join(',')},"c3":0`),
    props(`${Array.from({ length: 40 }, (_, i) => `"c${i}":${i}`).join(',')},"c38":0`),
    props('"event":"a property","properties":{"time":1}'),
    ...decimals(200).map((d, i) => props(`"$browser_version":${d},"$duration":-${d},"$screen_width":${i % 2 === 0 ? d : d.replace('.', '')}`)),
    'Export terminated early: please retry',
    '',
    '   ',
    '\r',
  ];
  return lines;
}

/** Decimals of 14 to 19 significant digits, the point anywhere (where a fast decimal reader can go wrong). */
function decimals(count: number): string[] {
  const next = random(99);
  return Array.from({ length: count }, () => {
    const digits = Array.from({ length: 14 + Math.floor(next() * 6) }, () => Math.floor(next() * 10)).join('').replace(/^0+/, '1');
    const point = 1 + Math.floor(next() * (digits.length - 1));
    return `${digits.slice(0, point)}.${digits.slice(point)}`;
  });
}

/** Random damage to a line: each result is some line, valid or not, that both paths must treat alike. */
function mutate(line: string, next: () => number): string {
  const at = Math.floor(next() * line.length);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  switch (Math.floor(next() * 7)) {
    case 0:
      return line.slice(0, at) + line.slice(at + 1);
    case 1:
      return line.slice(0, at) + line[at] + line.slice(at);
    case 2:
      return line.slice(0, at) + pick(['"', '\\', ',', '{', '}', '[', ']', ' ', '\t', '0', '-', 'e', '.', ':', '\u0001', '\\u00e9', '1', 'é']) + line.slice(at);
    case 3:
      return line.slice(0, at) + line.slice(at + 1, at + 2) + line.slice(at, at + 1) + line.slice(at + 2);
    case 4: {
      // repeat a property of the line
      const m = /,("[^"\\]+":(?:"[^"\\]*"|[-\d.eE+]+|true|false|null))/.exec(line.slice(at));
      return m ? line.replace('"properties":{', `"properties":{${m[1]},`) : line;
    }
    case 5:
      return line.replace(/"([a-z_$][^"\\]*)":/, (all, key: string) => (next() < 0.5 ? `"${next() < 0.5 ? '7' : '__proto__'}":` : `"${key}\\u0021":`));
    default:
      return line.slice(0, at);
  }
}

describe('the byte scanner gives today\'s rows, counters and errors', () => {
  it('real-shaped lines (1 in 10 hostile): the same batches at 1 MiB and 16 KiB chunks, almost every line scanned', () => {
    const lines = realShapedLines(3000, false);
    const fallbacks = expectSameBody(lines);
    // Only events without $insert_id (0.1%) need today's path.
    expect(fallbacks).toBeLessThan(lines.length / 100);
  });

  it('real-shaped hostile lines only', () => {
    const lines = realShapedLines(1000, true);
    expect(expectSameBody(lines)).toBeLessThan(lines.length / 50);
  });

  it('selected standard columns and legacy local time', () => {
    const lines = realShapedLines(800, false, 5000);
    expectSameBody(lines, { what: 'selected', legacyZone: null, selected: ['$browser', '$screen_width', '$browser_version', '$import'] }, [1 << 20]);
    expectSameBody(lines, { what: 'legacy', legacyZone: 'US/Pacific', selected: null }, [1 << 20]);
  });

  it("the emulator's generated events and its hostile fixture", async () => {
    const T = Date.parse('2024-06-10T12:00:00Z');
    const emulator = await startEmulator({ now: () => T, eventsPerDay: 1500, days: 3, seed: 5 });
    try {
      emulator.data.addHostileFixtures({ processingTimeMs: T - 60_000 });
      const lines = emulator.data.exportLines({ fromDate: '2024-06-07', toDate: '2024-06-10' });
      expect(lines.length).toBeGreaterThan(3000);
      const fallbacks = expectSameBody(lines);
      expect(fallbacks).toBeGreaterThan(0); // the hostile fixture's event without $insert_id
      expect(fallbacks).toBeLessThan(10);
    } finally {
      await emulator.close();
    }
  });

  it("E1's lossless fuzz corpus (every number form, escapes, integer-like keys, whitespace)", () => {
    for (const [spacing, odd, seed] of [
      [0, false, 7],
      [0, true, 8],
      [0.3, true, 9],
    ] as const) {
      const lines = new Lines(random(seed), spacing, odd);
      const corpus = Array.from({ length: 1500 }, (_, n) => lines.line(n).text);
      const fallbacks = expectSameBody(corpus);
      // Integer-like and escaped keys are today's; the rest is scanned.
      expect(fallbacks).toBeLessThan(odd ? corpus.length * 0.9 : 1);
    }
  });

  it('hand-written edge cases of every rule, one line per chunk and all together', () => {
    const lines = edgeLines();
    let taken = 0;
    for (const [i, line] of lines.entries()) {
      const result = expectSame(new Uint8Array(Buffer.from(`${line}\n`, 'utf8')), 1000 * i, SETTINGS, `edge line ${i}: ${line.slice(0, 200)}`);
      if (result !== undefined && result.rows === 1 && result.fallbacks === 0) taken++;
    }
    expect(taken).toBeGreaterThan(60);
    expectSameBody(lines.filter((line) => parseOk(line)));
  });

  it('a chunk of more than 16,384 rows is cut into the same batches', () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `{"event":"E","properties":{"time":${1718000000000 + i},"distinct_id":"u${i % 97}","$insert_id":"i${i}","n":${i}}}`);
    const body = new Uint8Array(Buffer.from(lines.map((l) => `${l}\n`).join('')));
    expect(body.length).toBeGreaterThan(3 << 20);
    const result = expectSame(body, 0, SETTINGS, 'one large chunk');
    // Cut after the 1 MiB step that passed 16,384 rows (today's rule), so more than one batch, the first beyond 16,384.
    expect(result!.batches.length).toBeGreaterThan(1);
    expect(result!.batches[0]!.numRows).toBeGreaterThan(16_384);
    expect(result!.fallbacks).toBe(0);
  });

  it('invalid UTF-8, and lines split from raw bytes', () => {
    const good = Buffer.from(`{"event":"E","properties":{${BASE},"s":"ok"}}\n`);
    const bad = [
      Buffer.from(`{"event":"E","properties":{${BASE},"s":"\xff"}}\n`, 'latin1'),
      Buffer.concat([Buffer.from(`{"event":"E","properties":{${BASE},"s":"`), Buffer.from([0xc0, 0x80]), Buffer.from('"}}\n')]),
      Buffer.concat([Buffer.from(`{"event":"E","properties":{${BASE},"s":"`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}\n')]),
      Buffer.concat([Buffer.from(`{"event":"E","properties":{${BASE},"$browser":"`), Buffer.from([0xe2, 0x82]), Buffer.from('"}}\n')]),
      Buffer.concat([Buffer.from(`{"event":"`), Buffer.from([0xf0, 0x9f]), Buffer.from(`","properties":{${BASE}}}\n`)]),
    ];
    for (const line of bad) {
      const result = expectSame(new Uint8Array(Buffer.concat([good, line, good])), 0, SETTINGS, line.toString('latin1'));
      expect(result?.fallbacks).toBe(1);
    }
    // A body that ends without a newline: the same error (a cut stream).
    expectSame(new Uint8Array(Buffer.concat([good, good.subarray(0, 30)])), 77, SETTINGS, 'unterminated');
  });

  it('thousands of randomly broken lines: the same row or the same error, line by line', () => {
    const next = random(17);
    const sources = [...realShapedLines(300, false, 20_000), ...realShapedLines(100, true, 30_000), ...edgeLines().filter(parseOk)];
    let errors = 0;
    for (let n = 0; n < 3000; n++) {
      let line = sources[Math.floor(next() * sources.length)]!;
      for (let k = 1 + Math.floor(next() * 2); k > 0; k--) line = mutate(line, next);
      const result = expectSame(new Uint8Array(Buffer.from(`${line.replaceAll('\n', ' ')}\n`, 'utf8')), n, SETTINGS, `mutant ${n}: ${line.slice(0, 300)}`);
      if (result === undefined) errors++;
    }
    // The mutants reach both outcomes.
    expect(errors).toBeGreaterThan(400);
    expect(errors).toBeLessThan(2600);
  });

  it('a column set with a timestamp property (the builders side by side)', () => {
    const table = propertyTable([...EVENT_PROPERTIES.slice(0, 3), { property: '$created', column: 'created', kind: 'timestamp' }], EVENT_CORE_COLUMNS);
    const columns = { table, schema: new Schema([...CORE_FIELDS, ...table.fields, new Field('custom_properties', utf8MapType(), true)]) };
    const values = ['"2024-01-02T03:04:05"', '"2024-01-02 03:04:05"', '"2024-01-02T03:04:05.123Z"', '"2024-02-30"', '1704164645', '1704164645123', '"1704164645"', '1e400', 'true', 'null', '[1]', '"x"', '"2024-01-02T03:04:05+02:00"'];
    const today = new EventBatchBuilder(null, 'timestamps', columns);
    const scan = new ScanBatchBuilder(columns);
    scan.start(null, 'timestamps');
    values.forEach((v, i) => {
      const line = `{"event":"E","properties":{"time":${1718000000000 + i},"distinct_id":"u","$insert_id":"i${i}","$created":${v},"$city":"c"}}`;
      today.line(line, 0);
      const bytes = Buffer.from(line);
      scan.line(bytes, 0, bytes.length, 0, true);
    });
    expect(scan.fallbacks).toBe(0);
    const a = scan.flush();
    const b = today.flush();
    expect(rowsOf(a)).toEqual(rowsOf(b));
    expect(ipc(a).equals(ipc(b))).toBe(true);
    expect(rowsOf(a).filter((r) => r['created'] !== null)).toHaveLength(7);
  });

  it('on a parse worker: the same rows and counters', async () => {
    await expectSameOnWorker(realShapedLines(1500, false, 40_000));
    await expectSameOnWorker(realShapedLines(300, true, 40_000));
    await expectSameOnWorker(edgeLines().filter(parseOk));
    const fuzz = new Lines(random(8), 0.3, true);
    await expectSameOnWorker(Array.from({ length: 800 }, (_, n) => fuzz.line(n).text));
  });
});

/** Lines today's path maps without an error. */
function parseOk(line: string): boolean {
  try {
    parseEventChunkByRecords(new Uint8Array(Buffer.from(`${line}\n`, 'utf8')), 0, SETTINGS);
    return line.trim() !== '';
  } catch {
    return false;
  }
}
