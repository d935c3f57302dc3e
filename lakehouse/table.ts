/**
 * DeltaTable: one table folder of a lakehouse. It remembers the newest snapshot it has seen, so `snapshot()`
 * after a commit of this process reads only the commits that came after it (one listing), and `commit()`
 * starts from it. Data files are written and read by the data half (`lakehouse/data/`); this class owns the log.
 */
import type { Table } from 'apache-arrow';
import type { Logger } from '../connector-spec/index.js';
import { commitToLog } from './delta/commit.js';
import type { TableContext } from './delta/log-files.js';
import { loadSnapshot, type DeltaSnapshot } from './delta/snapshot.js';
import { vacuumTable } from './delta/vacuum.js';
import { verifyFiles } from './delta/verify.js';
import { createDataFile, readDataFile, type DataFileDeps } from './data/index.js';
import type { ObjectStore } from './storage/types.js';
import type {
  AddFile,
  CommitRequest,
  CommitResult,
  DataFileOptions,
  DataFileWriter,
  DeltaTable,
  FileProblem,
  ReadDataFileOptions,
  Snapshot,
  VacuumResult,
} from './types.js';

export interface DeltaTableOptions {
  readonly store: ObjectStore;
  /** Name, also the folder under the store root. */
  readonly name: string;
  readonly logger?: Logger;
  readonly engineInfo: string;
  readonly now: () => number;
  /** Checkpoint every N versions (default 10; tests lower it). */
  readonly checkpointInterval?: number;
  /** How data files are encoded (the shared encoder worker by default; tests pass `'in-thread'`). */
  readonly dataFileDeps?: DataFileDeps;
}

export class DeltaTableImpl implements DeltaTable {
  readonly name: string;
  readonly root: string;
  readonly #options: DeltaTableOptions;
  readonly #ctx: TableContext;
  #latest: DeltaSnapshot | undefined;

  constructor(options: DeltaTableOptions) {
    this.#options = options;
    this.name = options.name;
    this.root = options.name.replace(/^\/+|\/+$/g, '');
    const base = options.store.displayUrl.replace(/\/+$/, '');
    this.#ctx = {
      store: options.store,
      root: this.root,
      display: this.root === '' ? base : `${base}/${this.root}`,
      ...(options.logger ? { logger: options.logger } : {}),
    };
  }

  async snapshot(): Promise<Snapshot | undefined> {
    const snapshot = await loadSnapshot(this.#ctx, this.#latest);
    this.#latest = snapshot;
    return snapshot;
  }

  createDataFile(options: DataFileOptions): Promise<DataFileWriter> {
    return createDataFile(this.#options.store, this.root, options, this.#options.dataFileDeps);
  }

  readDataFile(file: AddFile, options?: ReadDataFileOptions): AsyncIterable<Table> {
    return readDataFile(this.#options.store, this.root, file, options);
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    let latest = this.#latest;
    if (!latest || latest.version < request.readVersion) latest = await loadSnapshot(this.#ctx, latest);
    const { result, snapshot } = await commitToLog(
      {
        ...this.#ctx,
        now: this.#options.now,
        engineInfo: this.#options.engineInfo,
        ...(this.#options.checkpointInterval ? { checkpointInterval: this.#options.checkpointInterval } : {}),
      },
      latest,
      request,
    );
    this.#latest = snapshot;
    return result;
  }

  verify(snapshot: Snapshot): Promise<FileProblem[]> {
    return verifyFiles(this.#ctx, snapshot);
  }

  async vacuum(options: { readonly retentionMs?: number; readonly now?: number; readonly dryRun?: boolean } = {}): Promise<VacuumResult> {
    const snapshot = await loadSnapshot(this.#ctx, this.#latest);
    this.#latest = snapshot;
    if (!snapshot) return { deleted: [], bytes: 0, retained: 0 };
    return vacuumTable(this.#ctx, snapshot, {
      now: options.now ?? this.#options.now(),
      ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
    });
  }
}

