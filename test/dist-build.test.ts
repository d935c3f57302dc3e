/**
 * The build (tsconfig.build.json + bin/build.js) gives a runtime that needs no TypeScript loader: compiled into a
 * temporary folder, the CLI and every module its commands load are imported under a resolve hook that throws on
 * any .ts file or on tsx; every file the compiled code loads by `new URL('./x.ext', import.meta.url)` exists; and
 * a compiled module spawns its compiled child through runtimeEntry. A control run proves the hook catches tsx.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** A preload whose resolve hook throws when anything asks for a .ts file or for tsx. */
const NO_TYPESCRIPT_HOOK = `export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (/\\.[cm]?tsx?$/.test(new URL(resolved.url).pathname) || resolved.url.includes('/node_modules/tsx/')) {
    throw new Error('loads TypeScript: ' + resolved.url);
  }
  return resolved;
}`;
const dataUrl = (code: string): string => `data:text/javascript,${encodeURIComponent(code)}`;
const NO_TYPESCRIPT = ['--import', dataUrl(`import { register } from 'node:module'; register(${JSON.stringify(dataUrl(NO_TYPESCRIPT_HOOK))});`)];

/** Imports the CLI, prints its --help, then imports every module its commands load with `import('…')`. */
function loadCliScript(mainUrl: string, registerTsx: boolean): string {
  return `${registerTsx ? "const { register } = await import('tsx/esm/api'); register();\n" : ''}
const mainUrl = ${JSON.stringify(mainUrl)};
const { main } = await import(mainUrl);
if ((await main(['--help'])) !== 0) throw new Error('--help failed');
const text = (await import('node:fs')).readFileSync(new URL(mainUrl), 'utf8');
const lazy = [...text.matchAll(/import\\('(\\.{1,2}\\/[^']+)'\\)/g)].map((m) => new URL(m[1], mainUrl));
if (lazy.length === 0) throw new Error('no lazily loaded command modules found');
for (const url of lazy) await import(url.href.replace(/\\.js$/, mainUrl.endsWith('.ts') ? '.ts' : '.js'));
process.stdout.write('\\nloaded ' + lazy.length + ' command modules\\n');`;
}

function runScript(script: string, cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...NO_TYPESCRIPT, '--input-type=module', '-e', script], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function* jsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(path);
    else if (/\.m?js$/.test(entry.name)) yield path;
  }
}

describe('the compiled runtime (npm run build)', () => {
  let out: string;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'dist-build-'));
    // Same config as `npm run build`; type errors are `tsc --noEmit`'s business, so skip checking for speed.
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--noCheck', '--outDir', join(out, 'dist')], { cwd: ROOT, stdio: 'pipe' });
    execFileSync(process.execPath, [join(ROOT, 'bin', 'build.js'), 'copy', join(out, 'dist')], { cwd: ROOT, stdio: 'pipe' });
    // Packages resolve from the folder tree, as they do from the repository's dist/.
    await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
    await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('emits the CLI and no test files', () => {
    expect(existsSync(join(out, 'dist', 'cli', 'main.js'))).toBe(true);
    const tests = [...jsFiles(join(out, 'dist'))].filter((f) => /\.test\.js$|[/\\]test-helpers\.js$|[/\\]vitest\.config\.js$/.test(f));
    expect(tests).toEqual([]);
  });

  it('runs the CLI and loads every command module without tsx', () => {
    const r = runScript(loadCliScript(pathToFileURL(join(out, 'dist', 'cli', 'main.js')).href, false), out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: mixpanel-lakeflow');
    expect(r.stdout).toMatch(/loaded \d+ command modules/);
  });

  it('control: the same check fails on the TypeScript sources', () => {
    const r = runScript(loadCliScript(pathToFileURL(join(ROOT, 'cli', 'main.ts')).href, true), ROOT);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('loads TypeScript');
  });

  it('has every file the compiled code loads by relative URL', () => {
    const missing: string[] = [];
    let found = 0;
    for (const file of jsFiles(join(out, 'dist'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/new URL\('(\.{1,2}\/[^']*[^/.'][^/']*\.(?!ts')[a-z]+)', import\.meta\.url\)/g)) {
        found++;
        const target = join(dirname(file), m[1]!);
        if (!existsSync(target)) missing.push(`${file.slice(out.length)} → ${m[1]}`);
      }
    }
    expect(found).toBeGreaterThan(0); // lakehouse/parquet/parquet-encoder-worker.mjs at least
    expect(missing).toEqual([]);
  });

  it('spawns compiled children without tsx (runtimeEntry from compiled code)', () => {
    const script = join(out, 'dist', 'emulator', 'scripts', 'measure-memory.js');
    const stdout = execFileSync(process.execPath, [...NO_TYPESCRIPT, script, '500'], { cwd: out, encoding: 'utf8', timeout: 60_000 });
    expect((JSON.parse(stdout) as { events: number }).events).toBeGreaterThan(0);
  });
});
