/**
 * A loopback HTTP proxy (port 0) in front of a test server that can make concurrent clients meet: once armed
 * with `arm(parties)`, the next requests whose path starts with `pathPrefix` are held until `parties` of them
 * have arrived, then all go on together. Two writers started at once then read the same slice from the same
 * cursor, so their commits race for sure. A held request goes on alone after `timeoutMs` (never a deadlock).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BarrierProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Hold the next `parties` matching requests until all have arrived. */
  arm(parties: number): void;
  /** How many armed barriers released with every party present (not by the timeout). */
  readonly met: number;
  close(): Promise<void>;
}

export async function startBarrierProxy(target: string, options: { readonly pathPrefix: string; readonly timeoutMs?: number }): Promise<BarrierProxy> {
  const upstream = new URL(target);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let waiting: (() => void)[] = [];
  let parties = 0;
  let met = 0;
  let timer: NodeJS.Timeout | undefined;

  const releaseAll = (complete: boolean): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (complete) met++;
    const go = waiting;
    waiting = [];
    parties = 0;
    for (const f of go) f();
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  };

  const server: Server = createServer((req, res) => {
    if (parties > 0 && (req.url ?? '').startsWith(options.pathPrefix)) {
      waiting.push(() => forward(req, res));
      if (waiting.length >= parties) releaseAll(true);
      else if (!timer) timer = setTimeout(() => releaseAll(false), timeoutMs);
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    arm(n) {
      parties = n;
    },
    get met() {
      return met;
    },
    close: () =>
      new Promise<void>((resolve) => {
        releaseAll(false);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
