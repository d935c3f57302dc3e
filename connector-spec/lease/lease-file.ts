/**
 * The file-system steps of a lease: a record is written whole under a temp name and fsynced, then either
 * hard-linked into place (put-if-absent: `link` fails with EEXIST, so of two writers exactly one wins) or renamed
 * over it (a heartbeat). A reader takes a snapshot (inode, mtime, text) from one open file, so it can later ask
 * "is this still the very file I judged?".
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';

export interface LockSnapshot {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly text: string;
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** fsync a directory so a link, rename or unlink in it survives a power cut (where the file system allows it). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    if (!isErrno(error, 'EINVAL') && !isErrno(error, 'EISDIR') && !isErrno(error, 'EPERM') && !isErrno(error, 'EBADF')) throw error;
  } finally {
    await handle?.close();
  }
}

/** `<file>.<pid>.<random>.tmp` next to `file` (same file system, so link and rename work). */
export function tempPathFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

export function isTempOf(file: string, name: string): boolean {
  const base = path.basename(file);
  return name.startsWith(`${base}.`) && name.endsWith('.tmp');
}

async function writeTemp(file: string, text: string): Promise<string> {
  const temp = tempPathFor(file);
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

/** Create `file` with `text` only if no file has that name; false when one does. */
export async function putIfAbsent(file: string, text: string): Promise<boolean> {
  const temp = await writeTemp(file, text);
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

/**
 * Replace `file` with `text` (temp, fsync, rename, fsync dir) when `stillOurs()` says so just before the rename.
 * Returns false, writing nothing, when it does not.
 */
export async function replaceIf(file: string, text: string, stillOurs: () => Promise<boolean>): Promise<boolean> {
  const temp = await writeTemp(file, text);
  try {
    if (!(await stillOurs())) return false;
    await fs.rename(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
  await fsyncDir(path.dirname(file));
  return true;
}

/** Inode, mtime and text of `file`, all from one open file; undefined when there is none. */
export async function readSnapshot(file: string): Promise<LockSnapshot | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const stat = await handle.stat();
    const text = await handle.readFile('utf8');
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text };
  } finally {
    await handle.close();
  }
}

export function sameSnapshot(a: LockSnapshot | undefined, b: LockSnapshot | undefined): boolean {
  return a !== undefined && b !== undefined && a.ino === b.ino && a.text === b.text;
}
