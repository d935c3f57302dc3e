/**
 * The registry of sources the CLI can run. The one place that knows concrete sources; the runner only sees
 * `LakeflowSource`.
 */
import type { LakeflowSource, Logger } from '../connector-spec/index.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../sources/mixpanel/index.js';
import { createMixpanelProxySourceFromEnv } from '../sources/mixpanel_proxy/index.js';

export interface SourceFactory {
  readonly name: string;
  readonly description: string;
  /** Build the source from environment variables; throws ConfigError naming the variable to set. */
  fromEnv(env: Readonly<Record<string, string | undefined>>, options: { readonly logger: Logger }): LakeflowSource;
}

export const sourceFactories: Readonly<Record<string, SourceFactory>> = {
  mixpanel: {
    name: 'mixpanel',
    description: 'Mixpanel raw export, profiles, cohorts (credentials from MIXPANEL_* environment variables)',
    fromEnv: (env, { logger }) => createMixpanelSource(mixpanelConfigFromEnv(env), { logger }),
  },
  mixpanel_proxy: {
    name: 'mixpanel_proxy',
    description: 'proxy_events, proxy_profile_updates, proxy_group_updates from the tracking proxy spool (MIXPANEL_PROXY_SPOOL)',
    fromEnv: (env, { logger }) => createMixpanelProxySourceFromEnv(env, { logger }),
  },
};
