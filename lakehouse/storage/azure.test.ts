import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, DataError, RateLimitError, TransientError } from '../../connector-spec/index.js';
import { azureFailure } from './azure-errors.js';
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

function newStore(env: Record<string, string>, location: Partial<{ account: string; container: string; prefix: string }> = {}, extra: { maxTries?: number; blockSize?: number } = {}): AzureStore {
  const prefix = location.prefix ?? `lake-${randomUUID()}`;
  const container = location.container ?? azurite.container;
  return new AzureStore({
    location: { kind: 'azure', container, prefix, ...(location.account === undefined ? {} : { account: location.account }) },
    env,
    displayUrl: location.account === undefined ? `az://${container}/${prefix}` : `abfss://${container}@${location.account}.dfs.core.windows.net/${prefix}`,
    blockSize: extra.blockSize ?? 4 * MiB,
    ...(extra.maxTries === undefined ? {} : { maxTries: extra.maxTries }),
  });
}

function sasFor(permissions: string): string {
  return generateBlobSASQueryParameters(
    { containerName: azurite.container, permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3_600_000) },
    new StorageSharedKeyCredential(azurite.account, azurite.accountKey),
  ).toString();
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a failure');
  return outcome;
}

const encoder = new TextEncoder();

describe('AzureStore credentials', () => {
  it('an account key with AZURE_STORAGE_ENDPOINT and the account from an abfss:// URL works end to end', async () => {
    const store = newStore({ AZURE_STORAGE_KEY: azurite.accountKey, AZURE_STORAGE_ENDPOINT: azurite.blobEndpoint }, { account: azurite.account });
    await store.checkWritable('--lakehouse');
    expect(await store.putIfAbsent('t/a.json', encoder.encode('a'))).toBe(true);
    expect(new TextDecoder().decode(await store.read('t/a.json'))).toBe('a');
  });

  it('a SAS token works; it never shows in the display URL or in an error, and a read-only SAS fails checkWritable naming the variable', async () => {
    const writable = sasFor('racwdl');
    const store = newStore({ AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_SAS_TOKEN: `?${writable}`, AZURE_STORAGE_ENDPOINT: azurite.blobEndpoint });
    await store.checkWritable('--lakehouse');
    await store.put('t/b.json', encoder.encode('b'));
    expect((await store.head('t/b.json'))?.size).toBe(1);

    const readOnly = sasFor('rl');
    const signature = new URLSearchParams(readOnly).get('sig') ?? 'missing';
    const limited = newStore({ AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_SAS_TOKEN: readOnly, AZURE_STORAGE_ENDPOINT: azurite.blobEndpoint });
    const failure = await failureOf(limited.checkWritable('--lakehouse'));
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.message).toContain('AZURE_STORAGE_SAS_TOKEN');
    expect(failure.message).toContain(limited.displayUrl);
    for (const text of [failure.message, String(failure.cause), limited.displayUrl, JSON.stringify((failure as ConfigError).context)]) {
      expect(text).not.toContain(signature);
      expect(text).not.toContain(encodeURIComponent(signature));
    }
    // During a run the same refusal is an AuthError.
    await expect(limited.put('t/c.json', encoder.encode('c'))).rejects.toBeInstanceOf(AuthError);
  });

  it('a wrong account key fails checkWritable with a ConfigError naming the variables, never the key', async () => {
    const wrongKey = Buffer.from('definitely-not-the-key-000000000').toString('base64');
    const store = newStore({ AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_KEY: wrongKey, AZURE_STORAGE_ENDPOINT: azurite.blobEndpoint });
    const failure = await failureOf(store.checkWritable('--lakehouse'));
    expect(failure).toBeInstanceOf(ConfigError);
    // Azure says AuthenticationFailed, Azurite AuthorizationFailure.
    expect(failure.message).toMatch(/AuthenticationFailed|AuthorizationFailure/);
    expect(failure.message).toContain('AZURE_STORAGE_KEY');
    expect(failure.message).not.toContain(wrongKey);
  });

  it('missing or contradictory settings are ConfigErrors naming the variables', () => {
    expect(() => newStore({})).toThrow(/AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY/);
    expect(() => newStore({ AZURE_STORAGE_ACCOUNT: 'acct' })).toThrow(/AZURE_STORAGE_KEY .* or AZURE_STORAGE_SAS_TOKEN/);
    expect(() => newStore({ AZURE_STORAGE_ACCOUNT: 'other', AZURE_STORAGE_KEY: azurite.accountKey }, { account: 'acct' })).toThrow(/AZURE_STORAGE_ACCOUNT is "other"/);
    expect(() => newStore(azurite.env, { account: 'someoneelse' })).toThrow(/connection string of "someoneelse"/);
    expect(() => newStore({ AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_SAS_TOKEN: 'not-a-sas' })).toThrow(/no sig= parameter/);
    expect(() => newStore({ AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: 'k', AZURE_STORAGE_ENDPOINT: 'http://h/acct?sig=SECRET' })).toThrow(/AZURE_STORAGE_ENDPOINT/);
    const badConnection = (() => {
      try {
        newStore({ AZURE_STORAGE_CONNECTION_STRING: 'AccountName=acct;AccountKey=SECRETKEY==;NoEndpoint' });
        return undefined;
      } catch (error) {
        return error as Error;
      }
    })();
    expect(badConnection?.message ?? '').not.toContain('SECRETKEY');
  });

  it('an endpoint that refuses connections fails checkWritable with a ConfigError naming AZURE_STORAGE_ENDPOINT', async () => {
    const port = await closedPort();
    const store = newStore({ AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_KEY: azurite.accountKey, AZURE_STORAGE_ENDPOINT: `http://127.0.0.1:${port}/${azurite.account}` }, {}, { maxTries: 1 });
    const failure = await failureOf(store.checkWritable('--lakehouse'));
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.message).toContain('AZURE_STORAGE_ENDPOINT');
    await expect(store.read('t/x.json')).rejects.toBeInstanceOf(TransientError);
  });
});

