/**
 * ObjectStore over a local folder. Every new object is written under a hidden temp name in its own folder
 * (`.name.<pid>.<n>.tmp`), fsynced, then published:
 * - putIfAbsent: `link()` to the final name (EEXIST: the race was lost; a reader never sees partial content,
 *   and two writers can never both win), then the temp is unlinked and the folder fsynced;
 * - put: `rename()` over the final name (atomic replace);
 * - createUpload: `link()` on close, so a data file is never overwritten.
 * Listing skips hidden names (temp files, Spark's `.crc` files), so a crashed writer's temp file is never seen.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, InternalError } from '../../connector-spec/index.js';
import type { ObjectStore, StoredObject, Upload } from './types.js';

function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

let tempCounter = 0;
function tempPathFor(file: string): string {
  tempCounter += 1;
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tempCounter}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/** fsync a folder so a link, rename or unlink inside it survives a power cut. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on folders (EINVAL/EISDIR/EPERM); link and rename are still atomic there.
    const code = errnoOf(error);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle?.close();
  }
}

async function writeDurable(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Fix text per errno for checkWritable (exported for its test). */
export function locationFix(code: string | undefined, where: string): string {
  switch (code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return `a file is in the way of the folder ${where}: move or delete that file, or choose another folder`;
    case 'EACCES':
    case 'EPERM':
      return `this user may not write to ${where}: fix its permissions (chmod/chown) or choose a folder you own`;
    case 'EROFS':
      return `${where} is on a read-only file system: choose a writable folder`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk holding ${where} is full (or over quota): free space, then run again`;
    default:
      return `make sure ${where} is a writable folder`;
  }
}

class LocalUpload implements Upload {
  readonly #store: LocalStore;
  readonly #relPath: string;
  readonly #file: string;
  readonly #temp: string;
  #handle: fs.FileHandle | undefined;
  #size = 0;
  #done = false;

  constructor(store: LocalStore, relPath: string, file: string, temp: string, handle: fs.FileHandle) {
    this.#store = store;
    this.#relPath = relPath;
    this.#file = file;
    this.#temp = temp;
    this.#handle = handle;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.#handle) throw new InternalError(`upload of ${this.#relPath} is already closed`, { code: 'LAKEHOUSE_UPLOAD_CLOSED' });
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.byteLength - offset);
      offset += bytesWritten;
    }
    this.#size += chunk.byteLength;
  }

  async close(): Promise<StoredObject> {
    const handle = this.#handle;
    if (!handle || this.#done) throw new InternalError(`upload of ${this.#relPath} is already closed`, { code: 'LAKEHOUSE_UPLOAD_CLOSED' });
    this.#handle = undefined;
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.link(this.#temp, this.#file);
    } catch (error) {
      await fs.rm(this.#temp, { force: true });
      this.#done = true;
      if (errnoOf(error) === 'EEXIST') {
        throw new InternalError(`${this.#store.displayUrl}/${this.#relPath} already exists; a data file is never overwritten (file names must be unique)`, {
          code: 'LAKEHOUSE_FILE_EXISTS',
          context: { path: this.#relPath },
        });
      }
      throw error;
    }
    await fs.rm(this.#temp, { force: true });
    this.#done = true;
    await fsyncDir(path.dirname(this.#file));
    const stat = await fs.stat(this.#file);
    return { path: this.#relPath, size: this.#size, modifiedMs: stat.mtimeMs };
  }

  async abort(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#done = true;
    await handle?.close().catch(() => undefined);
    await fs.rm(this.#temp, { force: true });
  }
}

export class LocalStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly displayUrl: string;
  readonly putIfAbsentGuarantee = 'enforced' as const;
  /** Absolute folder every path is relative to. */
  readonly root: string;

  constructor(root: string, displayUrl?: string) {
    this.root = path.resolve(root);
    this.displayUrl = displayUrl ?? root;
  }

  /** The file of a store path; refuses paths that would leave the root. */
  file(relPath: string): string {
    if (relPath.startsWith('/') || relPath.split('/').some((segment) => segment === '..')) {
      throw new InternalError(`store path "${relPath}" must be relative and stay inside the store`, { code: 'LAKEHOUSE_BAD_PATH', context: { path: relPath } });
    }
    return relPath === '' ? this.root : path.join(this.root, ...relPath.split('/'));
  }

  async read(relPath: string): Promise<Uint8Array | undefined> {
    try {
      const buffer = await fs.readFile(this.file(relPath));
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw error;
    }
  }

  async readRange(relPath: string, offset: number, length: number): Promise<Uint8Array> {
    const handle = await fs.open(this.file(relPath), 'r');
    try {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? out : out.subarray(0, done);
    } finally {
      await handle.close();
    }
  }

  async head(relPath: string): Promise<StoredObject | undefined> {
    try {
      const stat = await fs.stat(this.file(relPath));
      if (!stat.isFile()) return undefined;
      return { path: relPath, size: stat.size, modifiedMs: stat.mtimeMs };
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  /**
   * Depth-first over the folder holding `prefix`, siblings ordered by name (a folder as `name/`), which yields
   * paths in sorted order without holding the whole listing. Hidden names (starting with `.`) are skipped.
   */
  /** Hidden temp files (`.<name>.<pid>.<n>.<random>.tmp`) of uploads and puts a crash interrupted, older than the cutoff. */
  async sweepInterrupted(prefix: string, cutoffMs: number, dryRun: boolean): Promise<StoredObject[]> {
    const root = this.file(prefix.replace(/\/+$/, ''));
    const found: StoredObject[] = [];
    let entries: string[];
    try {
      entries = (await fs.readdir(root, { recursive: true })) as string[];
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return found;
      throw error;
    }
    for (const entry of entries) {
      if (!/^\.[^/]+\.\d+\.\d+\.[a-z0-9]+\.tmp$/.test(path.basename(entry))) continue;
      const file = path.join(root, entry);
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat?.isFile() || stat.mtimeMs > cutoffMs) continue;
      const rel = path.relative(this.root, file).split(path.sep).join('/');
      found.push({ path: rel, size: stat.size, modifiedMs: stat.mtimeMs });
      if (!dryRun) await fs.rm(file, { force: true });
    }
    return found;
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.#walk(base, prefix);
  }

  async *#walk(dirRel: string, prefix: string): AsyncGenerator<StoredObject> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.file(dirRel), { withFileTypes: true });
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    const keyed: { key: string; name: string; dir: boolean }[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const dir = entry.isDirectory();
      if (!dir && !entry.isFile()) continue;
      keyed.push({ key: dir ? `${entry.name}/` : entry.name, name: entry.name, dir });
    }
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { name, dir } of keyed) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (dir) {
        // Descend only where the prefix can still match.
        const relDir = `${rel}/`;
        if (relDir.startsWith(prefix) || prefix.startsWith(relDir)) yield* this.#walk(rel, prefix);
        continue;
      }
      if (!rel.startsWith(prefix)) continue;
      let stat;
      try {
        stat = await fs.stat(this.file(rel));
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') continue; // deleted while listing
        throw error;
      }
      yield { path: rel, size: stat.size, modifiedMs: stat.mtimeMs };
    }
  }

  async putIfAbsent(relPath: string, bytes: Uint8Array): Promise<boolean> {
    const file = this.file(relPath);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = tempPathFor(file);
    try {
      await writeDurable(temp, bytes);
      try {
        await fs.link(temp, file);
      } catch (error) {
        if (errnoOf(error) === 'EEXIST') return false;
        throw error;
      }
    } finally {
      await fs.rm(temp, { force: true });
    }
    await fsyncDir(path.dirname(file));
    return true;
  }

  async put(relPath: string, bytes: Uint8Array): Promise<void> {
    const file = this.file(relPath);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = tempPathFor(file);
    try {
      await writeDurable(temp, bytes);
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await fsyncDir(path.dirname(file));
  }

  async createUpload(relPath: string): Promise<Upload> {
    const file = this.file(relPath);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = tempPathFor(file);
    const handle = await fs.open(temp, 'wx');
    return new LocalUpload(this, relPath, file, temp, handle);
  }

  async delete(relPath: string): Promise<void> {
    await fs.rm(this.file(relPath), { force: true });
  }

  async localCopy(relPath: string): Promise<{ readonly file: string; release(): Promise<void> }> {
    const file = this.file(relPath);
    await fs.access(file);
    return { file, release: async () => undefined };
  }

  async checkWritable(flag: string): Promise<void> {
    const where = `${flag} ${this.displayUrl}`;
    const fail = (error: unknown, step: string): ConfigError => {
      const code = errnoOf(error);
      return new ConfigError(`${where}: cannot ${step} (${code ?? 'error'}). Fix: ${locationFix(code, this.root)}.`, {
        code: 'LAKEHOUSE_LOCATION_NOT_WRITABLE',
        context: { flag, path: this.root, errno: code },
        cause: error,
      });
    };
    try {
      await fs.mkdir(this.root, { recursive: true });
    } catch (error) {
      throw fail(error, 'create the folder');
    }
    const stat = await fs.stat(this.root).catch((error: unknown) => {
      throw fail(error, 'read the folder');
    });
    if (!stat.isDirectory()) throw fail(Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }), 'use it as a folder');
    const probe = path.join(this.root, `.lakeflow-write-probe.${process.pid}.${Math.random().toString(36).slice(2, 10)}`);
    try {
      await writeDurable(probe, new Uint8Array([0x6f, 0x6b]));
    } catch (error) {
      await fs.rm(probe, { force: true }).catch(() => undefined);
      throw fail(error, 'write a file in the folder');
    }
    await fs.rm(probe, { force: true });
  }

  async close(): Promise<void> {
    // Nothing to release: every call opens and closes its own file handles.
  }
}
