/**
 * The HTTP body micro-bench (issue 17, cause 2): one process reads one gzip body from `body-server.ts` through one
 * read path and hands the gunzipped bytes to a consumer that spends `--delay-ms` of CPU per chunk it receives.
 * Time it from outside (whole process, median of several runs), or read the `RESULT` line it prints.
 *
 *   node --import tsx bench/http-body/read-body.ts --path <candidate> --url http://127.0.0.1:PORT/ [--delay-ms 0.3]
 *        [--ms-per-mib 19.2] [--gunzip-chunk 16384] [--gunzip-hwm N] [--expect-bytes N]
 * `--delay-ms` is spent per chunk the consumer receives (the model); `--ms-per-mib` per MiB received (a
 * consumer whose cost is its bytes, like the parser: 19.2 ms/MiB is the 0.3 ms per 16 KiB chunk), which
 * compares paths that deliver different chunk sizes fairly. Both busy-wait on the clock, so on a loaded machine
 * they measure time, not CPU: `--work-passes N` instead does real work, N CRC-32 passes over every chunk
 * (about 0.33 ms per MiB each on the reference machine: 58 passes ≈ 19 ms/MiB).
 *   node --import tsx bench/http-body/read-body.ts --make-body .bench/http-body/body.jsonl.gz [--mb 225]
 *
 * Candidates (`--path`); all but `undici-fetch` and `connector` gunzip with `zlib.createGunzip` set by
 * `--gunzip-chunk` (output chunk size, default 16 KiB as Node's) and `--gunzip-hwm` (how far it inflates ahead):
 *   undici           undici `request()`, its body piped through gunzip (the reproduction)
 *   undici-hwm       the same with the body's highWaterMark raised to 4 MiB
 *   node-http        `node:http` `get()`, the IncomingMessage piped through gunzip
 *   undici-fetch     undici `fetch()`, which gunzips by itself (web streams)
 *   dispatch-queue   `requestExportBody()` (sources/mixpanel/http/export-body.ts): an undici dispatch handler
 *                    queueing whole Buffers, pausing the socket only above a high-water mark
 *   connector        the Mixpanel client's own `exportStream()` (whatever the checkout's read path is)
 *   gunzip-only      no HTTP: the file (`--file`) read from disk and gunzipped in one call (inflate alone)
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { crc32, createGunzip, gunzipSync, createGzip } from 'node:zlib';
import { Agent, fetch, request } from 'undici';
import { createMixpanelClient } from '../../sources/mixpanel/client.js';
import { mixpanelConfigFromEnv } from '../../sources/mixpanel/index.js';
import { requestExportBody } from '../../sources/mixpanel/http/export-body.js';
import { eventLine } from '../generator.js';

const PATHS = ['undici', 'undici-hwm', 'node-http', 'undici-fetch', 'dispatch-queue', 'connector', 'gunzip-only'] as const;
type PathName = (typeof PATHS)[number];

/** Busy-wait: the consumer's own CPU work per chunk (parsing, in the real pipeline). */
function spin(ms: number): void {
  if (ms <= 0) return;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // burn
  }
}

async function makeBody(file: string, megabytes: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const gzip = createGzip({ level: 6 });
  gzip.pipe(out);
  const target = megabytes * 1e6;
  let bytes = 0;
  let chunk = '';
  for (let i = 0; bytes < target; i++) {
    const line = eventLine(3, i, { timeMs: 1_774_000_000_000 + i * 97, processingMs: 1_774_000_000_500 + i * 97 }) + '\n';
    chunk += line;
    bytes += Buffer.byteLength(line);
    if (chunk.length > 1 << 20) {
      if (!gzip.write(chunk)) await once(gzip, 'drain');
      chunk = '';
    }
  }
  gzip.end(chunk);
  await once(out, 'close');
  process.stdout.write(`wrote ${file}: ${bytes} bytes of JSONL, ${out.bytesWritten} gzip bytes\n`);
}

interface GunzipSettings {
  readonly chunkSize: number;
  /** The gunzip stream's readable buffer: how far it may inflate ahead of the consumer (Node's default: 16 KiB). */
  readonly highWaterMark: number | undefined;
}

function gunzip(settings: GunzipSettings): Transform {
  return createGunzip({ chunkSize: settings.chunkSize, ...(settings.highWaterMark !== undefined ? { highWaterMark: settings.highWaterMark } : {}) });
}

