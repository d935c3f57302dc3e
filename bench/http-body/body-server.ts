/**
 * The micro-bench's server, a separate process that imports nothing of ours: it answers every request with one
 * file's bytes as `Content-Encoding: gzip` through chunked transfer, framed by hand on a raw TCP socket so the
 * HTTP chunk sizes are exactly what was asked (`--pieces 1` really puts 1-byte chunks on the wire) and the server
 * itself stays cheap. Optionally paced (`--rate` bytes/s); otherwise it writes as fast as the socket drains,
 * which is far faster than any consumer.
 *
 *   node body-server.ts --file body.jsonl.gz [--pieces random|N] [--rate BYTES_PER_S] [--seed N]
 * Prints `LISTENING <port>` on stdout when ready; exits when its stdin closes (its parent went away).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    pieces: { type: 'string', default: 'random' },
    rate: { type: 'string', default: '0' },
    seed: { type: 'string', default: '7' },
    encoding: { type: 'string', default: 'gzip' },
  },
});
if (values.file === undefined) throw new Error('--file is required');
const body = readFileSync(values.file);
const fixedPiece = values.pieces === 'random' ? 0 : Number(values.pieces);
if (!Number.isSafeInteger(fixedPiece) || fixedPiece < 0) throw new Error(`--pieces takes "random" or a byte count, got ${values.pieces}`);
const rate = Number(values.rate);
const OUT = 64 * 1024;

/** xorshift32: the irregular piece sizes are the same on every run. */
function sizes(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return fixedPiece > 0 ? fixedPiece : 7 * 1024 + (x % (53 * 1024));
  };
}

async function respond(socket: Socket): Promise<void> {
  const head =
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    (values.encoding === 'gzip' ? 'Content-Encoding: gzip\r\n' : '') +
    'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
  let out = Buffer.allocUnsafe(OUT);
  let used = out.write(head, 0, 'latin1');
  const started = performance.now();
  let sent = 0;
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    const ok = socket.write(out.subarray(0, used));
    sent += used;
    out = Buffer.allocUnsafe(OUT);
    used = 0;
    if (!ok) await once(socket, 'drain');
    if (rate > 0) {
      const ahead = (sent / rate) * 1000 - (performance.now() - started);
      if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
    }
  };
  /** Copies `bytes` into the out buffer; returns a promise only when it had to flush (so the loop rarely awaits). */
  const put = (bytes: Buffer, from = 0): Promise<void> | undefined => {
    let at = from;
    while (at < bytes.length) {
      if (used === OUT) return flush().then(() => put(bytes, at));
      const n = bytes.copy(out, used, at);
      used += n;
      at += n;
    }
    return undefined;
  };
  const text = (s: string): Promise<void> | undefined => {
    if (OUT - used < s.length) return flush().then(() => text(s));
    used += out.write(s, used, 'latin1');
    return undefined;
  };
  const next = sizes(Number(values.seed));
  for (let at = 0; at < body.length; ) {
    const n = Math.min(next(), body.length - at);
    // Await only when a flush happened: an `await undefined` per 1-byte piece would dominate the server's cost.
    let wait = text(`${n.toString(16)}\r\n`);
    if (wait) await wait;
    wait = put(body.subarray(at, at + n));
    if (wait) await wait;
    wait = text('\r\n');
    if (wait) await wait;
    at += n;
  }
  await text('0\r\n\r\n');
  await flush();
  socket.end();
}

const server = createServer((socket) => {
  socket.on('error', () => {});
  let seen = '';
  const onData = (data: Buffer): void => {
    seen += data.toString('latin1');
    if (!seen.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    respond(socket).catch(() => socket.destroy());
  };
  socket.on('data', onData);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`LISTENING ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
