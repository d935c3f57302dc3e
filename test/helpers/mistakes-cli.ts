/**
 * Helpers of the operator-mistakes tests (issue 19): a digest of every file and folder under a directory (to
 * prove a failed run changed nothing, byte for byte), the run report a CLI run printed, and real mounts — a
 * read-only bind mount and a small tmpfs that fills up — with the reason when this machine refuses them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

/** Relative path → `dir`, `link:<target>` or the SHA-256 of the file's bytes, for everything under `root`. */
export async function treeDigest(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(root, full);
    if (entry.isDirectory()) out.set(rel, 'dir');
    else if (entry.isSymbolicLink()) out.set(rel, `link:${await readlink(full)}`);
    else out.set(rel, createHash('sha256').update(await readFile(full)).digest('hex'));
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The run report whose path the CLI's summary printed (`report: <file>`). */
export async function printedReport(stdout: string): Promise<{ status: string; tables: Array<Record<string, unknown>> }> {
  const match = /report: (\S+\.json)/.exec(stdout);
  if (!match) throw new Error(`no run report in the CLI's output:\n${stdout}`);
  return JSON.parse(await readFile(match[1]!, 'utf8')) as { status: string; tables: Array<Record<string, unknown>> };
}

/** stderr without blank lines (a one-line message is one entry). */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Mount a tmpfs of `size` (e.g. `64k`) on `dir`; returns why not when this machine refuses (not root, no mount). */
export function mountTmpfs(dir: string, size: string): string | undefined {
  if (!isRoot()) return 'mounting a tmpfs needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `mount -t tmpfs was refused: ${(r.stderr || r.error?.message || '').trim()}`;
}

/**
 * Make `dir` read-only for everyone, root included: a read-only bind mount onto itself (chmod does not stop
 * root). Returns why not when refused.
 */
export function mountReadOnly(dir: string): string | undefined {
  if (!isRoot()) return 'a read-only bind mount needs root (chmod is used instead when not root)';
  const bind = spawnSync('mount', ['--bind', dir, dir], { encoding: 'utf8' });
  if (bind.status !== 0) return `mount --bind was refused: ${(bind.stderr || bind.error?.message || '').trim()}`;
  const ro = spawnSync('mount', ['-o', 'remount,bind,ro', dir], { encoding: 'utf8' });
  if (ro.status !== 0) {
    unmount(dir);
    return `remounting read-only was refused: ${(ro.stderr || ro.error?.message || '').trim()}`;
  }
  return undefined;
}

export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
}
