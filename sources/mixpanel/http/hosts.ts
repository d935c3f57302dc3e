/** Regional Mixpanel hosts (shared/reference/mixpanel-api-notes.md §1), or one base URL for everything. */
import type { MixpanelConfig, MixpanelRegion } from '../config-types.js';

export type ApiFamily = 'export' | 'query';

export const EXPORT_HOSTS: Readonly<Record<MixpanelRegion, string>> = Object.freeze({
  US: 'https://data.mixpanel.com',
  EU: 'https://data-eu.mixpanel.com',
  IN: 'https://data-in.mixpanel.com',
});

export const QUERY_HOSTS: Readonly<Record<MixpanelRegion, string>> = Object.freeze({
  US: 'https://mixpanel.com',
  EU: 'https://eu.mixpanel.com',
  IN: 'https://in.mixpanel.com',
});

export const EXPORT_PATH = '/api/2.0/export';

/** Origin (plus optional path prefix) for an API family. */
export function apiBase(config: Pick<MixpanelConfig, 'region' | 'baseUrl'>, family: ApiFamily): string {
  if (config.baseUrl !== undefined) return config.baseUrl;
  return family === 'export' ? EXPORT_HOSTS[config.region] : QUERY_HOSTS[config.region];
}

/** Which region a 401/400 body hints at (a different data residency), if any. */
export function regionHintFromBody(body: string, current: MixpanelRegion): MixpanelRegion | undefined {
  const text = body.toLowerCase();
  const hints: [MixpanelRegion, RegExp][] = [
    ['EU', /\beu\.mixpanel\.com|\beu\b|european/],
    ['IN', /\bin\.mixpanel\.com|\bindia\b|\bregion\W{0,3}in\b/],
    ['US', /\bdata\.mixpanel\.com|\bus region|\bregion\W{0,3}us\b|united states/],
  ];
  for (const [region, pattern] of hints) if (region !== current && pattern.test(text)) return region;
  return undefined;
}
