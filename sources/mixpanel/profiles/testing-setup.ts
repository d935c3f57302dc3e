/**
 * Test helper (tests only): a service-account config and a client for a Mixpanel-compatible server, with the
 * hourly budgets lifted so tests do not wait. The emulator itself is started by the test files.
 */
import { createMixpanelClient } from '../client.js';
import type { MixpanelClient } from '../client-types.js';
import type { MixpanelConfig } from '../config-types.js';

export interface ServerFacts {
  readonly url: string;
  readonly project: { readonly id: number; readonly serviceAccount: { readonly username: string; readonly secret: string } };
}

export function serviceAccountConfig(server: ServerFacts): MixpanelConfig {
  return {
    auth: { kind: 'service_account', username: server.project.serviceAccount.username, secret: server.project.serviceAccount.secret, projectId: server.project.id },
    region: 'US',
    projectTimezone: 'UTC',
    legacyLocalTime: false,
    historicalDays: 30,
    baseUrl: server.url,
  };
}

export function testClient(config: MixpanelConfig): MixpanelClient {
  return createMixpanelClient(config, {
    limits: {
      query: { minTime: 0, maxConcurrent: 5, reservoir: 100_000, reservoirRefreshIntervalMs: 3_600_000 },
      maxRetries: 1,
      backoffBaseMs: 1,
      backoffCapMs: 5,
      maxRateLimitWaitMs: 1_000,
    },
  });
}
