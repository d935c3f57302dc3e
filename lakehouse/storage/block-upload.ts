/**
 * What a streaming object-store upload does whatever the store (S3 parts, Azure blocks), with bounded memory:
 * bytes gather into one block; a full block is sent while the next one gathers, and a write waits for the previous
 * block before it starts a new one, so at most two blocks are held whatever the object's size. An object smaller
 * than one block is a single put. Nothing is visible before `close()` commits, put-if-absent: when the object
 * already exists, it is taken as this upload's only if it is (an earlier attempt of a retried request); anything
 * else is never overwritten. After the commit the stored size must be the size written.
 *
 * The store supplies the calls (`BlockStore`); s3-upload.ts and azure-upload.ts are the two.
 */
import { DataError, InternalError, isConnectorError, type ConnectorError } from '../../connector-spec/index.js';
import { objectExists } from './store-support.js';
import type { StoredObject, Upload } from './types.js';

/** Where an upload goes, whatever the store. */
export interface UploadTarget {
  /** The store-relative path, for messages and the result. */
  readonly path: string;
  readonly displayUrl: string;
  readonly blockSize: number;
  readonly fail: (error: unknown, operation: string) => ConnectorError;
  readonly head: (path: string) => Promise<StoredObject | undefined>;
}

/** The store's calls. */
export interface BlockStore {
  /** The store's largest block count per object, the word for a block ("part", "block") and the error code past it. */
  readonly maxBlocks: number;
  readonly blockWord: string;
  readonly tooManyBlocksCode: string;
  /** Put the whole object at once, put-if-absent. */
  putSingle(body: Buffer): Promise<void>;
  /** Start sending block `index` (from 0); `done` settles once the store holds it. Setting up may be awaited here. */
  beginBlock(block: Buffer, index: number): Promise<{ readonly done: Promise<void> }>;
  /** Make the sent blocks the object, in order, put-if-absent. */
  commitBlocks(): Promise<void>;
  /** The error `putSingle` or `commitBlocks` threw says the object already exists. */
  alreadyExists(error: unknown): boolean;
  /** The existing object (already of the written size) is this upload's: its bytes (`single`) or its blocks. */
  isOurs(single: Buffer | undefined): Promise<boolean>;
  /** Drop blocks sent but not committed (best effort; also after a commit another attempt had made). */
  discardBlocks(): Promise<void>;
}

type State = 'open' | 'closing' | 'closed' | 'aborted' | 'failed';

export class BlockUpload implements Upload {
  readonly #target: UploadTarget;
  readonly #store: BlockStore;
  #state: State = 'open';
  #gathering: Buffer[] = [];
  #gatheredBytes = 0;
  #written = 0;
  #blocks = 0;
  #inFlight: Promise<void> | undefined;
  #failure: ConnectorError | undefined;

  constructor(target: UploadTarget, store: BlockStore) {
    this.#target = target;
    this.#store = store;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#assertOpen('write');
    if (chunk.byteLength === 0) return;
    // Copy: the caller may reuse its buffer as soon as write() resolves.
    this.#gathering.push(Buffer.from(chunk));
    this.#gatheredBytes += chunk.byteLength;
    this.#written += chunk.byteLength;
    while (this.#gatheredBytes >= this.#target.blockSize) {
      const block = this.#take(this.#target.blockSize);
      try {
        await this.#send(block);
      } catch (error) {
        await this.#failWith(error);
      }
      this.#assertOpen('write');
    }
  }

  async close(): Promise<StoredObject> {
    this.#assertOpen('close');
    this.#state = 'closing';
    const store = this.#store;
    const target = this.#target;
    let single: Buffer | undefined;
    try {
      if (this.#blocks === 0) {
        single = this.#take(this.#gatheredBytes);
        await store.putSingle(single);
      } else {
        if (this.#gatheredBytes > 0) await this.#send(this.#take(this.#gatheredBytes));
        await this.#settle();
        if (this.#failure !== undefined) throw this.#failure;
        await store.commitBlocks();
      }
    } catch (error) {
      if (!isConnectorError(error) && store.alreadyExists(error)) {
        const existing = await target.head(target.path).catch(() => undefined);
        if (existing !== undefined && existing.size === this.#written && (await store.isOurs(single).catch(() => false))) {
          await store.discardBlocks();
          this.#state = 'closed';
          return existing;
        }
        await this.#failWith(objectExists(target.displayUrl, target.path));
      }
      await this.#failWith(error);
    }
    this.#state = 'closed';
    const stored = await target.head(target.path);
    if (stored === undefined || stored.size !== this.#written) {
      throw new DataError(
        `${target.displayUrl}: after the upload ${target.path} holds ${stored === undefined ? 'nothing' : `${stored.size} bytes`} where ${this.#written} were written. ` +
          'Fix: check that nothing else writes under this location, then run again.',
        { code: 'LAKEHOUSE_UPLOAD_SIZE', context: { path: target.path } },
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
    await this.#store.discardBlocks();
  }

  /** Wait for the block in flight (if any), then start this one without waiting for it. */
  async #send(block: Buffer): Promise<void> {
    await this.#settle();
    if (this.#failure !== undefined) throw this.#failure;
    const store = this.#store;
    const target = this.#target;
    if (this.#blocks >= store.maxBlocks) {
      throw new InternalError(`${target.path}: more than ${store.maxBlocks} ${store.blockWord}s; the ${store.blockWord} size is too small for this object.`, {
        code: store.tooManyBlocksCode,
        context: { path: target.path },
      });
    }
    const index = this.#blocks++;
    const { done } = await store.beginBlock(block, index);
    this.#inFlight = done.then(
      () => undefined,
      (error: unknown) => {
        this.#failure ??= target.fail(error, `upload ${store.blockWord} ${index + 1} of ${target.path}`);
      },
    );
  }

  async #settle(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    if (inFlight !== undefined) await inFlight;
  }

  /** Fail the upload: drop what was sent and throw the typed error. */
  async #failWith(error: unknown): Promise<never> {
    const typed = this.#failure ?? (isConnectorError(error) ? error : this.#target.fail(error, `upload ${this.#target.path}`));
    this.#failure = typed;
    this.#state = 'failed';
    await this.#settle();
    this.#gathering = [];
    this.#gatheredBytes = 0;
    await this.#store.discardBlocks();
    throw typed;
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
    throw new InternalError(`${this.#target.path}: ${what}() on an upload that is ${this.#state}.`, { code: 'LAKEHOUSE_UPLOAD_STATE', context: { path: this.#target.path } });
  }
}
