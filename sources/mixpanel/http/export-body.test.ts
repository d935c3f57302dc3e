/**
 * The export body read path (issue 17, cause 2) against a server that frames its chunks by hand: 1-byte and 1 MiB
 * HTTP chunks, a slow consumer, and bodies that break. Every byte must arrive; a body that does not end cleanly
 * must fail the read (TransientError), never end it.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TransientError } from '../../../connector-spec/index.js';
import { createMixpanelClient, type ClientLimits } from '../client.js';
import type { MixpanelClient } from '../client-types.js';
import { FAST_LIMITS } from '../testing/emulator-source.js';
import { ExportBody, requestExportBody } from './export-body.js';
import { startChunkedServer, type ChunkedServer, type ChunkedServerOptions } from './testing/chunked-server.js';

/** JSONL whose values are hashes: gzip cannot shrink it much, so a few MB stay a few MB on the wire. */
function jsonl(lines: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const r = createHash('sha256').update(String(i)).digest('hex');
    parts.push(`{"event":"E","properties":{"time":${1_700_000_000_000 + i},"distinct_id":"u${i % 97}","$insert_id":"${r.slice(0, 16)}","r":"${r}","é":"ü ${i}"}}\n`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

const SMALL = jsonl(2_000); // ~330 KB of JSONL, ~170 KB gzipped: 170k one-byte HTTP chunks
const LARGE = jsonl(40_000); // ~7.5 MB of JSONL, ~2 MB gzipped (level 1)
const SMALL_GZ = gzipSync(SMALL);
const LARGE_GZ = gzipSync(LARGE, { level: 1 });

/** Length and SHA-256 of some bytes: compared instead of the bytes (a deep equal of megabytes is slow). */
function digest(bytes: Buffer): string {
  return `${bytes.length}:${createHash('sha256').update(bytes).digest('hex')}`;
}

let server: ChunkedServer | undefined;
let client: MixpanelClient | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  // Taken first: a test that hangs must fail alone, not leave its hung agent to every later test's afterEach.
  const [c, a, s] = [client, agent, server];
  server = client = agent = undefined;
  await c?.close();
  await a?.destroy(); // destroy, not close: close waits for a request that may never end
  await s?.close();
});

async function serve(options: ChunkedServerOptions): Promise<ChunkedServer> {
  server = await startChunkedServer(options);
  return server;
}

function clientFor(url: string, limits: Partial<ClientLimits> = {}): MixpanelClient {
  client = createMixpanelClient(
    { auth: { kind: 'api_secret', secret: 'test-secret' }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 1, baseUrl: url },
    { limits: { ...FAST_LIMITS, ...limits } },
  );
  return client;
}

/** Reads a body like a parser that is slower than the server: a pause after every piece. */
async function readSlowly(body: AsyncIterable<Buffer>, pauseMs = 2): Promise<{ bytes: Buffer; pieces: number }> {
  const pieces: Buffer[] = [];
  for await (const piece of body) {
    pieces.push(piece);
    await sleep(pauseMs);
  }
  return { bytes: Buffer.concat(pieces), pieces: pieces.length };
}

async function exportText(c: MixpanelClient): Promise<Buffer> {
  const response = await c.exportStream({ fromDate: '2026-03-31', toDate: '2026-03-31' }, { table: 'events' });
  return (await readSlowly(response.body as AsyncIterable<Buffer>)).bytes;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the read to fail');
}

