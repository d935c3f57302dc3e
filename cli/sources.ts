/**
 * The registry of sources the CLI can run. The one place that knows concrete sources; the runner only sees
 * `LakeflowSource`.
 */
import type { LakeflowSource, Logger } from '../connector-spec/index.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../sources/mixpanel/index.js';

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
};
