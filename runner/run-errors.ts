/**
 * Errors of a run that are not a source's: a wait that would end after `--max-wait` (the run stops with its
 * committed work kept and says when to try again), and the one-line description of any error for the report,
 * where a file-system errno becomes the path, the flag and the fix.
 */
import { TransientError, isConnectorError } from '../connector-spec/index.js';

/** A wait (rate limit, backoff, lock) that would end after the run's deadline. */
export class DeferredError extends TransientError {
  readonly retryAt: number;

  constructor(message: string, retryAt: number, cause?: unknown) {
    super(message, { code: 'RUNNER_DEFERRED', ...(cause !== undefined ? { cause } : {}) });
    this.retryAt = retryAt;
  }
}

export function errnoCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

function errnoPath(error: unknown): string | undefined {
  const p = typeof error === 'object' && error !== null ? (error as { path?: unknown }).path : undefined;
  return typeof p === 'string' ? p : undefined;
}

const ERRNO_FIX: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full: free space there and re-run',
  EDQUOT: 'the disk quota is used up: free space or raise the quota, then re-run',
  EACCES: 'permission denied: give the user running mixpanel-lakeflow write access there, or point the flag elsewhere',
  EPERM: 'operation not permitted: give the user running mixpanel-lakeflow write access there, or point the flag elsewhere',
  EROFS: 'the file system is read-only: point the flag at a writable folder',
  ENOTDIR: 'a file is in the way where a folder should be: move it, or point the flag elsewhere',
  EEXIST: 'a file is in the way where a folder should be: move it, or point the flag elsewhere',
  EMFILE: 'too many open files: raise the limit (ulimit -n) and re-run',
  EIO: 'the disk reported an I/O error: check the device, then re-run',
};

/**
 * One line for the report and the log. Typed errors keep their message (it names the fix); an errno names what
 * it hit and the fix, and says the committed tables are intact (a failed call commits nothing).
 */
export function describeRunError(
  error: unknown,
  where: { readonly lakehouse: string; readonly table?: string; readonly stateDir?: string; readonly tempDir?: string },
): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectorError(error)) return message;
  const code = errnoCode(error);
  if (code === undefined) return message;
  const at = errnoPath(error);
  const under = (dir: string | undefined): boolean => at !== undefined && dir !== undefined && at.startsWith(dir);
  // Calls are staged in the OS temp folder, which no flag names: TMPDIR moves it.
  const flag = under(where.stateDir) ? '--state' : under(where.tempDir) ? 'TMPDIR' : '--lakehouse';
  const fix = ERRNO_FIX[code] ?? 'fix the file system problem and re-run';
  return `${code} at ${at ?? (flag === '--state' ? where.stateDir : where.lakehouse)} (${flag}): ${fix}; every committed table version and cursor is intact`;
}