describe('export body: every byte arrives whatever the chunking, read by a slow consumer', () => {
  it('1-byte HTTP chunks: the client reads the exact body; the raw body reaches gunzip in slabs, not byte by byte', async () => {
    expect.hasAssertions();
    const s = await serve({ body: SMALL_GZ, pieceBytes: 1 });
    expect(digest(await exportText(clientFor(s.url)))).toBe(digest(SMALL));
    agent = new Agent();
    const response = await requestExportBody(agent, s.url, { headers: {} });
    const raw = await readSlowly(response.body as AsyncIterable<Buffer>, 0);
    expect(digest(gunzipSync(raw.bytes))).toBe(digest(SMALL));
    // 170k chunks on the wire; without coalescing the consumer would get one piece per chunk.
    expect(raw.pieces).toBeLessThan(SMALL_GZ.length / 1024);
  });

  it('1 MiB HTTP chunks: the client reads the exact body', async () => {
    expect.hasAssertions();
    const s = await serve({ body: LARGE_GZ, pieceBytes: 1 << 20 });
    expect(digest(await exportText(clientFor(s.url)))).toBe(digest(LARGE));
  });

  it('a server faster than the consumer: the queue stays under its high-water mark and the socket is paused rarely', async () => {
    expect.hasAssertions();
    const s = await serve({ body: LARGE_GZ, pieceBytes: 1 << 20 });
    agent = new Agent();
    const limits = { highWaterMark: 128 * 1024, lowWaterMark: 32 * 1024 };
    const response = await requestExportBody(agent, s.url, { headers: {}, limits });
    const body = response.body as ExportBody;
    const raw = await readSlowly(body as AsyncIterable<Buffer>, 3);
    expect(digest(gunzipSync(raw.bytes))).toBe(digest(LARGE));
    expect(body.pauses).toBeGreaterThanOrEqual(1);
    // Paused once per (high − low) bytes drained at most, not once per read.
    expect(body.pauses).toBeLessThanOrEqual(Math.ceil(LARGE_GZ.length / (limits.highWaterMark - limits.lowWaterMark)) + 1);
    // Bounded: the high-water mark plus one delivery of the parser (what one socket read held), never the body.
    const bound = limits.highWaterMark + 256 * 1024;
    expect(LARGE_GZ.length).toBeGreaterThan(4 * bound);
    expect(body.peakQueuedBytes).toBeGreaterThan(limits.highWaterMark);
    expect(body.peakQueuedBytes).toBeLessThanOrEqual(bound);
  });

  it('the test server counts a client that closes after reading all it was sent (FIN, not a reset)', async () => {
    expect.hasAssertions();
    // On a loaded machine the client has read every byte before it closes, so the kernel sends FIN and Node ends
    // the server's side by itself: the server must still count that close as the client's.
    const s = await serve({ body: SMALL_GZ, pieceBytes: 1024, breakAfter: { bytes: 4096, how: 'stall' } });
    const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
    socket.write('GET /api/2.0/export HTTP/1.1\r\nHost: x\r\n\r\n');
    let received = 0;
    for await (const piece of socket as AsyncIterable<Buffer>) {
      received += piece.length;
      if (received >= 4096) break; // leaving the loop destroys the socket, with nothing left unread
    }
    await vi.waitFor(() => expect(s.closedByClient).toBe(1), { timeout: 5_000 });
  });

  it('destroying the body aborts the request', async () => {
    expect.hasAssertions();
    // The server stalls after 1.5 MB and would hold the connection open until the body timeout (300 s).
    const s = await serve({ body: LARGE_GZ, pieceBytes: 1 << 20, breakAfter: { bytes: 1_500_000, how: 'stall' } });
    const response = await clientFor(s.url).exportStream({ fromDate: '2026-03-31', toDate: '2026-03-31' }, { table: 'events' });
    const iterator = (response.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    response.body.destroy();
    await vi.waitFor(() => expect(s.closedByClient).toBe(1), { timeout: 15_000 });
  });
});

describe('export body: a body that does not end cleanly is a failed read', () => {
  const cases: { name: string; options: ChunkedServerOptions; limits?: Partial<ClientLimits> }[] = [
    { name: 'cut without the final chunk (1-byte chunks)', options: { body: SMALL_GZ, pieceBytes: 1, breakAfter: { bytes: 60_000, how: 'cut' } } },
    { name: 'reset mid-body (1 MiB chunks)', options: { body: LARGE_GZ, pieceBytes: 1 << 20, breakAfter: { bytes: 1_500_000, how: 'reset' } } },
    { name: 'gzip cut short inside a complete HTTP response', options: { body: LARGE_GZ.subarray(0, LARGE_GZ.length - 5_000), pieceBytes: 50_000 } },
    { name: 'stalled mid-body (idle timeout)', options: { body: SMALL_GZ, pieceBytes: 4096, breakAfter: { bytes: 30_000, how: 'stall' } }, limits: { bodyTimeoutMs: 300 } },
  ];
  for (const { name, options, limits } of cases) {
    it(`${name}: TransientError MP_STREAM_BROKEN, never a clean end`, async () => {
      expect.hasAssertions();
      const s = await serve(options);
      const error = await failureOf(exportText(clientFor(s.url, limits)));
      expect(error).toBeInstanceOf(TransientError);
      expect((error as TransientError).code).toBe('MP_STREAM_BROKEN');
      expect((error as TransientError).message).not.toContain('test-secret');
    });
  }
});

/**
 * A controller that plays undici's parser: `pause()` stops deliveries, and `resume()` first delivers an empty chunk
 * (undici's parser does so when it resumes with nothing buffered on the socket), then the rest of `data` on a later
 * turn, 64 KiB per chunk, until paused again. Ends the message when `data` is used up.
 */
function playParser(body: ExportBody, data: Buffer): Dispatcher.DispatchController {
  let at = 0;
  let paused = false;
  const deliver = (): void => {
    while (!paused && at < data.length) {
      body.accept(data.subarray(at, at + 65_536));
      at += 65_536;
    }
    if (!paused && at >= data.length) body.endOfMessage();
  };
  const controller: Dispatcher.DispatchController = {
    aborted: false,
    reason: null,
    get paused() {
      return paused;
    },
    abort() {},
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      body.accept(Buffer.alloc(0));
      setImmediate(deliver);
    },
  };
  setImmediate(deliver);
  return controller;
}

describe('export body: the parser is always resumed', () => {
  it('an empty chunk delivered on resume, while the queue is still above the high-water mark, does not pause the parser for good', async () => {
    expect.hasAssertions();
    // Node calls _read (and so resume) before it hands the consumer what is queued: the empty chunk arrives while
    // the queue is above the high-water mark. Pausing then, with no push to come, hung the read (one CI run in
    // three; a loop against a real server hung within 60 requests).
    const body = new ExportBody({ highWaterMark: 128 * 1024, lowWaterMark: 32 * 1024, coalesceBelow: 16 * 1024, slabBytes: 64 * 1024 });
    const data = LARGE_GZ;
    body.attach(playParser(body, data));
    const read = readSlowly(body as AsyncIterable<Buffer>, 1);
    const hung = sleep(5_000, 'hung' as const, { ref: false });
    const outcome = await Promise.race([read, hung]);
    expect(outcome).not.toBe('hung');
    if (outcome === 'hung') return;
    expect(digest(outcome.bytes)).toBe(digest(data));
    expect(body.pauses).toBeGreaterThanOrEqual(2);
  });
});
