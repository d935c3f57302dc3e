/**
 * Pure header rules of the proxy: which upstream a path goes to, the client IP and the forwarded
 * `X-Forwarded-For`, CORS for an allow-list of origins, and which headers cross the proxy.
 */
import { isIP } from 'node:net';

export type ProxyRegion = 'US' | 'EU' | 'IN';

const INGESTION_HOST: Readonly<Record<ProxyRegion, string>> = {
  US: 'https://api.mixpanel.com',
  EU: 'https://api-eu.mixpanel.com',
  IN: 'https://api-in.mixpanel.com',
};

/** The upstream base URL for a request path: `--upstream` when given, else the region's ingestion host. */
export function upstreamBase(pathname: string, region: ProxyRegion, upstream: string | undefined): string {
  if (upstream !== undefined) return upstream.replace(/\/+$/, '');
  // Session replay: the JS SDK's own default host for /record in the US is api-js (mixpanel/docs-legacy#2418).
  if (region === 'US' && /^\/record(\/|$)/.test(pathname)) return 'https://api-js.mixpanel.com';
  return INGESTION_HOST[region];
}

/** Which captured endpoint a path is (`/track`, `/track/`), or undefined for pass-through-only paths. */
export function capturedEndpoint(pathname: string): 'track' | 'engage' | 'groups' | undefined {
  const p = pathname.replace(/\/+$/, '');
  if (p === '/track') return 'track';
  if (p === '/engage') return 'engage';
  if (p === '/groups') return 'groups';
  return undefined;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function normaliseIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/**
 * The client IP and the `X-Forwarded-For` to send upstream.
 * Trusted (behind a load balancer you run): the client is the left-most valid address of the incoming XFF,
 * and the socket peer is appended to it (Mixpanel's own nginx sample: `$proxy_add_x_forwarded_for`).
 * Not trusted: a client-supplied XFF could spoof geolocation, so it is dropped; the peer is the client.
 */
export function forwardedFor(peer: string, incoming: string | undefined, trustProxy: boolean): { clientIp: string; xff: string } {
  const peerIp = normaliseIp(peer);
  if (!trustProxy || incoming === undefined || incoming.trim() === '') return { clientIp: peerIp, xff: peerIp };
  const parts = incoming
    .split(',')
    .map((s) => normaliseIp(s.trim()))
    .filter((s) => s !== '');
  const first = parts.find((p) => isIP(p) !== 0);
  return { clientIp: first ?? peerIp, xff: [...parts, peerIp].join(', ') };
}

export const CORS_ALLOW_METHODS = 'GET, POST, OPTIONS';
export const CORS_ALLOW_HEADERS = 'Content-Type, Authorization, Content-Encoding, X-Requested-With';

/** CORS response headers for `origin`: the exact origin with credentials when allowed, none otherwise. */
export function corsHeaders(origin: string | undefined, allowed: ReadonlySet<string>, preflight: boolean): Record<string, string> {
  const headers: Record<string, string> = { Vary: 'Origin' };
  if (origin === undefined || !allowed.has(origin)) return headers;
  headers['Access-Control-Allow-Origin'] = origin;
  headers['Access-Control-Allow-Credentials'] = 'true';
  if (preflight) {
    headers['Access-Control-Allow-Methods'] = CORS_ALLOW_METHODS;
    headers['Access-Control-Allow-Headers'] = CORS_ALLOW_HEADERS;
    headers['Access-Control-Max-Age'] = '600';
  } else {
    headers['Access-Control-Expose-Headers'] = 'Retry-After, X-Request-Id';
  }
  return headers;
}

/** Request headers passed to the upstream as they came (the rest is set by the proxy). */
export const FORWARDED_REQUEST_HEADERS: readonly string[] = ['content-type', 'content-encoding', 'authorization', 'user-agent', 'accept', 'accept-encoding', 'accept-language'];

/** Response headers never copied back: hop-by-hop ones, and CORS (the proxy answers CORS itself). */
export function keepResponseHeader(name: string): boolean {
  const n = name.toLowerCase();
  if (n.startsWith('access-control-')) return false;
  return !['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'vary'].includes(n);
}
