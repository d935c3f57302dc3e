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
  let created: string | undefined;
  try {
    created = await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(probe, 'probe');
    await fs.rm(probe, { force: true });
  } catch (error) {
    await fs.rm(probe, { force: true }).catch(() => {});
    // A failed check leaves nothing behind: not even the folders it created.
    if (created !== undefined) await fs.rm(created, { recursive: true, force: true }).catch(() => {});
    const code = errnoCode(error) ?? 'error';
    throw new ConfigError(`--state ${dir} is not a writable folder (${code}): ${FIX[code] ?? 'fix it or point --state elsewhere'}`, { code: 'RUNNER_STATE_NOT_WRITABLE', cause: error, context: { path: dir } });
  }
}

const IN_THE_WAY: ReadonlySet<string> = new Set(['EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY']);

/**
 * A file-system error on a file of the `--state` folder during a run (the lock, `schedule.json`, a run report)
 * as a ConfigError naming the file, the flag and the fix, instead of a bare errno; other errors pass through.
 * `done` says what is already safe (e.g. that the tables were committed).
 */
export function stateFileError(error: unknown, where: { readonly stateDir: string; readonly file: string; readonly step: string; readonly done?: string }): unknown {
  const code = errnoCode(error);
  if (code === undefined) return error;
  const fix = IN_THE_WAY.has(code)
    ? `something is in the way of ${where.file}: move it out of the folder (only mixpanel-lakeflow's own files belong there), or point --state elsewhere`
    : (FIX[code] ?? 'fix the file system problem, or point --state elsewhere');
  return new ConfigError(`--state ${where.stateDir}: cannot ${where.step} ${where.file} (${code}): ${fix}${where.done !== undefined ? `; ${where.done}` : ''}`, {
    code: 'RUNNER_STATE_NOT_WRITABLE',
    cause: error,
    context: { path: where.file },
  });
}
