import { afterEach, describe, expect, it } from 'vitest';
import { emptyReadStats } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import type { BodyReader, MixpanelClient } from '../client-types.js';
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

  it('requests the next page while the caller works on this one: same requests, same order, none extra', async () => {
    expect.hasAssertions();
    emulator = await startEmulator({ profiles: 2_500, limits: { queryPerHour: Infinity } });
    client = testClient(serviceAccountConfig(emulator));
    const real = client;
    const requested: string[] = [];
    const recording: MixpanelClient = Object.assign(Object.create(real) as MixpanelClient, {
      queryRead: <T,>(path: string, params: Readonly<Record<string, string>>, ctx: Parameters<MixpanelClient['queryJson']>[2], reader: () => BodyReader<T>) => {
        requested.push(params['page'] ?? '');
        return real.queryRead(path, params, ctx, reader);
      },
    });
    const scan = scanEngage({ table: 'engage', client: recording, params: {}, maxRestarts: 0, stats: emptyReadStats(), signal: undefined });
    const first = await scan.next();
    expect(first.done).toBe(false);
    // Page 1 was requested before page 0's rows were handed out.
    expect(requested).toEqual(['0', '1']);
    let step = await scan.next();
    while (!step.done) step = await scan.next();
    expect(step.value).toEqual({ pages: 3, restarts: 0, profiles: 2_500 });
    expect(requested).toEqual(['0', '1', '2']);
    const engagePages = emulator.log.entries.filter((e) => e.path === '/api/query/engage').map((e) => e.params['page'] ?? '');
    expect(engagePages).toEqual(['0', '1', '2']);
  });
});
