/**
 * One upstream round trip with the request's exact bytes: node:http(s) rather than fetch, because fetch
 * would decompress the response and rewrite headers, and the SDK must get the upstream's bytes back as sent.
 */
import http from 'node:http';
import https from 'node:https';


export interface UpstreamRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly timeoutMs: number;
}

export type UpstreamResult =
  | { readonly ok: true; readonly status: number; readonly headers: readonly (readonly [string, string])[]; readonly body: Buffer }
  | { readonly ok: false; readonly timeout: boolean; readonly error: string };

export interface UpstreamClient {
  /** Send the request; never rejects (an unreachable upstream is a result). */
  send(req: UpstreamRequest): Promise<UpstreamResult>;
  close(): void;
}

/** Keep-alive connections to the upstream, one pool per proxy. */
export function createUpstreamClient(): UpstreamClient {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  return {
    send: (req) => sendUpstream(req, req.url.protocol === 'https:' ? httpsAgent : httpAgent),
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function sendUpstream(req: UpstreamRequest, agent: http.Agent): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    const secure = req.url.protocol === 'https:';
    let settled = false;
    const done = (r: UpstreamResult): void => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const headers: Record<string, string> = { ...req.headers };
    if (req.body.length > 0 || req.method === 'POST' || req.method === 'PUT') headers['content-length'] = String(req.body.length);
    const out = (secure ? https : http).request(req.url, { method: req.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        done({ ok: true, status: res.statusCode ?? 502, headers: pairs, body: Buffer.concat(chunks) });
      });
      res.on('error', (e) => done({ ok: false, timeout: false, error: errorText(e) }));
    });
    out.setTimeout(req.timeoutMs, () => {
      out.destroy(new Error('upstream timeout'));
      done({ ok: false, timeout: true, error: `no answer within ${req.timeoutMs} ms` });
    });
    out.on('error', (e) => done({ ok: false, timeout: false, error: errorText(e) }));
    out.end(req.body);
  });
}

function errorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