describe('AzureStore behaviour on Azurite', () => {
  it('listing skips the directory entries of a hierarchical-namespace account (hdi_isfolder)', async () => {
    const store = newStore(azurite.env);
    const prefix = (store.displayUrl.split('/').pop() ?? '') + '/';
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(azurite.container);
    await container.getBlockBlobClient(`${prefix}t/_delta_log`).upload('', 0, { metadata: { hdi_isfolder: 'true' } });
    await store.put('t/_delta_log/00000000000000000000.json', encoder.encode('{}'));
    const listed: string[] = [];
    for await (const object of store.list('')) listed.push(object.path);
    expect(listed).toEqual(['t/_delta_log/00000000000000000000.json']);
  });

  it('a large upload stages blocks and commits the list once; abort commits nothing', async () => {
    const store = newStore(azurite.env);
    let from = azurite.requests.length;
    const upload = await store.createUpload('t/big.parquet');
    for (let i = 0; i < 10; i++) await upload.write(new Uint8Array(MiB).fill(i));
    expect((await upload.close()).size).toBe(10 * MiB);
    let seen = azurite.requests.slice(from).map((r) => `${r.method} ${r.url}`);
    expect(seen.filter((r) => r.startsWith('PUT') && r.includes('comp=block&'))).toHaveLength(3);
    expect(seen.filter((r) => r.startsWith('PUT') && r.includes('comp=blocklist'))).toHaveLength(1);

    from = azurite.requests.length;
    const aborted = await store.createUpload('t/aborted.parquet');
    for (let i = 0; i < 6; i++) await aborted.write(new Uint8Array(MiB));
    await aborted.abort();
    seen = azurite.requests.slice(from).map((r) => `${r.method} ${r.url}`);
    expect(seen.filter((r) => r.includes('comp=block&'))).toHaveLength(1);
    expect(seen.filter((r) => r.includes('comp=blocklist'))).toEqual([]);
    expect(await store.head('t/aborted.parquet')).toBeUndefined();
  });

  it('an upload onto a blob that holds other bytes fails with a DataError and leaves it; the same bytes count as ours', async () => {
    const store = newStore(azurite.env);
    await store.put('t/part-1.parquet', encoder.encode('hello'));
    const other = await store.createUpload('t/part-1.parquet');
    await other.write(encoder.encode('world'));
    const failure = await failureOf(other.close());
    expect(failure).toBeInstanceOf(DataError);
    expect((failure as DataError).code).toBe('LAKEHOUSE_OBJECT_EXISTS');
    expect(new TextDecoder().decode(await store.read('t/part-1.parquet'))).toBe('hello');
    const same = await store.createUpload('t/part-1.parquet');
    await same.write(encoder.encode('hello'));
    expect((await same.close()).size).toBe(5);
  });

  it('a create refused because the blob holds exactly our bytes counts as ours (a retried request that had landed)', async () => {
    const store = newStore(azurite.env);
    const bytes = encoder.encode('{"commitInfo":{"runId":"r1"}}');
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000003.json', bytes)).toBe(true);
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000003.json', bytes)).toBe(true);
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000003.json', encoder.encode('{"commitInfo":{"runId":"r2"}}'))).toBe(false);
  });
});

describe('Azure failures map onto the error taxonomy', () => {
  const context = { flag: '--lakehouse', displayUrl: 'az://lake/p', account: 'acct', container: 'lake', endpoint: 'https://acct.blob.core.windows.net', auth: 'sas' as const, operation: 'read x' };
  const restError = (code: string, status: number | undefined, message = code) => Object.assign(new Error(message), { name: 'RestError', code, statusCode: status });

  it('ServerBusy is a RateLimitError, 5xx transient, network transient during a run and ConfigError in checkWritable', () => {
    expect(azureFailure(restError('ServerBusy', 503), context)).toBeInstanceOf(RateLimitError);
    expect(azureFailure(restError('InternalError', 500), context)).toBeInstanceOf(TransientError);
    expect(azureFailure(restError('REQUEST_SEND_ERROR', undefined), context)).toBeInstanceOf(TransientError);
    expect(azureFailure(restError('REQUEST_SEND_ERROR', undefined), { ...context, check: true })).toBeInstanceOf(ConfigError);
    expect(azureFailure(restError('ContainerNotFound', 404), context).message).toContain('az storage container create');
  });

  it('the cause carries no SAS even when the SDK message quotes the URL', () => {
    const mapped = azureFailure(restError('AuthorizationFailure', 403, 'GET https://acct.blob.core.windows.net/lake?sv=2024&sp=r&sig=TOPSECRET%3D failed'), context);
    expect(mapped).toBeInstanceOf(AuthError);
    expect(String(mapped.cause)).not.toContain('TOPSECRET');
    expect(String(mapped.cause)).toContain('sig=<redacted>');
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((closed) => server.close(() => closed()));
  return port;
}
