/**
 * A streaming Azure block-blob upload with bounded memory: bytes gather into one block; a full block is staged
 * while the next gathers, and a write waits for the previous block before staging a new one, so at most two
 * blocks are held. `close()` commits the block list with `If-None-Match: *` (a data file is never overwritten);
 * an object smaller than one block is a single Put Blob. Nothing is visible before the commit; `abort()` commits
 * nothing (Azure drops uncommitted blocks after a week).
 */
import { randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { DataError, InternalError, isConnectorError, type ConnectorError } from '../../connector-spec/index.js';
import { azureErrorFacts, isAzureAlreadyExists } from './azure-errors.js';
import { objectExists, sameBytes } from './store-support.js';
import type { StoredObject, Upload } from './types.js';

/** Azure's largest block count per blob. */
const AZURE_MAX_BLOCKS = 50_000;

export interface AzureUploadOptions {
  readonly blob: BlockBlobClient;
  readonly path: string;
  readonly displayUrl: string;
  readonly blockSize: number;
  readonly fail: (error: unknown, operation: string) => ConnectorError;
  readonly head: (path: string) => Promise<StoredObject | undefined>;
}

type State = 'open' | 'closing' | 'closed' | 'aborted' | 'failed';

export class AzureUpload implements Upload {
  readonly #options: AzureUploadOptions;
  /** Same length for every block id of this upload, as Azure requires; unique per upload. */
  readonly #token = randomBytes(8).toString('hex');
  #state: State = 'open';
  #gathering: Buffer[] = [];
  #gatheredBytes = 0;
  #written = 0;
  #blockIds: string[] = [];
  #inFlight: Promise<void> | undefined;
  #failure: ConnectorError | undefined;

  constructor(options: AzureUploadOptions) {
    this.#options = options;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#assertOpen('write');
    if (chunk.byteLength === 0) return;
    this.#gathering.push(Buffer.from(chunk));
    this.#gatheredBytes += chunk.byteLength;
    this.#written += chunk.byteLength;
    while (this.#gatheredBytes >= this.#options.blockSize) {
      const block = this.#take(this.#options.blockSize);
      try {
        await this.#stage(block);
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
      if (this.#blockIds.length === 0 && this.#inFlight === undefined) {
        const body = this.#take(this.#gatheredBytes);
        single = body;
        await this.#options.blob.upload(body, body.byteLength, { conditions: { ifNoneMatch: '*' } });
      } else {
        if (this.#gatheredBytes > 0) await this.#stage(this.#take(this.#gatheredBytes));
        await this.#settle();
        if (this.#failure !== undefined) throw this.#failure;
        await this.#options.blob.commitBlockList(this.#blockIds, { conditions: { ifNoneMatch: '*' } });
      }
    } catch (error) {
      if (!isConnectorError(error) && isAzureAlreadyExists(azureErrorFacts(error))) {
        // The blob exists. If it is this upload (our bytes, or our committed block ids), an earlier attempt of a
        // retried request committed it. Anything else is never overwritten.
        const existing = await this.#options.head(this.#options.path).catch(() => undefined);
        if (existing !== undefined && existing.size === this.#written && (await this.#isOurs(single))) {
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
        `${this.#options.displayUrl}: after the upload ${this.#options.path} holds ${stored === undefined ? 'nothing' : `${stored.size} bytes`} where ${this.#written} were written. ` +
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
  }

  async #isOurs(single: Buffer | undefined): Promise<boolean> {
    try {
      if (single !== undefined) return sameBytes(await this.#options.blob.downloadToBuffer(), single);
      const list = await this.#options.blob.getBlockList('committed');
      const committed = (list.committedBlocks ?? []).map((block) => block.name);
      return committed.length === this.#blockIds.length && committed.every((name, index) => name === this.#blockIds[index]);
    } catch {
      return false;
    }
  }

  /** Wait for the block in flight, then start staging this one without waiting for it. */
  async #stage(block: Buffer): Promise<void> {
    await this.#settle();
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#blockIds.length >= AZURE_MAX_BLOCKS) {
      throw new InternalError(`${this.#options.path}: more than ${AZURE_MAX_BLOCKS} blocks; the block size is too small for this object.`, {
        code: 'LAKEHOUSE_AZURE_TOO_MANY_BLOCKS',
        context: { path: this.#options.path },
      });
    }
    const id = Buffer.from(`${this.#token}-${String(this.#blockIds.length).padStart(6, '0')}`).toString('base64');
    this.#blockIds.push(id);
    this.#inFlight = this.#options.blob.stageBlock(id, block, block.byteLength).then(
      () => undefined,
      (error: unknown) => {
        this.#failure ??= this.#options.fail(error, `upload a block of ${this.#options.path}`);
      },
    );
  }

  async #settle(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    if (inFlight !== undefined) await inFlight;
  }

  async #failWith(error: unknown): Promise<never> {
    const typed = this.#failure ?? (isConnectorError(error) ? error : this.#options.fail(error, `upload ${this.#options.path}`));
    this.#failure = typed;
    this.#state = 'failed';
    await this.#settle();
    this.#gathering = [];
    this.#gatheredBytes = 0;
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
    throw new InternalError(`${this.#options.path}: ${what}() on an upload that is ${this.#state}.`, { code: 'LAKEHOUSE_UPLOAD_STATE', context: { path: this.#options.path } });
  }
}
