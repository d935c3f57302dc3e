#!/usr/bin/env node
/**
 * dist/ (the compiled runtime, tsconfig.build.json) and the rule for when it is current. npm runs the two steps
 * around `tsc -p tsconfig.build.json` (`npm run build`, which `npm install` and `npm ci` run through `prepare`):
 *   node bin/build.js begin   prebuild: remove the stamp, note the time the build starts and the sources it sees
 *   node bin/build.js end     postbuild: copy the plain-JS runtime files (*.mjs, *.cjs), then stamp dist/
 *   node bin/build.js copy D  copy the plain-JS runtime files into D (a build with another --outDir)
 *   node bin/build.js prepare `npm run build` when TypeScript is installed; without it (`npm ci --omit=dev`)
 *                             say so and succeed: the CLI then runs the sources through tsx
 * The stamp carries the start time (so a source saved while tsc runs still counts as newer) and the list of
 * runtime sources (so a deleted or renamed one counts too). A failed build
 * leaves no stamp, and bin/mixpanel-lakeflow.js then runs the sources through tsx.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
/** The folders of runtime code: what tsconfig.build.json compiles and what the freshness check watches. */
export const SOURCE_DIRS = ['cli', 'connector-spec', 'sources', 'runner', 'lakehouse', 'emulator', 'proxy', 'mailchimp', 'bench'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];
const STAMP = join(DIST, '.build-stamp');
const PENDING = `${STAMP}.pending`;

/** mtime in ms, or 0 for a file that is gone (deleted, or mid-way through an editor's save). */
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;

/** Runtime sources under `dir`: .ts (not tests), .mjs and .cjs. Skips node_modules and dot folders. */
function* runtimeFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (error.code === 'ENOENT') return; // a folder that is not there has nothing newer
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) yield* runtimeFiles(path);
    } else if (/\.(ts|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.test.ts')) {
      yield path;
    }
  }
}

/** The runtime sources (paths relative to `root`, sorted): what a build compiles and what its stamp lists. */
export function runtimeSources(root = ROOT) {
  const files = [];
  for (const dir of SOURCE_DIRS) for (const file of runtimeFiles(join(root, dir))) files.push(relative(root, file));
  return files.sort();
}

/**
 * True when `root`/dist holds a finished build, no runtime source (nor a tsconfig) was modified after that build
 * started, and the runtime sources are the ones the build saw (its stamp lists them, so a deleted or renamed
 * source is noticed too). About 40 directory reads and 250 stat calls: 5–15 ms.
 */
export function distIsFresh(root = ROOT) {
  const stampFile = join(root, 'dist', '.build-stamp');
  const stamp = mtime(stampFile);
  if (stamp === 0) return false;
  for (const config of CONFIGS) if (mtime(join(root, config)) > stamp) return false;
  const sources = runtimeSources(root);
  for (const file of sources) if (mtime(join(root, file)) > stamp) return false;
  let listed;
  try {
    listed = readFileSync(stampFile, 'utf8');
  } catch {
    return false;
  }
  return listed === stampText(sources);
}

function stampText(sources) {
  return `${sources.join('\n')}\n`;
}

function begin() {
  rmSync(STAMP, { force: true });
  mkdirSync(DIST, { recursive: true });
  writeFileSync(PENDING, stampText(runtimeSources()));
}

/** tsc emits only .ts sources: plain-JS runtime files (a worker.mjs) are copied next to their importers. */
function copyPlainJs(outDir) {
  for (const dir of SOURCE_DIRS) {
    for (const file of runtimeFiles(join(ROOT, dir))) {
      if (file.endsWith('.ts')) continue;
      const target = join(outDir, relative(ROOT, file));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
    }
  }
}

function end() {
  copyPlainJs(DIST);
  renameSync(PENDING, STAMP); // keeps the start time as the stamp's mtime
}

function prepare() {
  try {
    createRequire(import.meta.url).resolve('typescript');
  } catch {
    process.stdout.write('mixpanel-lakeflow: TypeScript is not installed (dev dependencies omitted), so dist/ is not built; the CLI runs the sources through tsx\n');
    return;
  }
  const npm = process.env.npm_execpath;
  const result = npm ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' }) : spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = result.status ?? 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const step = process.argv[2];
  if (step === 'prepare') prepare();
  else if (step === 'begin') begin();
  else if (step === 'end') end();
  else if (step === 'copy' && process.argv[3] !== undefined) copyPlainJs(process.argv[3]);
  else {
    process.stderr.write('usage: node bin/build.js prepare|begin|end|copy <outDir> (npm runs begin and end around `npm run build`)\n');
    process.exitCode = 2;
  }
}
