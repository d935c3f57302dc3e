/**
 * The object-store contract every lakehouse backend implements (a local folder, S3 and S3-compatible stores,
 * Azure Blob / ADLS Gen2). Paths are relative to the store root, `/`-separated, never starting with `/`.
 * The Delta layer above uses nothing else, so one conformance suite checks every backend.
 */

export interface StoredObject {
  /** Relative to the store root, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** Last-modified time, epoch ms (as the store reports it). */
  readonly modifiedMs: number;
}

/** How far a backend's put-if-absent can be trusted on the server it talks to (README names it). */
export type PutIfAbsentGuarantee =
  /** The server refuses a second create (local link(), S3 `If-None-Match: *` honoured, Azure `If-None-Match: *`). */
  | 'enforced'
  /** The server ignores the precondition (for example s3rver): a check-then-put narrows the race but cannot close it. */
  | 'best-effort';

/** A streaming write of a new object: visible under its path only after `close()`; nothing whole in memory. */
export interface Upload {
  write(chunk: Uint8Array): Promise<void>;
  /** Finish: the object is durable and visible. */
  close(): Promise<StoredObject>;
  /** Drop everything written so far (no object appears). Safe to call twice or after a failed write. */
  abort(): Promise<void>;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3' | 'azure';
  /** The location as a user wrote it, without any credential (SAS tokens and keys stripped). */
  readonly displayUrl: string;
  readonly putIfAbsentGuarantee: PutIfAbsentGuarantee;
  /** The whole object, or undefined when absent. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** Bytes [offset, offset + length) of an existing object. */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  head(path: string): Promise<StoredObject | undefined>;
  /** Every object whose path starts with `prefix` (recursive), sorted by path. `''` lists the whole store. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /**
   * Create `path` holding `bytes` only if no object is there. Returns false when one already was (a lost race).
   * Readers never see partial content.
   */
  putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean>;
  /** Create or atomically replace `path` (for `_last_checkpoint` and checkpoint files). */
  put(path: string, bytes: Uint8Array): Promise<void>;
  /** Start a streaming upload of a new object (multipart on S3, staged blocks on Azure, temp + rename locally). */
  createUpload(path: string): Promise<Upload>;
  /** Delete; an absent object is not an error. */
  delete(path: string): Promise<void>;
  /**
   * A local file holding the object, for readers that need random access (Parquet). The local store returns
   * the file itself; remote stores download to a temp file that `release()` deletes.
   */
  localCopy(path: string): Promise<{ readonly file: string; release(): Promise<void> }>;
  /**
   * Fail before any work if the location cannot be written: a ConfigError naming `flag`, the location and the
   * fix (a file where a folder should be, a read-only folder, a missing bucket, rejected credentials).
   * Leaves nothing behind.
   */
  checkWritable(flag: string): Promise<void>;
  /**
   * Optional: delete leftovers of writes a crash interrupted under `prefix` that are older than `cutoffMs` (the
   * local store's hidden temp files; object stores discard unfinished uploads themselves). Returns what it
   * deleted (or would, with `dryRun`).
   */
  sweepInterrupted?(prefix: string, cutoffMs: number, dryRun: boolean): Promise<StoredObject[]>;
  close(): Promise<void>;
}
