/**
 * S3 and S3-compatible stores (MinIO, Cloudflare R2, Ceph RGW) behind the ObjectStore contract.
 *
 * Credentials: static keys from the given environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN);
 * otherwise the AWS SDK's default chain (AWS_PROFILE and shared files, SSO, web identity/IRSA, ECS and EC2 roles).
 * Region: AWS_REGION or AWS_DEFAULT_REGION, else the SDK's (the profile); `us-east-1` when an endpoint is set.
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL selects an S3-compatible store and path-style addressing.
 *
 * Put-if-absent is `PutObject` with `If-None-Match: *` (412/409 = the key exists). Some servers ignore that header
 * (s3rver does; old MinIO and Ceph did): LAKEHOUSE_S3_PUT_IF_ABSENT=auto (the default) probes the server once per
 * store, in checkWritable or before the first put-if-absent, by creating a probe object twice; if the second create
 * is not refused the store reports 'best-effort' and checks with HEAD before each conditional PUT, which narrows
 * the race but cannot close it. `enforced` or `best-effort` skip the probe.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ConfigError, InternalError, isConnectorError, type ConnectorError, type Logger } from '../../connector-spec/index.js';
import { isS3NotFound, isS3NotImplemented, isS3PreconditionFailure, s3ErrorFacts, s3Failure } from './s3-errors.js';
import { S3Upload, S3_MIN_PART_SIZE } from './s3-upload.js';
import { checkRange, checkStorePath, missingObject, sameBytes, shortObject } from './store-support.js';
import type { ObjectStore, PutIfAbsentGuarantee, StoredObject, Upload } from './types.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** How put-if-absent is trusted: measured by a probe, or set by LAKEHOUSE_S3_PUT_IF_ABSENT. */
export type S3PutIfAbsentMode = 'auto' | PutIfAbsentGuarantee;

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix of the store root, without leading or trailing `/` (`''` = the bucket root). */
  readonly prefix: string;
  readonly env: Env;
  /** The location as the user wrote it, without credentials. */
  readonly displayUrl: string;
  /** The flag named in configuration errors. Default `--lakehouse`. */
  readonly flag?: string;
  readonly logger?: Logger;
  /** Multipart part size in bytes (at least 5 MiB). Default 8 MiB. */
  readonly partSize?: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000, the default). */
  readonly listPageSize?: number;
}

