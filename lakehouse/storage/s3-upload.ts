/**
 * A streaming S3 upload with bounded memory: bytes gather into one part; a full part is sent while the next one
 * gathers, and a write waits for the previous part before it lets a new one start. So at most two parts are held
 * (one in flight, one gathering), whatever the object's size. An object smaller than one part is one PutObject.
 * Nothing is visible under the key before `close()` (CompleteMultipartUpload); `abort()` waits for the part in
 * flight, then aborts the multipart upload, so no object appears and no parts are left behind.
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
import { DataError, InternalError, isConnectorError, type ConnectorError } from '../../connector-spec/index.js';
import { objectExists, sameBytes } from './store-support.js';
import { isS3PreconditionFailure, s3ErrorFacts } from './s3-errors.js';
import type { StoredObject, Upload } from './types.js';

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

type State = 'open' | 'closing' | 'closed' | 'aborted' | 'failed';

export class S3Upload implements Upload {
  readonly #options: S3UploadOptions;
  #state: State = 'open';
  #gathering: Buffer[] = [];
  #gatheredBytes = 0;
  #written = 0;
  #uploadId: string | undefined;
  #nextPart = 1;
  #parts: CompletedPart[] = [];
  #inFlight: Promise<void> | undefined;
  #failure: ConnectorError | undefined;

  constructor(options: S3UploadOptions) {
    this.#options = options;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#assertOpen('write');
    if (chunk.byteLength === 0) return;
    // Copy: the caller may reuse its buffer as soon as write() resolves.
    this.#gathering.push(Buffer.from(chunk));
    this.#gatheredBytes += chunk.byteLength;
    this.#written += chunk.byteLength;
    while (this.#gatheredBytes >= this.#options.partSize) {
      const part = this.#take(this.#options.partSize);
      try {
        await this.#sendPart(part);
      } catch (error) {
        await this.#failWith(error);
      }
      this.#assertOpen('write');
    }
  }

  async close(): Promise<StoredObject> {
    this.#assertOpen('close');
    this.#state = 'closing';
    let single: Buffer | undefined;
    try {
      if (this.#uploadId === undefined && this.#inFlight === undefined) {
        const body = this.#take(this.#gatheredBytes);
        single = body;
        await this.#call('write', () =>
          this.#options.client.send(new PutObjectCommand({ Bucket: this.#options.bucket, Key: this.#options.key, Body: body, ...this.#condition() })),
        );
      } else {
        if (this.#gatheredBytes > 0) await this.#sendPart(this.#take(this.#gatheredBytes));
        await this.#settle();
        if (this.#failure !== undefined) throw this.#failure;
        const parts = [...this.#parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        const uploadId = this.#uploadId;
        await this.#call('complete the multipart upload of', () =>
          this.#options.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.#options.bucket,
              Key: this.#options.key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
              ...this.#condition(),
            }),
          ),
        );
        this.#uploadId = undefined;
      }
    } catch (error) {
      if (!isConnectorError(error) && isS3PreconditionFailure(s3ErrorFacts(error))) {
        // The key exists. If it is this upload (our bytes; for a multipart upload, our size: data file names are
        // unique), an earlier attempt of a retried request finished it. Anything else is never overwritten.
        const existing = await this.#options.head(this.#options.path).catch(() => undefined);
        const ours =
          existing !== undefined &&
          existing.size === this.#written &&
          (single === undefined || sameBytes((await this.#options.read(this.#options.path).catch(() => undefined)) ?? new Uint8Array(), single));
        if (existing !== undefined && ours) {
          await this.#abortMultipart();
          this.#state = 'closed';
          return existing;
        }
        await this.#failWith(objectExists(this.#options.displayUrl, this.#options.path));
      }
      await this.#failWith(error);
    }
    this.#state = 'closed';
    const stored = await this.#options.head(this.#options.path);
    if (stored === undefined || stored.size !== this.#written) {
      throw new DataError(
        `${this.#options.displayUrl}: after the upload ${this.#options.path} holds ${stored === undefined ? 'no object' : `${stored.size} bytes`} where ${this.#written} were written. ` +
          'Fix: check that nothing else writes under this location, then run again.',
        { code: 'LAKEHOUSE_UPLOAD_SIZE', context: { path: this.#options.path } },
      );
    }
    return stored;
  }

  async abort(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    await this.#settle();
    this.#gathering = [];
    this.#gatheredBytes = 0;
    await this.#abortMultipart();
  }

  /** Wait for the part in flight (if any), then start this one without waiting for it. */
  async #sendPart(part: Buffer): Promise<void> {
    await this.#settle();
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#nextPart > S3_MAX_PARTS) {
      throw new InternalError(`${this.#options.path}: more than ${S3_MAX_PARTS} parts; the part size is too small for this object.`, {
        code: 'LAKEHOUSE_S3_TOO_MANY_PARTS',
        context: { path: this.#options.path },
      });
    }
    const uploadId = await this.#ensureMultipart();
    const partNumber = this.#nextPart++;
    this.#inFlight = this.#options.client
      .send(new UploadPartCommand({ Bucket: this.#options.bucket, Key: this.#options.key, UploadId: uploadId, PartNumber: partNumber, Body: part }))
      .then(
        (result) => {
          this.#parts.push({
            PartNumber: partNumber,
            ETag: result.ETag,
            ...(result.ChecksumCRC32 === undefined ? {} : { ChecksumCRC32: result.ChecksumCRC32 }),
          });
        },
        (error: unknown) => {
          this.#failure ??= this.#options.fail(error, `upload part ${partNumber} of ${this.#options.path}`);
        },
      );
  }

  async #ensureMultipart(): Promise<string> {
    if (this.#uploadId !== undefined) return this.#uploadId;
    const created = await this.#call('start a multipart upload of', () =>
      this.#options.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#options.bucket,
          Key: this.#options.key,
          ...(this.#options.checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
        }),
      ),
    );
    if (created.UploadId === undefined) {
      throw new InternalError(`${this.#options.path}: the store started a multipart upload without an upload id.`, { code: 'LAKEHOUSE_S3_NO_UPLOAD_ID' });
    }
    this.#uploadId = created.UploadId;
    return created.UploadId;
  }

  async #settle(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    if (inFlight !== undefined) await inFlight;
  }

  async #abortMultipart(): Promise<void> {
    const uploadId = this.#uploadId;
    this.#uploadId = undefined;
    if (uploadId === undefined) return;
    try {
      await this.#options.client.send(new AbortMultipartUploadCommand({ Bucket: this.#options.bucket, Key: this.#options.key, UploadId: uploadId }));
    } catch {
      // Best effort: a bucket lifecycle rule (AbortIncompleteMultipartUpload) collects what is left.
    }
  }

  /** Fail the upload: abort the multipart upload and throw the typed error. */
  async #failWith(error: unknown): Promise<never> {
    const typed = this.#failure ?? (isConnectorError(error) ? error : this.#options.fail(error, `upload ${this.#options.path}`));
    this.#failure = typed;
    this.#state = 'failed';
    await this.#settle();
    this.#gathering = [];
    this.#gatheredBytes = 0;
    await this.#abortMultipart();
    throw typed;
  }

  #condition(): { IfNoneMatch?: string } {
    return this.#options.ifNoneMatch ? { IfNoneMatch: '*' } : {};
  }

  async #call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      // A refused If-None-Match is for close() to judge.
      if (isS3PreconditionFailure(s3ErrorFacts(error))) throw error;
      throw this.#options.fail(error, `${operation} ${this.#options.path}`);
    }
  }

  #take(bytes: number): Buffer {
    const all = this.#gathering.length === 1 ? (this.#gathering[0] as Buffer) : Buffer.concat(this.#gathering, this.#gatheredBytes);
    const part = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.#gathering = rest.byteLength > 0 ? [Buffer.from(rest)] : [];
    this.#gatheredBytes = rest.byteLength;
    return part;
  }

  #assertOpen(what: string): void {
    if (this.#state === 'open') return;
    if (this.#state === 'failed' && this.#failure !== undefined) throw this.#failure;
    throw new InternalError(`${this.#options.path}: ${what}() on an upload that is ${this.#state}.`, { code: 'LAKEHOUSE_UPLOAD_STATE', context: { path: this.#options.path } });
  }
}

