/** Durable local-file steps of the Parquet writer: a unique temp name beside the target, fsync of a folder, and a file `Upload`. */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import type { Upload } from '../storage/types.js';

function errnoOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** fsync a directory so a rename inside it survives a power cut (file systems that refuse it still rename atomically). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    const code = errnoOf(error);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle?.close();
  }
}

let tempCounter = 0;
/** `<target>.<pid>.<n>.tmp`: unique within the process and across processes. */
export function tempName(target: string): string {
  tempCounter += 1;
  return `${target}.${process.pid}.${tempCounter}.tmp`;
}

/**
 * An `Upload` into a local file: written under a temp name beside it (`wx`: a fresh file), fsynced, renamed over
 * `file` and the folder fsynced on `close()`; `abort()` deletes the temp file. The runner's staged files use it.
 */
export async function localFileUpload(file: string): Promise<Upload> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = tempName(file);
  let handle: fs.FileHandle | undefined = await fs.open(temp, 'wx');
  let size = 0;
  return {
    async write(chunk) {
      if (!handle) throw new Error(`upload of ${file} is closed`);
      await handle.write(chunk);
      size += chunk.byteLength;
    },
    async close() {
      const open = handle;
      if (!open) throw new Error(`upload of ${file} is closed`);
      handle = undefined;
      try {
        await open.sync();
      } finally {
        await open.close();
      }
      await fs.rename(temp, file);
      await fsyncDir(path.dirname(file));
      return { path: file, size, modifiedMs: Date.now() };
    },
    async abort() {
      const open = handle;
      handle = undefined;
      await open?.close().catch(() => {});
      await fs.rm(temp, { force: true });
    },
  };
}
