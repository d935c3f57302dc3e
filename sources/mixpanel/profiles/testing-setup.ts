/**
 * Test helper (tests only): a service-account config and a client for a Mixpanel-compatible server, with the
 * hourly budgets lifted so tests do not wait. The emulator itself is started by the test files.
 */
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import { createMixpanelClient } from '../client.js';
import type { MixpanelClient } from '../client-types.js';
import type { MixpanelConfig } from '../config-types.js';
import { testContext } from './testing-driver.js';

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

/** An emulator on a frozen clock plus a fast client; `stop()` in `afterEach` closes both. */
export interface QueryHarness {
  start(t0: number): Promise<{ emu: Emulator; ctx: (table: string, runStart?: number) => ReturnType<typeof testContext> }>;
  stop(): Promise<void>;
}

export function queryHarness(): QueryHarness {
  let emulator: Emulator | undefined;
  let client: MixpanelClient | undefined;
  return {
    async start(t0) {
      const emu = await startEmulator({ now: () => t0, limits: { queryPerHour: Infinity, queryConcurrent: Infinity } });
      emulator = emu;
      const config = serviceAccountConfig(emu);
      const c = testClient(config);
      client = c;
      return { emu, ctx: (table, runStart = t0) => testContext(table, config, c, runStart) };
    },
    async stop() {
      await client?.close();
      await emulator?.close();
      client = undefined;
      emulator = undefined;
    },
  };
}
