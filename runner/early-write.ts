/**
 * Encoding a cdc call's rows while it is read, when the merge could not change them: the table has no live file, is
 * not partitioned, and the call turns out to hold no key twice. Such a call (a first load of `engage` or `groups`)
 * used to be read on the calling thread with the encoder worker idle, then encoded with the calling thread mostly
 * waiting; here the encoder works through the read. The rows are staged as always: when the call does hold a key
 * twice, or the table gained files before the commit, the early files are deleted and the call is merged from its
 * staging as before (`useEarlyFiles`). Files are cut where the merge would cut them (`MAX_FILE_ROWS`), whole
 * batches each. Nothing here is visible before the commit: an abandoned early file is an uncommitted data file.
 */
import type { RecordBatch } from 'apache-arrow';
import type { KeyHashIndex } from './key-index.js';
import type { TableDataWriter } from './table-data-writer.js';

/**
 * Staged rows from which a call starts writing early: one row group. A smaller call is merged on the calling
 * thread as before (no encoder worker started for it); the batches before it are held until then.
 */
export const EARLY_WRITE_FROM_ROWS = 16_384;

export class EarlyWrite {
  #writer: TableDataWriter | undefined;
  #held: RecordBatch[] = [];
  #heldRows = 0;
  #fileRows = 0;

  /**
   * @param open the writer of the call's files (encoding on the encoder worker), opened once the call reaches
   *   `fromRows`
   * @param maxFileRows rows per file at most (whole batches; a batch above it makes a file of its own)
   */
  constructor(
    private readonly open: () => TableDataWriter,
    private readonly maxFileRows: number,
    private readonly fromRows: number = EARLY_WRITE_FROM_ROWS,
  ) {}

  /** The next staged batch (in staging order). */
  async add(batch: RecordBatch): Promise<void> {
    if (this.#writer === undefined) {
      this.#held.push(batch);
      this.#heldRows += batch.numRows;
      if (this.#heldRows < this.fromRows) return;
      this.#writer = this.open();
      const held = this.#held;
      this.#held = [];
      for (const b of held) await this.#write(b);
      return;
    }
    await this.#write(batch);
  }

  /**
   * The read ended: the batches held below `fromRows` are not needed (the merge reads them from the staging). The
   * writer, once the call reached `fromRows` (undefined: nothing was written early).
   */
  end(): TableDataWriter | undefined {
    this.#held = [];
    return this.#writer;
  }

  async #write(batch: RecordBatch): Promise<void> {
    const writer = this.#writer!;
    if (this.#fileRows > 0 && this.#fileRows + batch.numRows > this.maxFileRows) {
      await writer.finishPartition(null);
      this.#fileRows = 0;
    }
    await writer.writeToPartition(null, batch);
    this.#fileRows += batch.numRows;
  }
}

/**
 * Whether a call's early files are its merge's result: the table still has no live file and no key hash came twice
 * (a hash collision counts too: the merge's exact keys then decide, from the staging).
 */
export function useEarlyFiles(liveFiles: number, index: KeyHashIndex): boolean {
  if (liveFiles > 0) return false;
  index.seal();
  return index.duplicates().size === 0;
}
