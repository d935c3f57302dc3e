/**
 * Azure Blob Storage and ADLS Gen2 (through its Blob endpoint) behind the ObjectStore contract.
 * Credentials: see ./azure-credentials.ts. Put-if-absent is Put Blob with `If-None-Match: *` (409 BlobAlreadyExists
 * or 412 = the blob exists), which Azure and Azurite enforce. Uploads stage blocks and commit the block list on
 * close. Listing skips the directory entries an account with a hierarchical namespace shows (`hdi_isfolder`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { isConnectorError, type ConnectorError, type Logger } from '../../connector-spec/index.js';
import { azureConnection } from './azure-credentials.js';
import { azureErrorFacts, azureFailure, isAzureAlreadyExists, isAzureNotFound } from './azure-errors.js';
import { AzureUpload } from './azure-upload.js';
import type { Location } from './location.js';
import { checkRange, checkStorePath, missingObject, sameBytes, shortObject } from './store-support.js';
import type { ObjectStore, StoredObject, Upload } from './types.js';

export interface AzureStoreOptions {
  readonly location: Location & { readonly kind: 'azure' };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The location as the user wrote it, without credentials. */
  readonly displayUrl: string;
  /** The flag named in configuration errors. Default `--lakehouse`. */
  readonly flag?: string;
  readonly logger?: Logger;
  /** Block size of streaming uploads. Default 8 MiB. */
  readonly blockSize?: number;
  /** Attempts per request, the first included (the SDK's exponential retry). Default 4. */
  readonly maxTries?: number;
  /** Blobs per listing page (Azure's default and cap: 5000). */
  readonly listPageSize?: number;
}

export const AZURE_DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
const PROBE_PREFIX = '_lakeflow_probe-';
const PROBE_BYTES = new TextEncoder().encode('{"probe":"mixpanel-lakeflow; safe to delete"}\n');

export class AzureStore implements ObjectStore {
  readonly kind = 'azure' as const;
  readonly displayUrl: string;
  readonly putIfAbsentGuarantee = 'enforced' as const;
  readonly #container: ContainerClient;
  readonly #containerName: string;
  readonly #account: string;
  readonly #endpoint: string;
  readonly #auth: 'connection-string' | 'account-key' | 'sas';
  /** `prefix/` or `''`. */
  readonly #root: string;
  readonly #flag: string;
  readonly #blockSize: number;
  readonly #listPageSize: number;

