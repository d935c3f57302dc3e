/**
 * Real processes for lock tests (tests only): a zombie (killed, never reaped, so `kill(pid, 0)` still succeeds),
 * and a command started in its own pid namespace (`unshare --pid --fork --mount-proc`), as Docker and Kubernetes
 * start a container: pid numbers repeat from 1 in every new namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export function procState(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Output lines of a child, and a way to wait for one. */
export interface LineReader {
  readonly lines: string[];
  /** The first line (seen so far or later) matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export function readLines(child: ChildProcess): LineReader {
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let closed = false; // stdout's end: every line has arrived (the exit event may come before the last data)
  child.stdout?.on('close', () => (closed = true));
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return {
    lines,
    async waitFor(re, timeoutMs = 30_000) {
      let found: RegExpExecArray | null = null;
      const gone = () => closed || (child.stdout === null && (child.exitCode !== null || child.signalCode !== null));
      await until(`a line matching ${re}`, () => {
        for (const line of lines) if ((found = re.exec(line))) return true;
        if (gone()) throw new Error(`child exited (${child.exitCode ?? child.signalCode}) before printing ${re}; stdout: ${lines.join('\n')}; stderr: ${stderr}`);
        return false;
      }, timeoutMs);
      return found!;
    },
  };
}

/** A process that was SIGKILLed and is not reaped: its parent (`sleep`, exec'd by sh) never waits. */
export interface Zombie {
  readonly pid: number;
  /** Kill the parent too: init then reaps the zombie. */
  reap(): Promise<void>;
}

export async function startZombie(): Promise<Zombie> {
  const parent = spawn('sh', ['-c', 'sleep 300 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = readLines(parent);
  const pid = Number((await out.waitFor(/^(\d+)$/))[1]);
  process.kill(pid, 'SIGKILL');
  await until(`pid ${pid} is a zombie`, () => procState(pid) === 'Z');
  return {
    pid,
    async reap() {
      parent.kill('SIGKILL');
      await exited(parent);
      await until(`pid ${pid} is reaped`, () => procState(pid) === undefined);
    },
  };
}

/** Whether this machine lets us create pid namespaces; the reason when not. */
export function pidNamespaceSupport(): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `unshare not available (${r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: `unshare not permitted: ${r.stderr.trim()}` };
  // hostPid() finds the namespace's pid 1 through the children list (a kernel option).
  if (!existsSync(`/proc/${process.pid}/task/${process.pid}/children`)) return { ok: false, reason: 'unshare not usable: /proc/<pid>/task/<tid>/children is missing' };
  return { ok: true };
}

export interface NamespacedProcess {
  /** The `unshare` process (its stdio is the command's). */
  readonly child: ChildProcess;
  readonly out: LineReader;
  /** The command's pid as this (outer) namespace sees it. */
  hostPid(): Promise<number>;
  /** SIGKILL the command (inside its namespace; the namespace dies with it) and wait until it is reaped. */
  kill(): Promise<void>;
  /** Write a line to the command's stdin. */
  send(line: string): void;
}

/**
 * Start `command args…` as pid 1 of a new pid namespace with its own /proc (a container start, as far as pids
 * are concerned). `--kill-child` takes the command down if the test process dies.
 */
export function startInPidNamespace(command: string, args: readonly string[], options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): NamespacedProcess {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  const out = readLines(child);
  const hostPid = async (): Promise<number> => {
    let pid = 0;
    await until('unshare has forked its child', () => {
      try {
        pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0] ?? '');
      } catch {
        pid = 0;
      }
      return pid > 0;
    });
    return pid;
  };
  return {
    child,
    out,
    hostPid,
    async kill() {
      process.kill(await hostPid(), 'SIGKILL');
      await exited(child); // unshare reaps the command, then exits
    },
    send(line) {
      child.stdin?.write(`${line}\n`);
    },
  };
}
