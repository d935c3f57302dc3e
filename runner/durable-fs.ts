/**
 * Durable file-system steps of the commit protocol: temp name → fsync → rename → fsync dir, and
 * put-if-absent (hard link, fails with EEXIST) for commit records. Every write goes through here so
 * tests can inject failures (disk full) and crash points.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';

/** fsync a directory so a rename or unlink inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on directories (EINVAL/EISDIR); the rename is still atomic there.
    if (!isErrno(error, 'EINVAL') && !isErrno(error, 'EISDIR') && !isErrno(error, 'EPERM')) throw error;
  } finally {
    await handle?.close();
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

let tempCounter = 0;
export function tempName(target: string): string {
  tempCounter += 1;
  return `${target}.${process.pid}.${tempCounter}.tmp`;
}

/** Write `data` under a fresh temp name in `tempDir` (same file system as `file`) and fsync it; returns the temp path. */
async function writeDurableTemp(file: string, data: string | Uint8Array, tempDir: string): Promise<string> {
  await fs.mkdir(tempDir, { recursive: true });
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = tempName(path.join(tempDir, path.basename(file)));
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    // A failed write (a full disk) leaves no temp file behind.
    await handle.close().catch(() => {});
    await fs.rm(temp, { force: true }).catch(() => {});
    throw error;
  }
  await handle.close();
  return temp;
}

/** Write `data` to `file` atomically and durably: temp file in `tempDir` (same file system), fsync, rename, fsync dir. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, tempDir = path.dirname(file)): Promise<void> {
  const temp = await writeDurableTemp(file, data, tempDir);
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(file));
}

/**
 * Create `file` with `data` only if it does not exist yet (the commit point). The content is written and
 * fsynced under a temp name in `tempDir` first, then hard-linked into place: `link` fails with EEXIST, so
 * a reader never sees a partial record and two writers can never both win.
 * Returns false when the file already existed.
 */
export async function putIfAbsent(file: string, data: string, tempDir: string): Promise<boolean> {
  const temp = await writeDurableTemp(file, data, tempDir);
  try {
    await fs.link(temp, file);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
  await fsyncDir(path.dirname(file));
  return true;
}

/** Rename `from` to `to`, creating `to`'s directory; returns the directories to fsync. */
export async function moveInto(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  await fs.rename(from, to);
}

export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

export async function pathExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** All files under `dir` (recursive, relative paths with `/`), skipping directories named in `skip`. */
export async function listFilesRecursive(dir: string, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!skip.has(entry.name)) await walk(child);
      } else {
        out.push(child);
      }
    }
  }
  await walk('');
  return out.sort();
}
