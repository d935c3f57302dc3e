import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { startAzurite, startS3rver, type AzuriteHandle, type S3rverHandle } from '../testing/servers.js';
import { openStore } from './open.js';
import type { ObjectStore } from './types.js';

// The SDK warns once per process that releases after January 2027 need Node 22; not news for these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let s3: S3rverHandle;
let azurite: AzuriteHandle;
let folder: string;

beforeAll(async () => {
  [s3, azurite, folder] = await Promise.all([startS3rver(), startAzurite(), mkdtemp(join(tmpdir(), 'open-store-'))]);
});
afterAll(async () => {
  await Promise.all([s3?.close(), azurite?.close(), folder === undefined ? undefined : rm(folder, { recursive: true, force: true })]);
});

/** Write through one store and read back through a second one opened on the same location. */
async function roundTrip(location: string, env: Record<string, string>): Promise<ObjectStore> {
  const writer = await openStore(location, { env });
  await writer.checkWritable('--lakehouse');
  await writer.put('t/_delta_log/00000000000000000000.json', new TextEncoder().encode(location));
  const reader = await openStore(location, { env });
  expect(new TextDecoder().decode(await reader.read('t/_delta_log/00000000000000000000.json'))).toBe(location);
  await Promise.all([writer.close(), reader.close()]);
  return writer;
}

describe('openStore', () => {
  it('a local folder opens the local store', async () => {
    const store = await roundTrip(join(folder, 'lake'), {});
    expect(store.kind).toBe('local');
    expect(store.displayUrl).toBe(join(folder, 'lake'));
  });

  it('s3://bucket/prefix opens S3 with the endpoint and keys from env (path-style on an S3-compatible server)', async () => {
    const store = await roundTrip(`s3://${s3.bucket}/open-test/lake`, s3.env);
    expect(store.kind).toBe('s3');
    expect(store.displayUrl).toBe(`s3://${s3.bucket}/open-test/lake`);
    expect(s3.requests.some((r) => r.url.startsWith(`/${s3.bucket}/open-test/lake/t/_delta_log/`))).toBe(true);
  });

  it('az://container/prefix opens Azure Blob with a connection string', async () => {
    const store = await roundTrip(`az://${azurite.container}/open-test/az`, azurite.env);
    expect(store.kind).toBe('azure');
    expect(store.putIfAbsentGuarantee).toBe('enforced');
  });

  it('abfss://container@account.dfs.core.windows.net/prefix opens Azure Blob with the account from the URL and a key', async () => {
    const location = `abfss://${azurite.container}@${azurite.account}.dfs.core.windows.net/open-test/abfss`;
    const store = await roundTrip(location, { AZURE_STORAGE_KEY: azurite.accountKey, AZURE_STORAGE_ENDPOINT: azurite.blobEndpoint });
    expect(store.kind).toBe('azure');
    expect(store.displayUrl).toBe(location);
  });

  it('a malformed location or missing credentials fail before any I/O with a ConfigError naming the flag given', async () => {
    await expect(openStore('gs://bucket/x', { env: {}, flag: '--mailchimp-lakehouse' })).rejects.toThrow(/--mailchimp-lakehouse "gs:\/\/bucket\/x"/);
    await expect(openStore('az://lake/x', { env: {} })).rejects.toBeInstanceOf(ConfigError);
    await expect(openStore('s3://bucket/x', { env: { AWS_ENDPOINT_URL: 'not a url' } })).rejects.toThrow(/AWS_ENDPOINT_URL/);
  });
});
