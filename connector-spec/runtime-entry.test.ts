/**
 * runtimeEntry picks the sibling's form from the caller's, and its TypeScript flags really load a .ts module in a
 * child process and in a worker thread (Node 20's `--import tsx` does not reach worker threads).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntry, workerFlags } from './runtime-entry.js';

describe('runtimeEntry', () => {
  it('gives the compiled sibling and no loader to a compiled caller', () => {
    expect(runtimeEntry('file:///app/dist/bench/spawn-child.js', './child')).toEqual({ kind: 'js', file: '/app/dist/bench/child.js', execArgv: [] });
  });

  it('gives the TypeScript sibling and a tsx preload that exists to a TypeScript caller', () => {
    const entry = runtimeEntry(new URL('file:///app/bench/spawn-child.ts'), './child');
    expect(entry.kind).toBe('ts');
    expect(entry.file).toBe('/app/bench/child.ts');
    expect(entry.execArgv).toHaveLength(2);
    expect(entry.execArgv[0]).toBe('--import');
    expect(existsSync(fileURLToPath(entry.execArgv[1]!))).toBe(true);
  });

  it('resolves paths relative to the caller and ignores a query on its URL', () => {
    expect(runtimeEntry('file:///app/emulator/scripts/measure-memory.ts?v=3', 'memory-child').file).toBe('/app/emulator/scripts/memory-child.ts');
    expect(runtimeEntry('file:///app/dist/runner/run.js', '../sources/worker').file).toBe('/app/dist/sources/worker.js');
  });

  it('rejects a name with an extension and a caller that is neither .ts nor .js', () => {
    expect(() => runtimeEntry('file:///app/bench/spawn-child.ts', './child.ts')).toThrow(/without its extension/);
    expect(() => runtimeEntry('file:///app/runner/worker.mjs', './child')).toThrow(/\.ts or \.js module/);
  });
});

describe('runtimeEntry in TypeScript form', () => {
  let dir: string;
  let caller: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runtime-entry-'));
    caller = pathToFileURL(join(dir, 'caller.ts')).href;
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    // Type annotations: neither file loads without a TypeScript loader.
    await writeFile(join(dir, 'child.ts'), 'const n: number = 41;\nprocess.stdout.write(String(n + 1));\n');
    await writeFile(join(dir, 'worker.ts'), "import { parentPort } from 'node:worker_threads';\nconst n: number = 41;\nparentPort!.postMessage(n + 1);\n");
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a .ts child process', () => {
    const entry = runtimeEntry(caller, './child');
    expect(execFileSync(process.execPath, [...entry.execArgv, entry.file], { cwd: tmpdir(), encoding: 'utf8' })).toBe('42');
  });

  it('runs a .ts worker thread', async () => {
    const entry = runtimeEntry(caller, './worker');
    const worker = new Worker(entry.file, { execArgv: [...entry.execArgv] });
    try {
      const message = await new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(message).toBe(42);
    } finally {
      await worker.terminate();
    }
  });
});

describe('workerFlags', () => {
  it('passes the profilers on and keeps per-process flags (which a Worker rejects) out', () => {
    const parent = ['--max-old-space-size=256', '--cpu-prof', '--cpu-prof-dir=/tmp/p', '--max-semi-space-size=8', '--heap-prof', '--import', 'tsx', '--enable-source-maps'];
    expect(workerFlags(parent)).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--heap-prof']);
  });

  it('gives flags a worker accepts', async () => {
    const worker = new Worker('require("node:worker_threads").parentPort.postMessage("up")', {
      eval: true,
      execArgv: workerFlags(['--max-old-space-size=256', '--stack-size=900']),
    });
    await expect(new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))).resolves.toBe('up');
    await worker.terminate();
  });
});
