/**
 * One run per state folder: `<state>/.lock` is created exclusively (temp file + hard link, so its
 * content is never partial) and holds pid, start time and hostname. A second run fails at once naming
 * the holder; a lock left by a dead process on this host is taken over with a warning.
 */
import os from 'node:os';
import path from 'node:path';
import * as fs from 'node:fs/promises';
import { TransientError, type Logger } from '../connector-spec/index.js';
import { isErrno, putIfAbsent, readTextIfExists } from './durable-fs.js';

export interface LockInfo {
  readonly pid: number;
  readonly startedAt: string;
  readonly hostname: string;
}

export interface HeldLock {
  readonly file: string;
  readonly info: LockInfo;
  release(): Promise<void>;
}

export function lockFile(stateDir: string): string {
  return path.join(stateDir, '.lock');
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== 'object' || raw === null) return undefined;
    const r = raw as Record<string, unknown>;
    if (typeof r['pid'] !== 'number' || typeof r['startedAt'] !== 'string' || typeof r['hostname'] !== 'string') return undefined;
    return { pid: r['pid'], startedAt: r['startedAt'], hostname: r['hostname'] };
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

export async function acquireLock(stateDir: string, logger: Logger, now: () => Date = () => new Date()): Promise<HeldLock> {
  await fs.mkdir(stateDir, { recursive: true });
  const file = lockFile(stateDir);
  const info: LockInfo = { pid: process.pid, startedAt: now().toISOString(), hostname: os.hostname() };
  const text = `${JSON.stringify(info)}\n`;
  // Temp names are unique per process and removed by putIfAbsent, so concurrent runs never collide.
  const tempDir = stateDir;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await putIfAbsent(file, text, tempDir)) {
      return {
        file,
        info,
        async release() {
          const current = parseLock((await readTextIfExists(file)) ?? '');
          if (current && current.pid === info.pid && current.startedAt === info.startedAt) await fs.rm(file, { force: true });
        },
      };
    }
    const holder = parseLock((await readTextIfExists(file)) ?? '');
    const sameHost = holder !== undefined && holder.hostname === os.hostname();
    if (holder !== undefined && (!sameHost || processAlive(holder.pid))) {
      throw new TransientError(
        `another run holds ${file} (pid ${holder.pid} on ${holder.hostname}, started ${holder.startedAt}); wait for it to finish, or delete the lock file if that process is gone`,
        { code: 'RUNNER_LOCKED', context: { path: file, pid: holder.pid, startedAt: holder.startedAt } },
      );
    }
    logger.warn('taking over a stale lock', {
      path: file,
      stalePid: holder?.pid,
      staleStartedAt: holder?.startedAt,
      reason: holder === undefined ? 'unreadable lock file' : 'process is not running',
    });
    await fs.rm(file, { force: true });
  }
  throw new TransientError(`could not take ${file}: another run took it at the same moment; retry later`, { code: 'RUNNER_LOCKED', context: { path: file } });
}
