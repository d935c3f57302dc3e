/**
 * Public entry of the tracking proxy. The CLI calls `runProxyCommand` for
 * `mixpanel-lakeflow proxy --port 8080 --spool ./spool [--region US|EU|IN] [--upstream URL] [--cors-origin O ...] [--trust-proxy]`.
 */
import { ConfigError, type Logger } from '../connector-spec/index.js';
import { createLogger } from '../connector-spec/index.js';
import type { ProxyRegion } from './http-rules.js';
import { startProxy, type RunningProxy } from './server.js';

export { startProxy, MAX_BODY_BYTES, type ProxyOptions, type ProxyStats, type RunningProxy } from './server.js';
export type { ProxyRegion } from './http-rules.js';
export { decodeIngestBody, type DecodeResult, type IngestRequest } from './decode.js';

export interface ProxyCommandOptions {
  readonly port?: number | string;
  readonly spool: string;
  readonly region?: string;
  readonly upstream?: string;
  /** One origin per entry (`--cors-origin` may be repeated; a comma-separated value is split too). */
  readonly corsOrigin?: readonly string[] | string;
  readonly trustProxy?: boolean;
  readonly host?: string;
  readonly logger?: Logger;
  /** Stop serving when aborted (besides SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Called once listening (tests and the CLI print the URL). */
  readonly onListening?: (proxy: RunningProxy) => void;
}

function parseRegion(value: string | undefined): ProxyRegion {
  const r = (value ?? 'US').toUpperCase();
  if (r === 'US' || r === 'EU' || r === 'IN') return r;
  throw new ConfigError(`--region ${value}: expected US, EU or IN (the Mixpanel project's data residency)`, { code: 'PROXY_BAD_OPTION' });
}

function parsePort(value: number | string | undefined): number {
  const n = Number(value ?? 8080);
  if (!Number.isSafeInteger(n) || n < 0 || n > 65_535) throw new ConfigError(`--port ${String(value)}: expected a port number 0-65535`, { code: 'PROXY_BAD_OPTION' });
  return n;
}

function parseOrigins(value: readonly string[] | string | undefined): string[] {
  const list = value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
  const origins = list.flatMap((v) => v.split(',')).map((s) => s.trim().replace(/\/+$/, '')).filter((s) => s !== '');
  for (const o of origins) {
    let parsed: URL;
    try {
      parsed = new URL(o);
    } catch {
      throw new ConfigError(`--cors-origin ${o}: expected an origin such as https://www.example.com`, { code: 'PROXY_BAD_OPTION' });
    }
    if (parsed.origin !== o) throw new ConfigError(`--cors-origin ${o}: expected an origin (scheme://host[:port], no path), e.g. ${parsed.origin}`, { code: 'PROXY_BAD_OPTION' });
  }
  return origins;
}

function parseUpstream(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`--upstream ${value}: expected a URL such as http://127.0.0.1:8765`, { code: 'PROXY_BAD_OPTION' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--upstream ${value}: expected an http:// or https:// URL`, { code: 'PROXY_BAD_OPTION' });
  return value;
}

/** Serve until SIGINT/SIGTERM (or `signal`), then drain, flush the spool and return. */
export async function runProxyCommand(options: ProxyCommandOptions): Promise<void> {
  const logger = options.logger ?? createLogger({ format: 'json' });
  const upstream = parseUpstream(options.upstream);
  const proxy = await startProxy({
    spoolDir: options.spool,
    port: parsePort(options.port),
    region: parseRegion(options.region),
    ...(upstream !== undefined ? { upstream } : {}),
    corsOrigins: parseOrigins(options.corsOrigin),
    trustProxy: options.trustProxy ?? false,
    ...(options.host !== undefined ? { host: options.host } : {}),
    logger,
  });
  logger.info('proxy listening', { url: proxy.url, spool: options.spool, segment: proxy.spool.segment, upstream: upstream ?? `Mixpanel ${parseRegion(options.region)}` });
  options.onListening?.(proxy);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  logger.info('proxy stopping', { stats: proxy.stats });
  await proxy.close();
}
