/**
 * Test wiring: a Mixpanel source pointed at an emulator (given structurally, so this module does not import the
 * emulator), with fast limits and an injectable clock. Used by tests only.
 */
import type { LakeflowSource } from '../../../connector-spec/index.js';
import type { ClientLimits } from '../client.js';
import type { MixpanelConfig } from '../config-types.js';
import { createMixpanelSource } from '../source.js';

export interface EmulatorLike {
  readonly url: string;
  readonly project: {
    readonly id: number;
    readonly timezone: string;
    readonly legacyLocalTime: boolean;
    readonly apiSecret: string;
    readonly serviceAccount: { readonly username: string; readonly secret: string };
  };
}

/** Limits that never throttle locally and retry fast. */
export const FAST_LIMITS: Partial<ClientLimits> = {
  export: { minTime: 0, maxConcurrent: 10, reservoir: Number.POSITIVE_INFINITY, reservoirRefreshIntervalMs: 3_600_000 },
  query: { minTime: 0, maxConcurrent: 5, reservoir: Number.POSITIVE_INFINITY, reservoirRefreshIntervalMs: 3_600_000 },
  maxRetries: 2,
  backoffBaseMs: 10,
  backoffCapMs: 50,
};

export function emulatorConfig(emulator: EmulatorLike, overrides: Partial<MixpanelConfig> = {}): MixpanelConfig {
  return {
    auth: { kind: 'service_account', username: emulator.project.serviceAccount.username, secret: emulator.project.serviceAccount.secret, projectId: emulator.project.id },
    region: 'US',
    projectTimezone: emulator.project.timezone,
    legacyLocalTime: emulator.project.legacyLocalTime,
    historicalDays: 30,
    baseUrl: emulator.url,
    ...overrides,
  };
}

export function emulatorSource(
  emulator: EmulatorLike,
  options: { readonly now: () => number; readonly limits?: Partial<ClientLimits>; readonly config?: Partial<MixpanelConfig>; readonly parseChunkBytes?: number },
): LakeflowSource {
  return createMixpanelSource(emulatorConfig(emulator, options.config), {
    now: options.now,
    limits: { ...FAST_LIMITS, ...options.limits },
    ...(options.parseChunkBytes === undefined ? {} : { parseChunkBytes: options.parseChunkBytes }),
  });
}
