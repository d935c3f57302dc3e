/**
 * A streaming S3 upload (block-upload.ts does the gathering, the two-part bound and the checks): parts of a
 * multipart upload, or one PutObject for an object smaller than a part. Nothing is visible under the key before
 * CompleteMultipartUpload; `abort()` waits for the part in flight, then aborts the multipart upload, so no object
 * appears and no parts are left behind.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InternalError, type ConnectorError } from '../../connector-spec/index.js';
import { BlockUpload, type BlockStore } from './block-upload.js';
import { sameBytes } from './store-support.js';
import { isS3PreconditionFailure, s3ErrorFacts } from './s3-errors.js';
import type { StoredObject } from './types.js';

/** S3's smallest part (every part but the last). */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part count per upload. */
const S3_MAX_PARTS = 10_000;

export interface S3UploadOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** The store-relative path, for messages and the result. */
  readonly path: string;
  readonly partSize: number;
  /** Ask for CRC32 part checksums (AWS itself); off for S3-compatible stores that reject them. */
  readonly checksums: boolean;
  /** Finish with `If-None-Match: *`, so a data file is never overwritten (off where the server rejects it). */
  readonly ifNoneMatch: boolean;
  readonly displayUrl: string;
  readonly fail: (error: unknown, operation: string) => ConnectorError;
  readonly head: (path: string) => Promise<StoredObject | undefined>;
  readonly read: (path: string) => Promise<Uint8Array | undefined>;
}

export class S3Upload extends BlockUpload {
  constructor(options: S3UploadOptions) {
    super({ path: options.path, displayUrl: options.displayUrl, blockSize: options.partSize, fail: options.fail, head: options.head }, new S3Parts(options));
  }
}

class S3Parts implements BlockStore {
  readonly #o: S3UploadOptions;
  readonly maxBlocks = S3_MAX_PARTS;
  readonly blockWord = 'part';
  readonly tooManyBlocksCode = 'LAKEHOUSE_S3_TOO_MANY_PARTS';
  #uploadId: string | undefined;
  #parts: CompletedPart[] = [];

  constructor(options: S3UploadOptions) {
    this.#o = options;
  }

  async putSingle(body: Buffer): Promise<void> {
    const o = this.#o;
    await this.#call('write', () => o.client.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: body, ...this.#condition() })));
  }

  async beginBlock(block: Buffer, index: number): Promise<{ readonly done: Promise<void> }> {
    const o = this.#o;
    const uploadId = await this.#ensureMultipart();
    const partNumber = index + 1;
    const done = o.client.send(new UploadPartCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId, PartNumber: partNumber, Body: block })).then((result) => {
      this.#parts.push({ PartNumber: partNumber, ETag: result.ETag, ...(result.ChecksumCRC32 === undefined ? {} : { ChecksumCRC32: result.ChecksumCRC32 }) });
    });
    return { done };
  }

  async commitBlocks(): Promise<void> {
    const o = this.#o;
    const parts = [...this.#parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const uploadId = this.#uploadId;
    await this.#call('complete the multipart upload of', () =>
      o.client.send(new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...this.#condition() })),
    );
    this.#uploadId = undefined;
  }

  alreadyExists(error: unknown): boolean {
    return isS3PreconditionFailure(s3ErrorFacts(error));
  }

  /** A multipart upload of our size is ours (data file names are unique); a single put must hold our bytes. */
  async isOurs(single: Buffer | undefined): Promise<boolean> {
    if (single === undefined) return true;
    return sameBytes((await this.#o.read(this.#o.path).catch(() => undefined)) ?? new Uint8Array(), single);
  }

  async discardBlocks(): Promise<void> {
    const o = this.#o;
    const uploadId = this.#uploadId;
    this.#uploadId = undefined;
    if (uploadId === undefined) return;
    try {
      await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId }));
    } catch {
      // Best effort: a bucket lifecycle rule (AbortIncompleteMultipartUpload) collects what is left.
    }
  }

  async #ensureMultipart(): Promise<string> {
    if (this.#uploadId !== undefined) return this.#uploadId;
    const o = this.#o;
    const created = await this.#call('start a multipart upload of', () =>
      o.client.send(new CreateMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, ...(o.checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}) })),
    );
    if (created.UploadId === undefined) {
      throw new InternalError(`${o.path}: the store started a multipart upload without an upload id.`, { code: 'LAKEHOUSE_S3_NO_UPLOAD_ID' });
    }
    this.#uploadId = created.UploadId;
    return created.UploadId;
  }

  #condition(): { IfNoneMatch?: string } {
    return this.#o.ifNoneMatch ? { IfNoneMatch: '*' } : {};
  }

  async #call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      // A refused If-None-Match is for close() to judge.
      if (isS3PreconditionFailure(s3ErrorFacts(error))) throw error;
      throw this.#o.fail(error, `${operation} ${this.#o.path}`);
    }
  }
}
