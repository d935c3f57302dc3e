/**
 * The import rules of the workspace style guide (style.md, "Which way the imports run"), checked on every relative import of every
 * TypeScript/ESM file in the repository (static imports, re-exports and dynamic `import()`):
 * - connector-spec/ imports nothing of ours; lakehouse/ imports only connector-spec/;
 * - a source imports only connector-spec/ (the proxy's source also the Mixpanel source's entry);
 * - the runner imports connector-spec/ and lakehouse/; mailchimp/ and proxy/ the same plus their own sources;
 * - another part's insides are reached only through its index.ts;
 * - the emulator is a test double: only the CLI, the bench and tests import it, and it imports nothing of ours;
 * - test helpers (testing/ folders, test/) are never imported by production code.
 * Tests (*.test.ts), test helpers and the bench are exempt from the part rules; the CLI wires everything.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PARTS = ['connector-spec', 'sources/mixpanel_proxy', 'sources/mixpanel', 'runner', 'lakehouse', 'emulator', 'proxy', 'mailchimp', 'cli', 'bench', 'test', 'bin'] as const;
type Part = (typeof PARTS)[number];

/** What each production part may import from other parts (entries only, unless listed in INSIDES). */
const ALLOWED: Readonly<Record<Part, readonly Part[] | 'any'>> = {
  'connector-spec': [],
  lakehouse: ['connector-spec'],
  'sources/mixpanel': ['connector-spec'],
  'sources/mixpanel_proxy': ['connector-spec', 'sources/mixpanel'],
  runner: ['connector-spec', 'lakehouse'],
  mailchimp: ['connector-spec', 'lakehouse'],
  proxy: ['connector-spec', 'sources/mixpanel_proxy', 'sources/mixpanel'],
  emulator: [],
  cli: 'any',
  bench: 'any',
  test: 'any',
  bin: 'any',
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'data' || entry.name.startsWith('.') || entry.name === '__fixtures__') continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(file);
    else if (/\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.mts') && !entry.name.endsWith('.d.ts')) yield file;
  }
}

function partOf(rel: string): Part | undefined {
  return PARTS.find((p) => rel === p || rel.startsWith(`${p}/`));
}

/** Tests and test helpers (testing/ folders, test/): production code never imports them. */
function isTestCode(rel: string): boolean {
  return rel.endsWith('.test.ts') || /(^|\/)testing(\/|\.ts$|-)/.test(rel) || rel.startsWith('test/') || /(^|\/)test-helpers\.ts$/.test(rel);
}

/** Measurement tools only developers run (the bench, the emulator's scripts): free to use test helpers. */
function isDevTool(rel: string): boolean {
  return rel.startsWith('bench/') || rel.startsWith('emulator/scripts/');
}

/** The entry files of a part: what other parts may import. */
function isEntry(part: Part, target: string): boolean {
  const inside = target.slice(part.length + 1).replace(/\.(js|ts|mjs)$/, '');
  return inside === 'index';
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of sourceFiles(ROOT)) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(pattern)) {
      const spec = match[1] ?? match[2]!;
      out.push({ from: rel, to: path.relative(ROOT, path.resolve(path.dirname(file), spec)).split(path.sep).join('/') });
    }
  }
  return out;
}

function violations(all: readonly Edge[]): string[] {
  const found: string[] = [];
  for (const { from, to } of all) {
    const a = partOf(from);
    const b = partOf(to);
    if (a === undefined || b === undefined) continue;
    const production = !isTestCode(from) && !isDevTool(from);
    if (production && isTestCode(to)) found.push(`${from} → ${to}: production code imports a test helper`);
    if (a === b) continue;
    if (b === 'emulator' && production && a !== 'cli' && a !== 'bench') found.push(`${from} → ${to}: only the CLI, the bench and tests import the emulator (a test double)`);
    if (!production) continue;
    const allowed = ALLOWED[a];
    if (allowed === 'any') continue;
    if (!allowed.includes(b)) found.push(`${from} → ${to}: ${a}/ may import only ${allowed.length > 0 ? allowed.map((p) => `${p}/`).join(', ') : 'nothing of ours'}`);
    else if (!isEntry(b, to)) found.push(`${from} → ${to}: reach ${b}/ through its index.ts`);
  }
  return found;
}

describe('imports follow the style guide', () => {
  it('no production file breaks a rule', () => {
    expect(violations(edges())).toEqual([]);
  });

  it('the checker catches each kind of violation (a rule that cannot fail is no rule)', () => {
    const planted: Edge[] = [
      { from: 'connector-spec/types.ts', to: 'runner/index.js' },
      { from: 'runner/run.ts', to: 'lakehouse/delta/commit.js' },
      { from: 'sources/mixpanel/client.ts', to: 'runner/index.js' },
      { from: 'runner/run.ts', to: 'emulator/index.js' },
      { from: 'lakehouse/table.ts', to: 'lakehouse/testing/tables.js' },
      { from: 'mailchimp/sync.ts', to: 'runner/index.js' },
    ];
    const found = violations(planted);
    for (const edge of planted) expect(found.some((f) => f.startsWith(`${edge.from} → ${edge.to}:`)), `${edge.from} → ${edge.to}`).toBe(true);
    expect(found.join('\n')).toMatch(/nothing of ours/);
    expect(found.join('\n')).toMatch(/through its index\.ts/);
    expect(found.join('\n')).toMatch(/test double/);
    expect(found.join('\n')).toMatch(/imports a test helper/);
    expect(violations([{ from: 'runner/run.ts', to: 'lakehouse/index.js' }, { from: 'cli/main.ts', to: 'emulator/cli.js' }, { from: 'runner/run.test.ts', to: 'emulator/index.js' }])).toEqual([]);
  });
});
