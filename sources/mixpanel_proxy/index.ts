/** Public API of the `mixpanel_proxy` source (the tracking proxy's spool → three append tables). */
import type { LakeflowSource, Logger } from '../../connector-spec/index.js';
import { createMixpanelProxySource, mixpanelProxyConfigFromEnv } from './source.js';

export { createMixpanelProxySource, mixpanelProxyConfigFromEnv, MIXPANEL_PROXY_ENV_VARS, DEFAULT_SLICE_BYTES, type MixpanelProxyConfig, type MixpanelProxySourceOptions } from './source.js';
export { PROXY_TABLES, SCHEMAS as PROXY_SCHEMAS, type ProxyTable } from './schema.js';
/** The spool format the proxy writes (`proxy/`) and this source reads. */
export {
  MAX_UNDECODABLE_BYTES,
  SPOOL_ENDPOINTS,
  recordLine,
  segmentName,
  segmentSequence,
  sortedSegments,
  undecodableLine,
  type SpoolEndpoint,
  type SpoolRequestInfo,
  type SpoolVerdict,
  type UndecodableBody,
} from './spool-format.js';

/** The CLI registry entry point: `MIXPANEL_PROXY_SPOOL` names the spool folder. */
export function createMixpanelProxySourceFromEnv(env: Readonly<Record<string, string | undefined>>, options: { readonly logger?: Logger } = {}): LakeflowSource {
  return createMixpanelProxySource(mixpanelProxyConfigFromEnv(env), options);
}
