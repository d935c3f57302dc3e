/** Public API of the Mixpanel source. */
export { createMixpanelSource, tables, type MixpanelSourceOptions } from './source.js';
export { mixpanelConfigFromEnv, MIXPANEL_ENV_VARS } from './config.js';
export { createMixpanelClient, DEFAULT_CLIENT_LIMITS, type ClientLimits, type ClientOptions, type LimiterSettings } from './client.js';
export type { MixpanelConfig, MixpanelAuth, MixpanelRegion } from './config-types.js';
export type { MixpanelClient, CallContext, ExportParams, ExportResponse } from './client-types.js';
