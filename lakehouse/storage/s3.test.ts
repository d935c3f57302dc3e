import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError, ConfigError, DataError, InternalError, RateLimitError, TransientError, type Logger } from '../../connector-spec/index.js';
import { startS3rver, type S3rverHandle } from '../testing/servers.js';
import { describeObjectStoreConformance } from './conformance.js';
import { S3Store, putIfAbsentMode, s3ClientConfig } from './s3.js';
import { s3Failure } from './s3-errors.js';

// The SDK warns once per process that releases after January 2027 need Node 22; not news for these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
/** s3rver ignores If-None-Match. */
let plain: S3rverHandle;
/** s3rver behind a proxy that refuses a conditional PUT of an existing key with 412, as AWS does. */
let enforcing: S3rverHandle;

beforeAll(async () => {
  [plain, enforcing] = await Promise.all([startS3rver(), startS3rver({ enforceIfNoneMatch: true })]);
});
afterAll(async () => {
  await Promise.all([plain?.close(), enforcing?.close()]);
});

function newStore(server: S3rverHandle, options: { env?: Record<string, string>; logger?: Logger; listPageSize?: number; bucket?: string } = {}): S3Store {
  const prefix = `lake-${randomUUID()}`;
  const bucket = options.bucket ?? server.bucket;
  return new S3Store({
    bucket,
    prefix,
    env: { ...server.env, ...options.env },
    displayUrl: `s3://${bucket}/${prefix}`,
    partSize: 5 * MiB,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.listPageSize === undefined ? {} : { listPageSize: options.listPageSize }),
  });
}

function conformanceStore(server: () => S3rverHandle) {
  return async () => {
    const store = newStore(server(), { listPageSize: 7 });
    return { store, cleanup: () => store.close() };
  };
}

describeObjectStoreConformance('S3Store on s3rver (the server ignores If-None-Match)', conformanceStore(() => plain), {
  putIfAbsent: 'best-effort',
  bytesReceived: () => plain.bytesReceived(),
  uploadPartSize: 5 * MiB,
  pagedListing: 30,
  secrets: ['S3RVER'],
  makeUnwritableStore: async () => {
    const store = newStore(plain, { bucket: 'no-such-bucket' });
    return { store, cleanup: () => store.close() };
  },
});

describeObjectStoreConformance('S3Store on an S3 server that enforces If-None-Match', conformanceStore(() => enforcing), {
  putIfAbsent: 'enforced',
  bytesReceived: () => enforcing.bytesReceived(),
  uploadPartSize: 5 * MiB,
});

/** Requests the server saw since `from`, as `METHOD path?query` with the store's random prefix cut. */
function requestsSince(server: S3rverHandle, from: number): string[] {
  return server.requests.slice(from).map((r) => `${r.method} ${r.url.replace(/\/lake-[0-9a-f-]{36}/, '/<root>')}`);
}

