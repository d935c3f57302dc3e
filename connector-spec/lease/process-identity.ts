/**
 * Who a process is, in terms that survive pid reuse: pid, start time, hostname, boot id, pid namespace; and a
 * probe that says whether a pid is running, exited but not reaped (a zombie), or absent.
 *
 * Linux: everything comes from /proc (`/proc/<pid>/stat` field 3 is the state letter, field 22 the start time in
 * clock ticks since boot; `/proc/sys/kernel/random/boot_id`; `/proc/self/ns/pid`). Elsewhere the probe asks `ps`
 * for the state and `lstart` (one-second resolution), and falls back to `kill(pid, 0)` with no start time.
 * A start time is tagged with where it came from (`proc:`, `ps:`), so values of different kinds never compare.
 *
 * The lease takes a `ProcessIdentitySource`, so tests can play pid reuse, zombies and host moves without
 * killing anything; `systemIdentity` is the real one.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface ProcessIdentity {
  readonly pid: number;
  /** `proc:<ticks since boot>` or `ps:<lstart>`; undefined when the platform gives no start time. */
  readonly startTime?: string | undefined;
  readonly hostname: string;
  /** Changes on every boot (Linux); undefined elsewhere. */
  readonly bootId?: string | undefined;
  /** `pid:[<inode>]` of the pid namespace (Linux): the same pid means the same process only within one. */
  readonly pidNamespace?: string | undefined;
}

/** What a pid is now, seen from this process's pid namespace. */
export type ProcessStatus =
  | { readonly kind: 'absent' }
  /** Exited but not reaped by its parent: `kill(pid, 0)` still succeeds, yet the process is gone. */
  | { readonly kind: 'zombie' }
  | { readonly kind: 'running'; readonly startTime?: string | undefined };

export interface ProcessIdentitySource {
  /** This process. */
  self(): Promise<ProcessIdentity>;
  /** Another pid on this host (in this process's pid namespace). */
  inspect(pid: number): Promise<ProcessStatus>;
}

export interface ProcStat {
  /** One letter: R running, S sleeping, D disk wait, Z zombie, X dead, T stopped, … */
  readonly state: string;
  /** Field 22: start time in clock ticks after boot. */
  readonly startTicks: string;
}

/**
 * Parse `/proc/<pid>/stat`. The second field is the command name in parentheses and may itself contain spaces
 * and parentheses, so the fields are counted from the LAST `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTicks = fields[19];
  if (state === undefined || !/^[A-Za-z]$/.test(state) || startTicks === undefined || !/^\d+$/.test(startTicks)) return undefined;
  return { state, startTicks };
}

/** Parse one line of `ps -o stat= -o lstart= -p <pid>`, e.g. `Ss   Sun Dec  6 07:55:38 2026`. */
export function parsePsLine(line: string): { readonly state: string; readonly lstart: string } | undefined {
  const m = /^\s*(\S+)\s+(\S.*\S)\s*$/.exec(line);
  if (!m) return undefined;
  return { state: m[1]!, lstart: m[2]!.replace(/\s+/g, ' ') };
}

function isZombieState(state: string): boolean {
  // Z: zombie; X: dead (being torn down). Both mean the process no longer runs.
  return state.startsWith('Z') || state.startsWith('X');
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function killProbe(pid: number): ProcessStatus {
  try {
    process.kill(pid, 0);
    return { kind: 'running' };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // EPERM: it exists but belongs to someone else.
    return code === 'ESRCH' ? { kind: 'absent' } : { kind: 'running' };
  }
}

function runPs(pid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'stat=', '-o', 'lstart=', '-p', String(pid)], { timeout: 5_000, env: { ...process.env, LC_ALL: 'C' } }, (error, stdout) => {
      const out = stdout.trim();
      if (!error) return resolve(out);
      // Exit status 1 with no output: no such process. Anything else (no ps, a timeout): ask kill(pid, 0).
      resolve((error as { code?: unknown }).code === 1 && out === '' ? '' : undefined);
    });
  });
}

export interface SystemIdentityOptions {
  /**
   * `proc`: /proc (Linux); `ps`: the ps command; `kill`: `kill(pid, 0)` only (no start time, no zombie check).
   * Default: `proc` when /proc/self/stat exists, else `ps`.
   */
  readonly mode?: 'proc' | 'ps' | 'kill';
  /** Defaults to /proc (tests point it elsewhere). */
  readonly procRoot?: string;
}

/** The real process identity of this host. */
export function createSystemIdentity(options: SystemIdentityOptions = {}): ProcessIdentitySource {
  const procRoot = options.procRoot ?? '/proc';
  let mode = options.mode;

  async function inspect(pid: number): Promise<ProcessStatus> {
    if (!Number.isSafeInteger(pid) || pid <= 0) return { kind: 'absent' };
    mode ??= existsSync(path.join(procRoot, 'self', 'stat')) ? 'proc' : 'ps';
    if (mode === 'proc') {
      const text = await readOptional(path.join(procRoot, String(pid), 'stat'));
      if (text === undefined) return { kind: 'absent' };
      const stat = parseProcStat(text);
      if (stat === undefined) return { kind: 'running' };
      return isZombieState(stat.state) ? { kind: 'zombie' } : { kind: 'running', startTime: `proc:${stat.startTicks}` };
    }
    if (mode === 'ps') {
      const out = await runPs(pid);
      if (out === undefined) return killProbe(pid);
      if (out === '') return { kind: 'absent' };
      const line = parsePsLine(out.split('\n')[0] ?? '');
      if (line === undefined) return killProbe(pid);
      return isZombieState(line.state) ? { kind: 'zombie' } : { kind: 'running', startTime: `ps:${line.lstart}` };
    }
    return killProbe(pid);
  }

  return {
    inspect,
    async self() {
      const status = await inspect(process.pid);
      const bootId = (await readOptional(path.join(procRoot, 'sys', 'kernel', 'random', 'boot_id')))?.trim();
      let pidNamespace: string | undefined;
      try {
        pidNamespace = await fs.readlink(path.join(procRoot, 'self', 'ns', 'pid'));
      } catch {
        pidNamespace = undefined;
      }
      return {
        pid: process.pid,
        startTime: status.kind === 'running' ? status.startTime : undefined,
        hostname: os.hostname(),
        bootId: bootId === '' ? undefined : bootId,
        pidNamespace,
      };
    },
  };
}

/** This host, as seen through /proc (Linux) or ps. */
export const systemIdentity: ProcessIdentitySource = createSystemIdentity();
