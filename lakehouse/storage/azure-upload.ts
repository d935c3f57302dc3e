/**
 * A streaming Azure block-blob upload (block-upload.ts does the gathering, the two-block bound and the checks):
 * staged blocks committed as a block list with `If-None-Match: *` (a data file is never overwritten), or a single
 * Put Blob for an object smaller than one block. Nothing is visible before the commit; `abort()` commits nothing
 * (Azure drops uncommitted blocks after a week).
 */
import { randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import type { ConnectorError } from '../../connector-spec/index.js';
import { azureErrorFacts, isAzureAlreadyExists } from './azure-errors.js';
import { BlockUpload, type BlockStore } from './block-upload.js';
import { sameBytes } from './store-support.js';
import type { StoredObject } from './types.js';

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

export class AzureUpload extends BlockUpload {
  constructor(options: AzureUploadOptions) {
    super(options, new AzureBlocks(options));
  }
}

class AzureBlocks implements BlockStore {
  readonly #o: AzureUploadOptions;
  readonly maxBlocks = AZURE_MAX_BLOCKS;
  readonly blockWord = 'block';
  readonly tooManyBlocksCode = 'LAKEHOUSE_AZURE_TOO_MANY_BLOCKS';
  /** Same length for every block id of this upload, as Azure requires; unique per upload. */
  readonly #token = randomBytes(8).toString('hex');
  readonly #blockIds: string[] = [];

  constructor(options: AzureUploadOptions) {
    this.#o = options;
  }

  async putSingle(body: Buffer): Promise<void> {
    await this.#o.blob.upload(body, body.byteLength, { conditions: { ifNoneMatch: '*' } });
  }

  async beginBlock(block: Buffer, index: number): Promise<{ readonly done: Promise<void> }> {
    const id = Buffer.from(`${this.#token}-${String(index).padStart(6, '0')}`).toString('base64');
    this.#blockIds.push(id);
    return { done: this.#o.blob.stageBlock(id, block, block.byteLength).then(() => undefined) };
  }

  async commitBlocks(): Promise<void> {
    await this.#o.blob.commitBlockList(this.#blockIds, { conditions: { ifNoneMatch: '*' } });
  }

  alreadyExists(error: unknown): boolean {
    return isAzureAlreadyExists(azureErrorFacts(error));
  }

  /** Our bytes (a single put), or exactly our committed block ids. */
  async isOurs(single: Buffer | undefined): Promise<boolean> {
    if (single !== undefined) return sameBytes(await this.#o.blob.downloadToBuffer(), single);
    const list = await this.#o.blob.getBlockList('committed');
    const committed = (list.committedBlocks ?? []).map((block) => block.name);
    return committed.length === this.#blockIds.length && committed.every((name, index) => name === this.#blockIds[index]);
  }

  /** Nothing to do: Azure drops uncommitted blocks by itself. */
  async discardBlocks(): Promise<void> {}
}
