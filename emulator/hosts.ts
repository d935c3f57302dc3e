/** Mixpanel's hosts: which API family and region a `Host` header names. */
import type { Region } from './types.js';

export type HostFamily = 'export' | 'query' | 'ingestion';

export interface HostInfo {
  readonly family: HostFamily;
  readonly region: Region;
}

const HOSTS: Readonly<Record<string, HostInfo>> = {
  'data.mixpanel.com': { family: 'export', region: 'US' },
  'data-eu.mixpanel.com': { family: 'export', region: 'EU' },
  'data-in.mixpanel.com': { family: 'export', region: 'IN' },
  'mixpanel.com': { family: 'query', region: 'US' },
  'eu.mixpanel.com': { family: 'query', region: 'EU' },
  'in.mixpanel.com': { family: 'query', region: 'IN' },
  'api.mixpanel.com': { family: 'ingestion', region: 'US' },
  'api-js.mixpanel.com': { family: 'ingestion', region: 'US' },
  'api-eu.mixpanel.com': { family: 'ingestion', region: 'EU' },
  'api-in.mixpanel.com': { family: 'ingestion', region: 'IN' },
};

/** The Mixpanel host a request names, or undefined for any other host (loopback: route by path only). */
export function mixpanelHost(hostHeader: string | undefined): HostInfo | undefined {
  if (hostHeader === undefined) return undefined;
  const name = hostHeader.toLowerCase().replace(/:\d+$/, '');
  return HOSTS[name];
}
