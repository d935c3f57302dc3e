/** Durable local-file steps of the Parquet writer: a unique temp name beside the target, and fsync of a folder. */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';

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