export const S3_DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const PROBE_PREFIX = '_lakeflow_probe-';

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly displayUrl: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  /** `prefix/` or `''`. */
  readonly #root: string;
  readonly #flag: string;
  readonly #endpoint: string | undefined;
  readonly #partSize: number;
  readonly #listPageSize: number;
  readonly #checksums: boolean;
  readonly #logger: Logger | undefined;
  #mode: S3PutIfAbsentMode;
  /** False when the server rejects `If-None-Match` outright (501): then it is not sent at all. */
  #sendIfNoneMatch = true;
  #probe: Promise<void> | undefined;

  constructor(options: S3StoreOptions) {
    this.displayUrl = options.displayUrl;
    this.#bucket = options.bucket;
    this.#root = options.prefix === '' ? '' : `${options.prefix}/`;
    this.#flag = options.flag ?? '--lakehouse';
    this.#logger = options.logger;
    this.#mode = putIfAbsentMode(options.env);
    this.#partSize = options.partSize ?? S3_DEFAULT_PART_SIZE;
    this.#listPageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(this.#partSize) || this.#partSize < S3_MIN_PART_SIZE) {
      throw new InternalError(`S3 part size ${this.#partSize} is below S3's minimum of ${S3_MIN_PART_SIZE} bytes.`, { code: 'LAKEHOUSE_S3_PART_SIZE' });
    }
    const config = s3ClientConfig(options.env, this.#flag);
    this.#endpoint = config.endpoint;
    this.#checksums = config.endpoint === undefined;
    this.#client = new S3Client(config.client);
  }

  /** 'enforced' until a probe (auto mode) or LAKEHOUSE_S3_PUT_IF_ABSENT says otherwise. */
  get putIfAbsentGuarantee(): PutIfAbsentGuarantee {
    return this.#mode === 'best-effort' ? 'best-effort' : 'enforced';
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    checkStorePath(path);
    try {
      const result = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(path) }));
      return await bodyBytes(result.Body);
    } catch (error) {
      if (isS3NotFound(s3ErrorFacts(error))) return undefined;
      throw this.#fail(error, `read ${path}`);
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    checkStorePath(path);
    checkRange(path, offset, length);
    if (length === 0) {
      if ((await this.head(path)) === undefined) throw missingObject(this.displayUrl, path);
      return new Uint8Array(0);
    }
    let bytes: Uint8Array;
    try {
      const result = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(path), Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      bytes = await bodyBytes(result.Body);
    } catch (error) {
      const facts = s3ErrorFacts(error);
      if (isS3NotFound(facts)) throw missingObject(this.displayUrl, path);
      if (facts.status === 416 || facts.code === 'InvalidRange') throw shortObject(this.displayUrl, path, offset, length, 0);
      throw this.#fail(error, `read ${path}`);
    }
    if (bytes.byteLength !== length) throw shortObject(this.displayUrl, path, offset, length, bytes.byteLength);
    return bytes;
  }

  async head(path: string): Promise<StoredObject | undefined> {
    checkStorePath(path);
    try {
      const result = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(path) }));
      return { path, size: result.ContentLength ?? 0, modifiedMs: result.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isS3NotFound(s3ErrorFacts(error))) return undefined;
      throw this.#fail(error, `look up ${path}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    if (prefix !== '') checkStorePath(prefix);
    const pages = paginateListObjectsV2({ client: this.#client, pageSize: this.#listPageSize }, { Bucket: this.#bucket, Prefix: this.#root + prefix });
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const key = object.Key;
          // Folder markers ("Create folder" in consoles) are not objects of ours.
          if (key === undefined || key.endsWith('/') || !key.startsWith(this.#root)) continue;
          yield { path: key.slice(this.#root.length), size: object.Size ?? 0, modifiedMs: object.LastModified?.getTime() ?? 0 };
        }
      }
    } catch (error) {
      throw this.#fail(error, `list ${prefix === '' ? 'the location' : prefix}`);
    }
  }

  async putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean> {
    checkStorePath(path);
    if (this.#mode === 'auto') await this.#probePutIfAbsent(false);
    if (this.#mode === 'best-effort' && (await this.head(path)) !== undefined) return false;
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(path), Body: bytes, ...(this.#sendIfNoneMatch ? { IfNoneMatch: '*' } : {}) }),
      );
      return true;
    } catch (error) {
      if (!isS3PreconditionFailure(s3ErrorFacts(error))) throw this.#fail(error, `create ${path}`);
    }
    // Refused: the key exists. If it holds exactly our bytes, an earlier attempt of this very request landed
    // (the SDK retried after a lost response): the object is ours.
    const existing = await this.read(path);
    return existing !== undefined && sameBytes(existing, bytes);
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    checkStorePath(path);
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(path), Body: bytes }));
    } catch (error) {
      throw this.#fail(error, `write ${path}`);
    }
  }

  async createUpload(path: string): Promise<Upload> {
    checkStorePath(path);
    return new S3Upload({
      client: this.#client,
      bucket: this.#bucket,
      key: this.#key(path),
      path,
      partSize: this.#partSize,
      checksums: this.#checksums,
      ifNoneMatch: this.#sendIfNoneMatch,
      displayUrl: this.displayUrl,
      fail: (error, operation) => this.#fail(error, operation),
      head: (target) => this.head(target),
      read: (target) => this.read(target),
    });
  }

  async delete(path: string): Promise<void> {
    checkStorePath(path);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(path) }));
    } catch (error) {
      if (isS3NotFound(s3ErrorFacts(error))) return;
      throw this.#fail(error, `delete ${path}`);
    }
  }

  async localCopy(path: string): Promise<{ readonly file: string; release(): Promise<void> }> {
    checkStorePath(path);
    const dir = await mkdtemp(join(tmpdir(), 'lakeflow-s3-'));
    const file = join(dir, basename(path));
    const release = () => rm(dir, { recursive: true, force: true });
    try {
      const result = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(path) }));
      if (!(result.Body instanceof Readable)) throw new InternalError(`read ${path}: the S3 client returned no stream.`, { code: 'LAKEHOUSE_S3_NO_STREAM' });
      await pipeline(result.Body, createWriteStream(file));
      return { file, release };
    } catch (error) {
      await release();
      if (isS3NotFound(s3ErrorFacts(error))) throw missingObject(this.displayUrl, path);
      throw isConnectorError(error) ? error : this.#fail(error, `download ${path}`);
    }
  }

  async checkWritable(flag: string): Promise<void> {
    const check = (error: unknown, operation: string) => s3Failure(error, { ...this.#context(operation), flag, check: true });
    try {
      // Bucket exists, listing is allowed (ListBucket scoped to the prefix is enough).
      await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#root, MaxKeys: 1 }));
    } catch (error) {
      throw check(error, 'listing the location');
    }
    if (this.#mode === 'auto') {
      await this.#probePutIfAbsent(true, flag);
      return;
    }
    const probe = `${PROBE_PREFIX}${randomUUID()}`;
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(probe), Body: PROBE_BYTES }));
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(probe) }));
    } catch (error) {
      throw check(error, 'writing and deleting a probe object');
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  /**
   * Create a probe object twice with `If-None-Match: *`: a server that refuses the second create enforces
   * put-if-absent. Runs once per store; `check` maps failures as checkWritable does.
   */
  #probePutIfAbsent(check: boolean, flag = this.#flag): Promise<void> {
    this.#probe ??= this.#runProbe(check, flag).catch((error: unknown) => {
      this.#probe = undefined;
      throw error;
    });
    return this.#probe;
  }

  async #runProbe(check: boolean, flag: string): Promise<void> {
    const probe = `${PROBE_PREFIX}${randomUUID()}`;
    const key = this.#key(probe);
    const fail = (error: unknown, operation: string) => s3Failure(error, { ...this.#context(operation), flag, check });
    let enforced: boolean;
    try {
      try {
        await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: PROBE_BYTES, IfNoneMatch: '*' }));
      } catch (error) {
        if (!isS3NotImplemented(s3ErrorFacts(error))) throw error;
        this.#sendIfNoneMatch = false;
        await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: PROBE_BYTES }));
      }
      if (!this.#sendIfNoneMatch) {
        enforced = false;
      } else {
        try {
          await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: PROBE_BYTES, IfNoneMatch: '*' }));
          enforced = false;
        } catch (error) {
          if (!isS3PreconditionFailure(s3ErrorFacts(error))) throw error;
          enforced = true;
        }
      }
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })).catch(() => undefined);
      throw fail(error, 'writing and deleting a probe object');
    }
    this.#mode = enforced ? 'enforced' : 'best-effort';
    if (!enforced) {
      this.#logger?.warn(
        `${this.displayUrl}: the S3 server does not enforce If-None-Match on PUT, so put-if-absent is best-effort ` +
          '(a HEAD before each conditional PUT). Two writers committing the same table version at the same moment ' +
          'could overwrite each other: schedule one writer per table.',
        { store: 's3', putIfAbsent: 'best-effort' },
      );
    }
  }

  #key(path: string): string {
    return this.#root + path;
  }

  #context(operation: string) {
    return {
      flag: this.#flag,
      displayUrl: this.displayUrl,
      bucket: this.#bucket,
      operation,
      ...(this.#endpoint === undefined ? {} : { endpoint: this.#endpoint }),
    };
  }

  #fail(error: unknown, operation: string): ConnectorError {
    return isConnectorError(error) ? error : s3Failure(error, this.#context(operation));
  }
}

