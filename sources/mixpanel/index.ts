/** Public API of the Mixpanel source. */
export { createMixpanelSource, tables, type MixpanelSourceOptions } from './source.js';
export { mixpanelConfigFromEnv, MIXPANEL_ENV_VARS } from './config.js';
export { createMixpanelClient, DEFAULT_CLIENT_LIMITS, type ClientLimits, type ClientOptions, type LimiterSettings } from './client.js';
export type { MixpanelConfig, MixpanelAuth, MixpanelRegion } from './config-types.js';
/** Mixpanel's dedupe rule (event, distinct_id, time in seconds, $insert_id), shared with the mixpanel_proxy source. */
export { dedupeKey, contentKey } from './events/dedupe.js';
export type { BodyReader, MixpanelClient, CallContext, ExportParams, ExportResponse } from './client-types.js';
