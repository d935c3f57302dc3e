/**
 * A test server that frames its HTTP/1.1 chunked responses by hand on a raw socket, so a test decides exactly what
 * is on the wire: the chunk sizes (1 byte, 1 MiB, …), and how the response breaks (cut without the final chunk,
 * reset, stall). Loopback, port 0. Test-only.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

export interface ChunkedServerOptions {
  /** The body bytes exactly as sent (already gzipped when `gzip`). */
  readonly body: Buffer;
  /** Size of every HTTP chunk. */
  readonly pieceBytes: number;
  /** Send `Content-Encoding: gzip` (default true). */
  readonly gzip?: boolean;
  /** After this many body bytes: `cut` ends the socket without the final chunk, `reset` resets it, `stall` stops writing. */
  readonly breakAfter?: { readonly bytes: number; readonly how: 'cut' | 'reset' | 'stall' };
}

export interface ChunkedServer {
  readonly url: string;
  /** Requests answered so far. */
  readonly requests: number;
  /** Connections that carried a request and that the client closed before the server ended them (an aborted read). */
  readonly closedByClient: number;
  close(): Promise<void>;
}

/**
 * Sockets this server ended or reset on purpose. A socket that closes without being in here was closed by the
 * client. (Node's own 'finish' cannot tell: when the client sends FIN, a non-half-open socket ends its side
 * automatically, so 'finish' fires for a client's close too, whenever the client had read all it was sent.)
 */
const endedByServer = new WeakSet<Socket>();

async function respond(socket: Socket, options: ChunkedServerOptions): Promise<void> {
  const head =
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    ((options.gzip ?? true) ? 'Content-Encoding: gzip\r\n' : '') +
    'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
  let pending: Buffer[] = [Buffer.from(head, 'latin1')];
  let pendingBytes = 0;
  const flush = async (): Promise<boolean> => {
    if (socket.destroyed) return false;
    const ok = socket.write(Buffer.concat(pending));
    pending = [];
    pendingBytes = 0;
    if (!ok) {
      await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    }
    return !socket.destroyed;
  };
  const limit = options.breakAfter?.bytes ?? Number.POSITIVE_INFINITY;
  for (let at = 0; at < options.body.length; at += options.pieceBytes) {
    const piece = options.body.subarray(at, Math.min(at + options.pieceBytes, options.body.length, limit));
    if (piece.length === 0) break;
    pending.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'));
    pendingBytes += piece.length;
    if (pendingBytes >= 64 * 1024 && !(await flush())) return;
    if (at + piece.length >= limit) break;
  }
  if (options.breakAfter !== undefined) {
    await flush();
    if (options.breakAfter.how !== 'stall') endedByServer.add(socket);
    if (options.breakAfter.how === 'cut') socket.end();
    else if (options.breakAfter.how === 'reset') socket.resetAndDestroy();
    return; // stall: keep the socket open, write nothing more
  }
  pending.push(Buffer.from('0\r\n\r\n', 'latin1'));
  if (await flush()) {
    endedByServer.add(socket);
    socket.end();
  }
}

export async function startChunkedServer(options: ChunkedServerOptions): Promise<ChunkedServer> {
  let requests = 0;
  let closedByClient = 0;
  const sockets = new Set<Socket>();
  let closing = false;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let requested = false;
    socket.on('close', () => {
      sockets.delete(socket);
      if (requested && !endedByServer.has(socket) && !closing) closedByClient++;
    });
    socket.on('error', () => {});
    let seen = '';
    const onData = (data: Buffer): void => {
      seen += data.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      requested = true;
      requests++;
      void respond(socket, options);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get closedByClient() {
      return closedByClient;
    },
    async close() {
      closing = true;
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