const PROBE_BYTES = new TextEncoder().encode('{"probe":"mixpanel-lakeflow; safe to delete"}\n');

/** LAKEHOUSE_S3_PUT_IF_ABSENT: auto (default) | enforced | best-effort. */
export function putIfAbsentMode(env: Env): S3PutIfAbsentMode {
  const raw = env.LAKEHOUSE_S3_PUT_IF_ABSENT?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'enforced' || raw === 'best-effort') return raw;
  throw new ConfigError(
    `LAKEHOUSE_S3_PUT_IF_ABSENT="${env.LAKEHOUSE_S3_PUT_IF_ABSENT}" is not one of auto, enforced, best-effort. Fix: unset it (auto probes the server) or pick one.`,
    { code: 'LAKEHOUSE_S3_PUT_IF_ABSENT', context: { variable: 'LAKEHOUSE_S3_PUT_IF_ABSENT' } },
  );
}

/** The S3 client configuration for an environment (exported for tests). */
export function s3ClientConfig(env: Env, flag = '--lakehouse'): { readonly client: S3ClientConfig; readonly endpoint?: string } {
  const endpointVar = nonEmpty(env.AWS_ENDPOINT_URL_S3) !== undefined ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const endpoint = nonEmpty(env[endpointVar]);
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.search !== '') {
      throw new ConfigError(`${endpointVar} is not an http(s) URL like https://minio.example.com:9000 (needed for ${flag} s3://…). Fix: correct or unset it.`, {
        code: 'LAKEHOUSE_S3_ENDPOINT',
        context: { variable: endpointVar },
      });
    }
  }
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint === undefined ? undefined : 'us-east-1');
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY';
    throw new ConfigError(`${missing} is not set but its partner is (needed for ${flag} s3://…). Fix: set both, or neither to use a profile or role.`, {
      code: 'LAKEHOUSE_S3_CREDENTIALS',
      context: { variable: missing },
    });
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  const profile = nonEmpty(env.AWS_PROFILE);
  const client: S3ClientConfig = {
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? { followRegionRedirects: true } : { endpoint, forcePathStyle: true }),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) } }
      : {}),
    ...(profile === undefined ? {} : { profile }),
    // The endpoint comes from this environment only, not from the process's or a config file's.
    ignoreConfiguredEndpointUrls: true,
    // S3-compatible stores often reject the SDK's default CRC32 trailers; AWS itself gets them.
    requestChecksumCalculation: endpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: endpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  };
  return endpoint === undefined ? { client } : { client, endpoint };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'object' && 'transformToByteArray' in body && typeof body.transformToByteArray === 'function') {
    const bytes: unknown = await body.transformToByteArray();
    if (bytes instanceof Uint8Array) return bytes;
  }
  throw new InternalError('The S3 client returned a body that is not a byte stream.', { code: 'LAKEHOUSE_S3_NO_STREAM' });
}

