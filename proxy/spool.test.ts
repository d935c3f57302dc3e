/** The spool writer: group commit, rotation, a new segment per start, one writer per folder. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { segmentName } from '../sources/mixpanel_proxy/index.js';
import { LOCK_NAME, SpoolWriter } from './spool.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'spool-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const segments = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith('segment-')).sort();

describe('SpoolWriter', () => {
  it('groups concurrent appends into fewer fsyncs and keeps every line whole and in order of arrival', async () => {
    const w = await SpoolWriter.open({ dir });
    await Promise.all(Array.from({ length: 50 }, (_, i) => w.append(`{"n":${i}}\n`)));
    expect(w.info.linesWritten).toBe(50);
    expect(w.info.fsyncs).toBeLessThan(50);
    await w.close();
    const text = await readFile(path.join(dir, segmentName(1)), 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('rotates to a new segment when one would exceed segmentBytes', async () => {
    const w = await SpoolWriter.open({ dir, segmentBytes: 20 });
    for (let i = 0; i < 5; i++) await w.append(`{"line":${i}}xxxx\n`);
    await w.close();
    expect(await segments()).toEqual([1, 2, 3, 4, 5].map(segmentName));
  });

  it('opens a new segment on every start, never appending to an old one (which may end in a torn line)', async () => {
    await writeFile(path.join(dir, segmentName(7)), '{"a":1}\n{"torn');
    const w = await SpoolWriter.open({ dir });
    expect(w.info.segment).toBe(segmentName(8));
    await w.append('{"b":2}\n');
    await w.close();
    expect(await readFile(path.join(dir, segmentName(7)), 'utf8')).toBe('{"a":1}\n{"torn');
  });

  it('refuses a folder a live writer holds, and takes over the lock of a dead one', async () => {
    const w = await SpoolWriter.open({ dir });
    await expect(SpoolWriter.open({ dir })).rejects.toThrow(/already has a writer in this process/);
    await w.close();
    // A lock left with our own pid by a previous incarnation (containers reuse pids): taken over.
    await writeFile(path.join(dir, LOCK_NAME), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
    const reborn = await SpoolWriter.open({ dir });
    await reborn.close();
    // A live other process holds it.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await writeFile(path.join(dir, LOCK_NAME), JSON.stringify({ pid: sleeper.pid, startedAt: new Date().toISOString() }));
      await expect(SpoolWriter.open({ dir })).rejects.toThrow(/in use by process/);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    // Its pid is dead now: the lock is stale.
    const again = await SpoolWriter.open({ dir });
    await again.close();
    await expect(readdir(dir)).resolves.not.toContain(LOCK_NAME);
  });
});