  constructor(options: AzureStoreOptions) {
    this.displayUrl = options.displayUrl;
    this.#flag = options.flag ?? '--lakehouse';
    this.#blockSize = options.blockSize ?? AZURE_DEFAULT_BLOCK_SIZE;
    this.#listPageSize = options.listPageSize ?? 5000;
    this.#root = options.location.prefix === '' ? '' : `${options.location.prefix}/`;
    this.#containerName = options.location.container;
    const connection = azureConnection(options.location, options.env, this.#flag, {
      retryOptions: { maxTries: options.maxTries ?? 4, retryDelayInMs: 500, maxRetryDelayInMs: 10_000, tryTimeoutInMs: 120_000 },
      userAgentOptions: { userAgentPrefix: 'mixpanel-lakeflow' },
    });
    this.#account = connection.account;
    this.#endpoint = connection.endpoint;
    this.#auth = connection.auth;
    this.#container = connection.client.getContainerClient(options.location.container);
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    checkStorePath(path);
    try {
      return await this.#download(path);
    } catch (error) {
      if (isAzureNotFound(azureErrorFacts(error))) return undefined;
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
      bytes = await this.#download(path, offset, length);
    } catch (error) {
      const facts = azureErrorFacts(error);
      if (isAzureNotFound(facts)) throw missingObject(this.displayUrl, path);
      if (facts.status === 416 || facts.code === 'InvalidRange') throw shortObject(this.displayUrl, path, offset, length, 0);
      throw this.#fail(error, `read ${path}`);
    }
    if (bytes.byteLength !== length) throw shortObject(this.displayUrl, path, offset, length, bytes.byteLength);
    return bytes;
  }

  async head(path: string): Promise<StoredObject | undefined> {
    checkStorePath(path);
    try {
      const properties = await this.#blob(path).getProperties();
      return { path, size: properties.contentLength ?? 0, modifiedMs: properties.lastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isAzureNotFound(azureErrorFacts(error))) return undefined;
      throw this.#fail(error, `look up ${path}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    if (prefix !== '') checkStorePath(prefix);
    try {
      const pages = this.#container.listBlobsFlat({ prefix: this.#root + prefix, includeMetadata: true }).byPage({ maxPageSize: this.#listPageSize });
      for await (const page of pages) {
        for (const blob of page.segment.blobItems) {
          // Hierarchical-namespace accounts list their directories as empty blobs marked hdi_isfolder.
          if (blob.metadata?.hdi_isfolder === 'true' || blob.name.endsWith('/') || !blob.name.startsWith(this.#root)) continue;
          yield { path: blob.name.slice(this.#root.length), size: blob.properties.contentLength ?? 0, modifiedMs: blob.properties.lastModified.getTime() };
        }
      }
    } catch (error) {
      throw this.#fail(error, `list ${prefix === '' ? 'the location' : prefix}`);
    }
  }

  async putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean> {
    checkStorePath(path);
    try {
      await this.#blob(path).upload(bytes, bytes.byteLength, { conditions: { ifNoneMatch: '*' } });
      return true;
    } catch (error) {
      if (!isAzureAlreadyExists(azureErrorFacts(error))) throw this.#fail(error, `create ${path}`);
    }
    // Refused: the blob exists. If it holds exactly our bytes, an earlier attempt of this very request landed
    // (the SDK retried after a lost response): the blob is ours.
    const existing = await this.read(path);
    return existing !== undefined && sameBytes(existing, bytes);
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    checkStorePath(path);
    try {
      await this.#blob(path).upload(bytes, bytes.byteLength);
    } catch (error) {
      throw this.#fail(error, `write ${path}`);
    }
  }

  async createUpload(path: string): Promise<Upload> {
    checkStorePath(path);
    return new AzureUpload({
      blob: this.#blob(path),
      path,
      displayUrl: this.displayUrl,
      blockSize: this.#blockSize,
      fail: (error, operation) => this.#fail(error, operation),
      head: (target) => this.head(target),
    });
  }

  async delete(path: string): Promise<void> {
    checkStorePath(path);
    try {
      await this.#blob(path).deleteIfExists();
    } catch (error) {
      if (isAzureNotFound(azureErrorFacts(error))) return;
      throw this.#fail(error, `delete ${path}`);
    }
  }

  async localCopy(path: string): Promise<{ readonly file: string; release(): Promise<void> }> {
    checkStorePath(path);
    const dir = await mkdtemp(join(tmpdir(), 'lakeflow-azure-'));
    const file = join(dir, basename(path));
    const release = () => rm(dir, { recursive: true, force: true });
    try {
      await this.#blob(path).downloadToFile(file);
      return { file, release };
    } catch (error) {
      await release();
      if (isAzureNotFound(azureErrorFacts(error))) throw missingObject(this.displayUrl, path);
      throw this.#fail(error, `download ${path}`);
    }
  }

  async checkWritable(flag: string): Promise<void> {
    const check = (error: unknown, operation: string) => azureFailure(error, { ...this.#context(operation), flag, check: true });
    try {
      // The container exists and listing is allowed (works for a SAS scoped to the container, unlike getProperties).
      await this.#container.listBlobsFlat({ prefix: this.#root }).byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      throw check(error, 'listing the location');
    }
    const probe = this.#blob(`${PROBE_PREFIX}${randomUUID()}`);
    try {
      await probe.upload(PROBE_BYTES, PROBE_BYTES.byteLength, { conditions: { ifNoneMatch: '*' } });
      await probe.delete();
    } catch (error) {
      await probe.deleteIfExists().catch(() => undefined);
      throw check(error, 'writing and deleting a probe blob');
    }
  }

  async close(): Promise<void> {
    // The SDK keeps no connections of its own to release.
  }

  /** One GET (downloadToBuffer would ask for the properties first), its body collected. */
  async #download(path: string, offset = 0, length?: number): Promise<Uint8Array> {
    const response = await this.#blob(path).download(offset, length, { maxRetryRequests: 3 });
    const body = response.readableStreamBody;
    if (body === undefined) return new Uint8Array(0);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks);
  }

  #blob(path: string) {
    return this.#container.getBlockBlobClient(this.#root + path);
  }

  #context(operation: string) {
    return {
      flag: this.#flag,
      displayUrl: this.displayUrl,
      account: this.#account,
      container: this.#containerName,
      endpoint: this.#endpoint,
      auth: this.#auth,
      operation,
    };
  }

  #fail(error: unknown, operation: string): ConnectorError {
    return isConnectorError(error) ? error : azureFailure(error, this.#context(operation));
  }
}
