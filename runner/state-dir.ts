/**
 * The `--state` folder (the lock, the schedule, run reports) must be a writable folder; checked before the first
 * API call, so a mistake costs nothing, and named with its flag and the fix.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../connector-spec/index.js';
import { errnoCode } from './run-errors.js';

const FIX: Readonly<Record<string, string>> = {
  EEXIST: 'a file is in the way: point --state at a folder (it is created if missing)',
  ENOTDIR: 'a file is in the way: point --state at a folder (it is created if missing)',
  EACCES: 'permission denied: give the user running mixpanel-lakeflow write access, or point --state elsewhere',
  EPERM: 'permission denied: give the user running mixpanel-lakeflow write access, or point --state elsewhere',
  EROFS: 'the file system is read-only: point --state at a writable folder',
  ENOSPC: 'the disk is full: free space there, or point --state elsewhere',
  EDQUOT: 'the disk quota is used up: free space, or point --state elsewhere',
};

export async function checkStateDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.write-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(probe, 'probe');
    await fs.rm(probe, { force: true });
  } catch (error) {
    await fs.rm(probe, { force: true }).catch(() => {});
    const code = errnoCode(error) ?? 'error';
    throw new ConfigError(`--state ${dir} is not a writable folder (${code}): ${FIX[code] ?? 'fix it or point --state elsewhere'}`, { code: 'RUNNER_STATE_NOT_WRITABLE', cause: error, context: { path: dir } });
  }
}