/** The gunzipped body through one read path, and what to close afterwards. */
async function gunzipped(path: PathName, url: string, settings: GunzipSettings): Promise<{ body: AsyncIterable<Uint8Array>; close: () => Promise<void> }> {
  const headers = { 'accept-encoding': 'gzip' };
  const agent = new Agent();
  const close = (): Promise<void> => agent.close();
  switch (path) {
    case 'undici':
    case 'undici-hwm': {
      const response = await request(url, { dispatcher: agent, headers, ...(path === 'undici-hwm' ? { highWaterMark: 4 << 20 } : {}) });
      return { body: response.body.pipe(gunzip(settings)), close };
    }
    case 'node-http': {
      const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, { headers }, resolve).on('error', reject));
      return { body: res.pipe(gunzip(settings)), close };
    }
    case 'undici-fetch': {
      // fetch gunzips by itself (its own zlib stream); the body is a web ReadableStream.
      const response = await fetch(url, { dispatcher: agent, headers });
      if (response.body === null) throw new Error('fetch: no body');
      return { body: response.body, close };
    }
    case 'dispatch-queue': {
      const response = await requestExportBody(agent, url, { headers });
      return { body: response.body.pipe(gunzip(settings)), close };
    }
    case 'connector': {
      // The product's own path: the Mixpanel client's exportStream (its HTTP, its gunzip) against this server.
      const client = createMixpanelClient(mixpanelConfigFromEnv({ MIXPANEL_API_SECRET: 'bench', MIXPANEL_BASE_URL: url.replace(/\/$/, '') }), {
        limits: { export: { minTime: 0, maxConcurrent: 1, reservoir: Number.POSITIVE_INFINITY, reservoirRefreshIntervalMs: 3_600_000 } },
      });
      await agent.close();
      const response = await client.exportStream({ fromDate: '2026-03-31', toDate: '2026-03-31' }, { table: 'events' });
      return { body: response.body, close: () => client.close() };
    }
    case 'gunzip-only':
      throw new Error('gunzip-only reads no HTTP');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      path: { type: 'string' },
      url: { type: 'string' },
      file: { type: 'string' },
      'delay-ms': { type: 'string', default: '0' },
      'ms-per-mib': { type: 'string', default: '0' },
      'work-passes': { type: 'string', default: '0' },
      'gunzip-chunk': { type: 'string', default: '16384' },
      'gunzip-hwm': { type: 'string' },
      'expect-bytes': { type: 'string' },
      'make-body': { type: 'string' },
      mb: { type: 'string', default: '225' },
    },
  });
  if (values['make-body'] !== undefined) return makeBody(values['make-body'], Number(values.mb));
  const path = values.path as PathName;
  if (!PATHS.includes(path)) throw new Error(`--path takes one of ${PATHS.join(', ')}`);
  const delayMs = Number(values['delay-ms']);
  const msPerByte = Number(values['ms-per-mib']) / 2 ** 20;
  const passes = Number(values['work-passes']);
  let work = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  let bytes = 0;
  let chunks = 0;
  if (path === 'gunzip-only') {
    if (values.file === undefined) throw new Error('gunzip-only needs --file');
    const plain = gunzipSync(readFileSync(values.file));
    bytes = plain.length;
    chunks = 1;
  } else {
    if (values.url === undefined) throw new Error('--url is required');
    const settings = { chunkSize: Number(values['gunzip-chunk']), highWaterMark: values['gunzip-hwm'] === undefined ? undefined : Number(values['gunzip-hwm']) };
    const { body, close } = await gunzipped(path, values.url, settings);
    for await (const chunk of body) {
      bytes += chunk.length;
      chunks++;
      spin(delayMs + chunk.length * msPerByte);
      for (let p = 0; p < passes; p++) work = crc32(chunk, work);
    }
    await close();
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (values['expect-bytes'] !== undefined && bytes !== Number(values['expect-bytes'])) {
    throw new Error(`read ${bytes} bytes, expected ${values['expect-bytes']}`);
  }
  process.stdout.write(
    `RESULT ${JSON.stringify({ path, delayMs, msPerMib: Number(values['ms-per-mib']), workPasses: passes, work, seconds: +seconds.toFixed(3), cpuSeconds: +((used.user + used.system) / 1e6).toFixed(3), bytes, chunks, rssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
}

await main();
