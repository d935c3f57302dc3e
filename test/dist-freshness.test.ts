import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: plain-JS launcher helper without type declarations
import { distIsFresh, runtimeSources } from '../bin/build.js';

const fresh = distIsFresh as (root: string) => boolean;
const sources = runtimeSources as (root: string) => string[];

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

const T_SOURCE = new Date('2026-01-01T00:00:00Z');
const T_BUILD = new Date('2026-01-02T00:00:00Z');

async function tree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dist-fresh-'));
  for (const file of ['cli/main.ts', 'runner/a.ts', 'runner/worker.mjs', 'runner/a.test.ts']) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), '// x\n');
    await utimes(join(dir, file), T_SOURCE, T_SOURCE);
  }
  await mkdir(join(dir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'dist', '.build-stamp'), `${sources(dir).join('\n')}\n`);
  await utimes(join(dir, 'dist', '.build-stamp'), T_BUILD, T_BUILD);
  return dir;
}

describe('distIsFresh (which code bin/mixpanel-lakeflow.js runs)', () => {
  it('is fresh after a build, and lists runtime sources without tests', async () => {
    root = await tree();
    expect(sources(root)).toEqual(['cli/main.ts', 'runner/a.ts', 'runner/worker.mjs']);
    expect(fresh(root)).toBe(true);
  });

  it('is stale when a source is newer than the build', async () => {
    root = await tree();
    await utimes(join(root, 'runner/a.ts'), new Date('2026-01-03T00:00:00Z'), new Date('2026-01-03T00:00:00Z'));
    expect(fresh(root)).toBe(false);
  });

  it('is stale when a source was deleted or added with an old mtime (the stamp lists the sources)', async () => {
    root = await tree();
    await rm(join(root, 'runner/a.ts'));
    expect(fresh(root)).toBe(false);
    root = await tree();
    await writeFile(join(root, 'runner/b.ts'), '// y\n');
    await utimes(join(root, 'runner/b.ts'), T_SOURCE, T_SOURCE);
    expect(fresh(root)).toBe(false);
  });

  it('is stale without a stamp (no build, or a failed one)', async () => {
    root = await tree();
    await rm(join(root, 'dist', '.build-stamp'));
    expect(fresh(root)).toBe(false);
  });
});
