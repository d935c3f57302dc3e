/** An ObjectStore wrapper that counts calls per method (tests prove "one listing, no per-file calls"). */
import type { ObjectStore, StoredObject, Upload } from '../storage/types.js';

export type StoreMethod = 'read' | 'readRange' | 'head' | 'list' | 'putIfAbsent' | 'put' | 'createUpload' | 'delete' | 'localCopy';

export class CountingStore implements ObjectStore {
  readonly counts = new Map<StoreMethod, number>();
  /** Paths read, in order. */
  readonly reads: string[] = [];
  readonly #inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  get kind(): ObjectStore['kind'] {
    return this.#inner.kind;
  }
  get displayUrl(): string {
    return this.#inner.displayUrl;
  }
  get putIfAbsentGuarantee(): ObjectStore['putIfAbsentGuarantee'] {
    return this.#inner.putIfAbsentGuarantee;
  }

  count(method: StoreMethod): number {
    return this.counts.get(method) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.reads.length = 0;
  }

  #bump(method: StoreMethod): void {
    this.counts.set(method, this.count(method) + 1);
  }

  read(path: string): Promise<Uint8Array | undefined> {
    this.#bump('read');
    this.reads.push(path);
    return this.#inner.read(path);
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    this.#bump('readRange');
    return this.#inner.readRange(path, offset, length);
  }
  head(path: string): Promise<StoredObject | undefined> {
    this.#bump('head');
    return this.#inner.head(path);
  }
  list(prefix: string): AsyncIterable<StoredObject> {
    this.#bump('list');
    return this.#inner.list(prefix);
  }
  putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean> {
    this.#bump('putIfAbsent');
    return this.#inner.putIfAbsent(path, bytes);
  }
  put(path: string, bytes: Uint8Array): Promise<void> {
    this.#bump('put');
    return this.#inner.put(path, bytes);
  }
  createUpload(path: string): Promise<Upload> {
    this.#bump('createUpload');
    return this.#inner.createUpload(path);
  }
  delete(path: string): Promise<void> {
    this.#bump('delete');
    return this.#inner.delete(path);
  }
  localCopy(path: string): Promise<{ readonly file: string; release(): Promise<void> }> {
    this.#bump('localCopy');
    return this.#inner.localCopy(path);
  }
  checkWritable(flag: string): Promise<void> {
    return this.#inner.checkWritable(flag);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
