import { afterEach, describe, expect, it } from 'vitest';
import { emptyReadStats } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import type { MixpanelClient } from '../client-types.js';
import { scanEngage } from './scan.js';
import { serviceAccountConfig, testClient } from './testing-setup.js';

let emulator: Emulator | undefined;
let client: MixpanelClient | undefined;

afterEach(async () => {
  await client?.close();
  await emulator?.close();
});

describe('scanEngage', () => {
  it('10,001 profiles: ten full pages and a last page of exactly 1 row', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ profiles: 10_001, limits: { queryPerHour: Infinity } });
    client = testClient(serviceAccountConfig(emulator));
    const scan = scanEngage({ table: 'engage', client, params: {}, maxRestarts: 0, stats: emptyReadStats(), signal: undefined });
    const sizes: number[] = [];
    let step = await scan.next();
    while (!step.done) {
      sizes.push(step.value.length);
      step = await scan.next();
    }
    expect(sizes).toEqual([...Array.from({ length: 10 }, () => 1000), 1]);
    expect(step.value).toEqual({ pages: 11, restarts: 0, profiles: 10_001 });
  });
});