describe('S3Store behaviour on loopback S3 servers', () => {
  const stores: S3Store[] = [];
  const track = (store: S3Store) => {
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    vi.unstubAllEnvs();
  });

  it('auto mode probes once, finds s3rver ignores If-None-Match, reports best-effort and warns once', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (message) => warnings.push(message) };
    const store = track(newStore(plain, { logger }));
    expect(store.putIfAbsentGuarantee).toBe('enforced');
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000000.json', encoder.encode('a'))).toBe(true);
    expect(store.putIfAbsentGuarantee).toBe('best-effort');
    await store.checkWritable('--lakehouse');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('best-effort');
    expect(warnings[0]).toContain(store.displayUrl);
  });

  it('auto mode finds an enforcing server enforced, without a HEAD before each create', async () => {
    const store = track(newStore(enforcing));
    await store.checkWritable('--lakehouse');
    expect(store.putIfAbsentGuarantee).toBe('enforced');
    const from = enforcing.requests.length;
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000000.json', encoder.encode('a'))).toBe(true);
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000000.json', encoder.encode('b'))).toBe(false);
    const seen = requestsSince(enforcing, from);
    expect(seen.filter((r) => r.startsWith('HEAD'))).toEqual([]);
    // The refused create reads the object back once, to tell a lost race from its own retried request.
    expect(seen.filter((r) => r.startsWith('PUT'))).toHaveLength(2);
  });

  it('LAKEHOUSE_S3_PUT_IF_ABSENT=best-effort skips the probe and checks with HEAD before the conditional PUT', async () => {
    const store = track(newStore(enforcing, { env: { LAKEHOUSE_S3_PUT_IF_ABSENT: 'best-effort' } }));
    expect(store.putIfAbsentGuarantee).toBe('best-effort');
    const from = enforcing.requests.length;
    expect(await store.putIfAbsent('t/x.json', encoder.encode('a'))).toBe(true);
    expect(await store.putIfAbsent('t/x.json', encoder.encode('b'))).toBe(false);
    expect(requestsSince(enforcing, from).map((r) => r.split('?')[0])).toEqual(['HEAD /lakehouse-test/<root>/t/x.json', 'PUT /lakehouse-test/<root>/t/x.json', 'HEAD /lakehouse-test/<root>/t/x.json']);
  });

  it('LAKEHOUSE_S3_PUT_IF_ABSENT=enforced trusts the server blindly: on s3rver a second create then overwrites (why auto is the default)', async () => {
    const store = track(newStore(plain, { env: { LAKEHOUSE_S3_PUT_IF_ABSENT: 'enforced' } }));
    await store.checkWritable('--lakehouse');
    expect(store.putIfAbsentGuarantee).toBe('enforced');
    expect(await store.putIfAbsent('t/y.json', encoder.encode('first'))).toBe(true);
    expect(await store.putIfAbsent('t/y.json', encoder.encode('second'))).toBe(true);
    expect(new TextDecoder().decode(await store.read('t/y.json'))).toBe('second');
  });

  it('a create refused because the key holds exactly our bytes counts as ours (a retried request that had landed)', async () => {
    const store = track(newStore(enforcing));
    const bytes = encoder.encode('{"commitInfo":{"runId":"r1"}}');
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000005.json', bytes)).toBe(true);
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000005.json', bytes)).toBe(true);
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000005.json', encoder.encode('{"commitInfo":{"runId":"r2"}}'))).toBe(false);
  });

  it('a large upload is a real multipart upload (5 MiB parts, completed once); a small one is a single PUT', async () => {
    const store = track(newStore(plain));
    let from = plain.requests.length;
    const upload = await store.createUpload('t/big.parquet');
    for (let i = 0; i < 12; i++) await upload.write(new Uint8Array(MiB).fill(i));
    expect((await upload.close()).size).toBe(12 * MiB);
    const seen = requestsSince(plain, from).map((r) => r.replace(/uploadId=[^&]+/, 'uploadId=U').replace(/&x-id=[A-Za-z]+/, ''));
    expect(seen.filter((r) => r.includes('?uploads'))).toHaveLength(1);
    expect(seen.filter((r) => /^PUT .*partNumber=\d+/.test(r))).toHaveLength(3);
    expect(seen.filter((r) => r.startsWith('POST') && r.includes('uploadId=U'))).toHaveLength(1);

    from = plain.requests.length;
    const small = await store.createUpload('t/small.parquet');
    await small.write(encoder.encode('tiny'));
    expect((await small.close()).size).toBe(4);
    const smallSeen = requestsSince(plain, from);
    expect(smallSeen.filter((r) => r.startsWith('PUT'))).toHaveLength(1);
    expect(smallSeen.filter((r) => r.includes('uploads') || r.includes('uploadId'))).toEqual([]);
  });

  it('abort after a part was sent aborts the multipart upload on the server', async () => {
    const store = track(newStore(plain));
    const from = plain.requests.length;
    const upload = await store.createUpload('t/aborted.parquet');
    for (let i = 0; i < 7; i++) await upload.write(new Uint8Array(MiB));
    await upload.abort();
    const seen = requestsSince(plain, from);
    expect(seen.filter((r) => r.startsWith('DELETE') && r.includes('uploadId='))).toHaveLength(1);
    expect(await store.head('t/aborted.parquet')).toBeUndefined();
  });

  it('an upload onto a key that holds other bytes fails with a DataError and leaves them; our own earlier copy is accepted', async () => {
    const store = track(newStore(enforcing));
    await store.put('t/part-1.parquet', encoder.encode('hello'));
    const other = await store.createUpload('t/part-1.parquet');
    await other.write(encoder.encode('world'));
    const failure = await other.close().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DataError);
    expect((failure as DataError).code).toBe('LAKEHOUSE_OBJECT_EXISTS');
    expect(new TextDecoder().decode(await store.read('t/part-1.parquet'))).toBe('hello');
    const same = await store.createUpload('t/part-1.parquet');
    await same.write(encoder.encode('hello'));
    expect((await same.close()).size).toBe(5);
  });

  it('list pages through ListObjectsV2 continuation tokens', async () => {
    const store = track(newStore(plain, { listPageSize: 4 }));
    const paths = Array.from({ length: 10 }, (_, i) => `p/${String(9 - i)}.json`);
    await Promise.all(paths.map((path) => store.put(path, encoder.encode(path))));
    const from = plain.requests.length;
    const listed: string[] = [];
    for await (const object of store.list('p/')) listed.push(object.path);
    expect(listed).toEqual([...paths].sort());
    const lists = requestsSince(plain, from).filter((r) => r.includes('list-type=2'));
    expect(lists).toHaveLength(3);
    expect(lists.filter((r) => r.includes('continuation-token='))).toHaveLength(2);
  });

  it('rejected credentials fail checkWritable with a ConfigError naming --lakehouse, the location and the variable, never the secret', async () => {
    const store = track(newStore(plain, { env: { AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1', AWS_SECRET_ACCESS_KEY: 'not-the-secret-f00' } }));
    const failure = await store.checkWritable('--lakehouse').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    const message = (failure as ConfigError).message;
    expect(message).toContain('--lakehouse');
    expect(message).toContain(store.displayUrl);
    expect(message).toContain('InvalidAccessKeyId');
    expect(message).toContain('AWS_ACCESS_KEY_ID');
    expect(message).not.toContain('not-the-secret-f00');
    expect(JSON.stringify({ ...(failure as ConfigError), cause: String((failure as ConfigError).cause) })).not.toContain('not-the-secret-f00');
    // The same refusal during a run is an AuthError (not retried).
    await expect(store.read('t/x.json')).rejects.toBeInstanceOf(AuthError);
  });

  it('an endpoint that refuses connections fails checkWritable with a ConfigError naming AWS_ENDPOINT_URL', async () => {
    const port = await closedPort();
    const store = track(newStore(plain, { env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` } }));
    const failure = await store.checkWritable('--lakehouse').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).message).toContain('ECONNREFUSED');
    expect((failure as ConfigError).message).toContain('AWS_ENDPOINT_URL');
    // During a run the same failure is transient (retried by the runner).
    await expect(store.read('t/x.json')).rejects.toBeInstanceOf(TransientError);
  });

  it('no credentials anywhere (the SDK chain finds none) fails checkWritable with a ConfigError naming the variables', async () => {
    // Keep the chain on this machine: no profile files, no container or instance metadata.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    const store = track(new S3Store({ bucket: plain.bucket, prefix: 'x', env: { AWS_ENDPOINT_URL: plain.endpoint }, displayUrl: `s3://${plain.bucket}/x` }));
    const failure = await store.checkWritable('--lakehouse').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).code).toBe('LAKEHOUSE_S3_NO_CREDENTIALS');
    expect((failure as ConfigError).message).toContain('AWS_ACCESS_KEY_ID');
    expect((failure as ConfigError).message).toContain('AWS_PROFILE');
  });
});

describe('S3 configuration from the environment', () => {
  it('an endpoint selects path-style addressing, us-east-1 and no default checksums (S3-compatible stores)', () => {
    const { client, endpoint } = s3ClientConfig({ AWS_ENDPOINT_URL: 'http://minio.local:9000', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' });
    expect(endpoint).toBe('http://minio.local:9000');
    expect(client).toMatchObject({ endpoint: 'http://minio.local:9000', forcePathStyle: true, region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED' });
    expect(client.credentials).toEqual({ accessKeyId: 'k', secretAccessKey: 's' });
  });

  it('AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL; AWS_REGION over AWS_DEFAULT_REGION', () => {
    const { client } = s3ClientConfig({ AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'https://b:2', AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' });
    expect(client.endpoint).toBe('https://b:2');
    expect(client.region).toBe('eu-west-1');
    expect(s3ClientConfig({ AWS_DEFAULT_REGION: 'us-west-2' }).client.region).toBe('us-west-2');
  });

  it('without an endpoint: AWS itself, virtual-hosted, region redirects followed, and the SDK credential chain when no keys are set', () => {
    const { client, endpoint } = s3ClientConfig({ AWS_REGION: 'eu-central-1', AWS_PROFILE: 'analytics' });
    expect(endpoint).toBeUndefined();
    expect(client.forcePathStyle).toBeUndefined();
    expect(client.followRegionRedirects).toBe(true);
    expect(client.credentials).toBeUndefined();
    expect(client.profile).toBe('analytics');
    expect(client.requestChecksumCalculation).toBe('WHEN_SUPPORTED');
    expect(s3ClientConfig({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }).client.credentials).toEqual({ accessKeyId: 'k', secretAccessKey: 's', sessionToken: 't' });
  });

  it('a malformed endpoint, half a key pair or a bad LAKEHOUSE_S3_PUT_IF_ABSENT is a ConfigError naming the variable (never the secret)', () => {
    expect(() => s3ClientConfig({ AWS_ENDPOINT_URL: 'minio:9000' })).toThrow(/AWS_ENDPOINT_URL/);
    const withPassword = (() => {
      try {
        s3ClientConfig({ AWS_ENDPOINT_URL: 'https://user:hunter2@minio.local' });
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(withPassword).toBeInstanceOf(ConfigError);
    expect((withPassword as Error).message).not.toContain('hunter2');
    expect(() => s3ClientConfig({ AWS_SECRET_ACCESS_KEY: 'sekret-value' })).toThrow(/AWS_ACCESS_KEY_ID is not set/);
    expect(() => s3ClientConfig({ AWS_SECRET_ACCESS_KEY: 'sekret-value' })).not.toThrow(/sekret-value/);
    expect(() => putIfAbsentMode({ LAKEHOUSE_S3_PUT_IF_ABSENT: 'always' })).toThrow(/LAKEHOUSE_S3_PUT_IF_ABSENT/);
    expect(putIfAbsentMode({})).toBe('auto');
    expect(putIfAbsentMode({ LAKEHOUSE_S3_PUT_IF_ABSENT: 'Best-Effort' })).toBe('best-effort');
  });
});

describe('S3 failures map onto the error taxonomy', () => {
  const context = { flag: '--lakehouse', displayUrl: 's3://b/p', bucket: 'b', operation: 'read x' };
  const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, Code: name, $metadata: { httpStatusCode: status, requestId: 'REQ1' } });

  it('throttling is a RateLimitError, 5xx a TransientError, an unknown 4xx an InternalError', () => {
    expect(s3Failure(sdkError('SlowDown', 503), context)).toBeInstanceOf(RateLimitError);
    expect(s3Failure(sdkError('InternalError', 500), context)).toBeInstanceOf(TransientError);
    const odd = s3Failure(sdkError('InvalidArgument', 400), context);
    expect(odd).toBeInstanceOf(InternalError);
    expect(odd.message).toContain('REQ1');
  });

  it('a missing region, a missing bucket and a wrong region are ConfigErrors with the fix', () => {
    expect(s3Failure(new Error('Region is missing'), context).message).toContain('AWS_REGION');
    expect(s3Failure(sdkError('NoSuchBucket', 404), context)).toBeInstanceOf(ConfigError);
    expect(s3Failure(sdkError('PermanentRedirect', 301), context).message).toContain('AWS_REGION');
  });

  it('AccessDenied is an AuthError during a run and a ConfigError in checkWritable; network errors transient vs config', () => {
    expect(s3Failure(sdkError('AccessDenied', 403), context)).toBeInstanceOf(AuthError);
    expect(s3Failure(sdkError('AccessDenied', 403), { ...context, check: true })).toBeInstanceOf(ConfigError);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(s3Failure(reset, context)).toBeInstanceOf(TransientError);
    expect(s3Failure(reset, { ...context, check: true })).toBeInstanceOf(ConfigError);
  });

  it('the cause keeps the SDK error name and message only (no raw request with signed headers)', () => {
    const raw = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', Code: 'AccessDenied', $metadata: { httpStatusCode: 403 }, $response: { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIASECRET' } } });
    const mapped = s3Failure(raw, context);
    expect(mapped.cause).toBeInstanceOf(Error);
    expect(JSON.stringify(mapped.cause, Object.getOwnPropertyNames(mapped.cause))).not.toContain('AKIASECRET');
  });
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((closed) => server.close(() => closed()));
  return port;
}
