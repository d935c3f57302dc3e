import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { AZURITE_KEY, startAzurite, type AzuriteHandle } from '../testing/servers.js';
import { describeObjectStoreConformance } from './conformance.js';
import { AzureStore } from './azure.js';

const MiB = 1024 * 1024;
let azurite: AzuriteHandle;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.close();
});

describeObjectStoreConformance(
  'AzureStore on Azurite',
  async () => {
    const prefix = `lake-${randomUUID()}`;
    const store = new AzureStore({
      location: { kind: 'azure', container: azurite.container, prefix },
      env: azurite.env,
      displayUrl: `az://${azurite.container}/${prefix}`,
      blockSize: 4 * MiB,
      listPageSize: 7,
    });
    return { store, cleanup: () => store.close() };
  },
  {
    putIfAbsent: 'enforced',
    bytesReceived: () => azurite.bytesReceived(),
    uploadPartSize: 4 * MiB,
    pagedListing: 30,
    secrets: [AZURITE_KEY],
    makeUnwritableStore: async () => {
      const store = new AzureStore({ location: { kind: 'azure', container: 'no-such-container', prefix: 'x' }, env: azurite.env, displayUrl: 'az://no-such-container/x' });
      return { store, cleanup: () => store.close() };
    },
  },
);
