/** Start lakehouse/testing/commit-child.ts in its own Node process (tsx) and talk to it line by line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const SCRIPT = fileURLToPath(new URL('./commit-child.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(SCRIPT), '..', '..');

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the next parsed stdout line matching `predicate` (lines before it are kept in `lines`). */
  next(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  send(line: string): void;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startChild(args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: { predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void; reject: (error: Error) => void; from: number }[] = [];
  let buffer = '';
  let stderr = '';
  let closed = false;
  const settle = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (!waiter) continue;
      const found = lines.slice(waiter.from).find(waiter.predicate);
      if (found) {
        waiters.splice(i, 1);
        waiter.resolve(found);
      } else if (closed) {
        waiters.splice(i, 1);
        waiter.reject(new Error(`child exited before the expected line; stderr: ${stderr.slice(-2000)}`));
      }
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const text = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (text.startsWith('{')) lines.push(JSON.parse(text) as Record<string, unknown>);
      newline = buffer.indexOf('\n');
    }
    settle();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      closed = true;
      settle();
      resolve({ code, signal, stderr });
    });
  });
  let consumed = 0;
  return {
    process: child,
    lines,
    exited,
    send: (line) => void child.stdin.write(`${line}\n`),
    next: (predicate) =>
      new Promise((resolve, reject) => {
        const from = consumed;
        const wrapped = (line: Record<string, unknown>): void => {
          consumed = lines.indexOf(line) + 1;
          resolve(line);
        };
        waiters.push({ predicate, resolve: wrapped, reject, from });
        settle();
      }),
  };
}
