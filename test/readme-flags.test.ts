/**
 * README matches the CLI (issue 19.12): every flag README documents for a command exists on that command, with the
 * default README gives. The CLI's side comes from the real command's `--help` (a child process, as a user runs it);
 * the bench's flags from its own argument parser (it passes its flags through commander untouched).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../bench/main.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** A flag as README documents it: `default` undefined when README names none. */
interface DocumentedFlag {
  readonly command: string;
  readonly flag: string;
  readonly default: string | undefined;
  readonly where: string;
}

/** A flag as `--help` prints it: its commander default, and its description (which may state a default in words). */
interface HelpFlag {
  readonly flag: string;
  readonly default: string | undefined;
  readonly description: string;
}

/** The text of the README section under `heading` (up to the next heading of the same or a higher level). */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const m = /^(#+) /.exec(lines[i]!);
    if (m && m[1]!.length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n');
}

/** Markdown tables of a text, each as rows of cells (header row included, separator rows dropped). */
function tables(text: string): string[][][] {
  const out: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    if (!current) out.push((current = []));
    current.push(cells);
  }
  return out;
}

const FLAG = /^`(--[a-z][a-z0-9-]*)/;

/** A README default cell or phrase as one literal, or undefined when it is words (`none`, `every table …`). */
function literal(text: string): string | undefined {
  const t = text.trim();
  const m = /^`([^`]+)`$/.exec(t);
  if (m) return m[1];
  if (/^[0-9][0-9_]*$/.test(t)) return t;
  return undefined;
}

/** "default `X`", "default X" or "(default X)" in a description: X, or undefined. */
function defaultInWords(text: string): string | undefined {
  const m = /\bdefault[:]? (`[^`]+`|[0-9][0-9,]*|[a-z0-9./_-]+)/i.exec(text);
  if (!m) return undefined;
  return m[1]!.replace(/`/g, '').replace(/,$/, '');
}

/** Flags documented in README tables of `heading`: with a "default" column, or a default stated in the meaning. */
function flagsFromTables(markdown: string, heading: string, commandsOfTable: readonly (readonly string[])[]): DocumentedFlag[] {
  const found = tables(section(markdown, heading)).filter((t) => t.slice(1).some((row) => FLAG.test(row[0] ?? '')));
  if (found.length !== commandsOfTable.length) throw new Error(`README section "${heading}" has ${found.length} flag tables, the test expects ${commandsOfTable.length}`);
  const out: DocumentedFlag[] = [];
  found.forEach((table, i) => {
    const header = table[0]!.map((h) => h.toLowerCase());
    const defaultColumn = header.indexOf('default');
    for (const row of table.slice(1)) {
      const flag = FLAG.exec(row[0] ?? '')?.[1];
      if (flag === undefined) continue;
      const documented = defaultColumn >= 0 ? row[defaultColumn]! : undefined;
      let value: string | undefined;
      if (documented === undefined) value = defaultInWords(row.slice(1).join(' '));
      else if (documented === '(required)' || documented === 'off' || documented === 'none') value = documented;
      else value = literal(documented) ?? `words: ${documented}`;
      for (const command of commandsOfTable[i]!) out.push({ command, flag, default: value, where: heading });
    }
  });
  return out;
}

/** Flags of a usage line such as "mixpanel-lakeflow emulator [--port 8765] [--seed 1]": bracketed values are defaults. */
function flagsFromUsage(markdown: string, command: string): DocumentedFlag[] {
  const prefix = `mixpanel-lakeflow ${command} [`;
  const line = markdown.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`README has no usage line "${prefix}…"`);
  return [...line.matchAll(/\[(--[a-z][a-z0-9-]*)(?: ([^\]|]+)[^\]]*)?\]/g)].map((m) => ({ command, flag: m[1]!, default: m[2]?.trim(), where: `usage of ${command}` }));
}

/** "`mixpanel-lakeflow vacuum …` takes `--lakehouse LOCATION` (default `./data/lakehouse`), …": flags of a sentence. */
function flagsFromSentence(markdown: string, command: string): DocumentedFlag[] {
  const start = markdown.indexOf(`\`mixpanel-lakeflow ${command}`);
  if (start < 0) throw new Error(`README never describes "mixpanel-lakeflow ${command}"`);
  const sentence = markdown.slice(start, markdown.indexOf('. ', start)).replace(/\n/g, ' ');
  return [...sentence.matchAll(/`(--[a-z][a-z0-9-]*)[^`]*`(?: \(default `([^`]+)`)?/g)].map((m) => ({ command, flag: m[1]!, default: m[2], where: `${command} sentence` }));
}

/** The options `--help` lists, with commander's default and the description around it. */
function parseHelp(help: string): Map<string, HelpFlag> {
  const entries: string[] = [];
  for (const line of help.split('\n')) {
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else if (/^ {4,}\S/.test(line) && entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
    else if (line.trim() === '' || /^\S/.test(line)) entries.push('');
  }
  const out = new Map<string, HelpFlag>();
  for (const entry of entries) {
    const m = /^(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)(?: <[^>]+>| \[[^\]]+\])?\s+(.*)$/.exec(entry);
    if (!m) continue;
    const description = m[2]!;
    const d = /\(default: (.*)\)$/.exec(description)?.[1];
    out.set(m[1]!, { flag: m[1]!, default: d === undefined ? undefined : d.replace(/^"(.*)"$/, '$1'), description });
  }
  return out;
}

/** Why the documented flag does not match the CLI's, or undefined when it does. */
function mismatch(doc: DocumentedFlag, help: ReadonlyMap<string, HelpFlag>): string | undefined {
  const cli = help.get(doc.flag);
  const name = `${doc.command} ${doc.flag} (README: ${doc.where})`;
  if (!cli) return `${name}: README documents it, the command has no such flag`;
  const value = doc.default;
  if (value === undefined) return undefined;
  if (value === '(required)' || value === 'none' || value.startsWith('words: ')) {
    return cli.default === undefined ? undefined : `${name}: README gives no fixed default ("${value}"), the CLI defaults to "${cli.default}"`;
  }
  if (value === 'off') return cli.default === undefined || cli.default === 'false' ? undefined : `${name}: README says off, the CLI defaults to "${cli.default}"`;
  const expected = value.replace(/,/g, '');
  if (cli.default !== undefined) return cli.default === expected ? undefined : `${name}: README default "${value}", the CLI's "${cli.default}"`;
  return defaultInWords(cli.description) === expected ? undefined : `${name}: README default "${value}", the CLI states none`;
}

const exec = promisify(execFile);
const helpCache = new Map<string, Promise<Map<string, HelpFlag>>>();
function helpOf(command: string): Promise<Map<string, HelpFlag>> {
  let pending = helpCache.get(command);
  if (!pending) {
    pending = exec(process.execPath, [path.join(ROOT, 'bin', 'mixpanel-lakeflow.js'), ...command.split(' '), '--help'], { cwd: ROOT, env: { ...process.env, COLUMNS: '80' } }).then(({ stdout }) => parseHelp(stdout));
    helpCache.set(command, pending);
  }
  return pending;
}

const COMMANDS = ['mailchimp emulator', 'mailchimp-sync', 'emulator', 'run', 'repair', 'migrate', 'vacuum', 'proxy', 'singer', 'demo'];

/** Flags in README's example command lines (`mixpanel-lakeflow <command> … --flag`): they must exist, whatever their value. */
function flagsInExamples(markdown: string): DocumentedFlag[] {
  const out: DocumentedFlag[] = [];
  for (const line of markdown.split('\n')) {
    for (const m of line.matchAll(/mixpanel-lakeflow ((?:mailchimp )?[a-z-]+)([^`|;&]*)/g)) {
      const command = COMMANDS.find((c) => m[1] === c || m[1]!.startsWith(`${c} `));
      if (command === undefined) continue;
      for (const f of m[2]!.matchAll(/(?:^|[\s[])(--[a-z][a-z0-9-]*)/g)) out.push({ command, flag: f[1]!, default: undefined, where: `example: ${line.trim().slice(0, 60)}` });
    }
  }
  return out;
}

function documentedFlags(markdown: string): DocumentedFlag[] {
  return [
    ...flagsFromTables(markdown, 'Commands and flags', [['run', 'repair', 'migrate'], ['run']]),
    ...flagsFromSentence(markdown, 'vacuum'),
    ...flagsFromTables(markdown, 'The tracking proxy', [['proxy']]),
    ...flagsFromTables(markdown, 'Mailchimp audience sync', [['mailchimp-sync']]),
    ...flagsFromUsage(markdown, 'emulator'),
    ...flagsFromUsage(markdown, 'mailchimp emulator'),
    ...flagsInExamples(markdown),
  ];
}

describe('README documents the flags the CLI has, with its defaults', () => {
  it('reads enough of README to be a check (every command, the defaults it states)', () => {
    const flags = documentedFlags(README);
    const commands = new Set(flags.map((f) => f.command));
    expect([...commands]).toEqual(expect.arrayContaining(['emulator', 'mailchimp emulator', 'mailchimp-sync', 'migrate', 'proxy', 'repair', 'run', 'singer', 'vacuum']));
    expect(flags.filter((f) => f.command === 'run').map((f) => f.flag)).toEqual(expect.arrayContaining(['--spec', '--lakehouse', '--state', '--max-wait', '--lock-lease', '--tables', '--full-refresh', '--drop-history']));
    expect(flags.filter((f) => f.default !== undefined).length).toBeGreaterThan(20);
  });

  it('every flag exists on its command with the documented default (the command’s --help)', async () => {
    const flags = documentedFlags(README);
    await Promise.all([...new Set(flags.map((f) => f.command))].map(helpOf)); // one child per command, at once
    const problems: string[] = [];
    for (const doc of flags) {
      const problem = mismatch(doc, await helpOf(doc.command));
      if (problem) problems.push(problem);
    }
    expect(problems).toEqual([]);
  }, 60_000);

  it('README never tells a user to npx the unpublished name, and shows the install from the clone', () => {
    const npx = README.split('\n').filter((l) => /npx\s+(--\S+\s+)*mixpanel-lakeflow/.test(l));
    expect(npx).toEqual([]);
    expect(README).toContain('npm pack');
    expect(README).toMatch(/npm install --global \.\/mixpanel-lakeflow-[0-9.]+\.tgz/);
  });

  it('every bench flag README lists is one the bench parser takes', () => {
    const flags = flagsFromTables(README, 'Benchmark', [['bench']]).map((f) => f.flag);
    expect(flags.length).toBeGreaterThan(8);
    const boolean = /^--(quick|cpu-prof|no-gzip|no-duckdb|no-proxy|no-emulator|keep|force|append-only|no-real|only-real)$/;
    const sample: Record<string, string> = { '--events': '1000', '--windows': '1d', '--profiles': '10', '--repeat': '2', '--node-flag': '--x', '--rate': '1000' };
    const refused = flags.filter((flag) => {
      try {
        parseBenchArgs(boolean.test(flag) ? [flag] : [`${flag}=${sample[flag] ?? '1'}`]);
        return false;
      } catch {
        return true;
      }
    });
    expect(refused).toEqual([]);
  });

  it('the same check on a README that drifted finds each drift (a table default, a sentence default, a usage line, an example)', async () => {
    const drifted = [
      ['| `--max-wait DURATION` | `5m` |', '| `--max-wait DURATION` | `10m` |'],
      ['`--retention\nDURATION` (default `7d`', '`--retention\nDURATION` (default `30d`'],
      ['[--port 8765]', '[--port 9999]'],
      ['mixpanel-lakeflow vacuum --lakehouse', 'mixpanel-lakeflow vacuum --lake-house'],
    ].reduce((text, [from, to]) => {
      expect(text).toContain(from);
      return text.replace(from!, to!);
    }, README);
    const problems: string[] = [];
    for (const doc of documentedFlags(drifted)) {
      const problem = mismatch(doc, await helpOf(doc.command));
      if (problem) problems.push(problem);
    }
    expect(problems).toEqual([
      expect.stringMatching(/^run --max-wait .*README default "10m", the CLI's "5m"/),
      expect.stringMatching(/^repair --max-wait .*README default "10m"/),
      expect.stringMatching(/^migrate --max-wait .*README default "10m"/),
      expect.stringMatching(/^vacuum --retention .*README default "30d", the CLI's "7d"/),
      expect.stringMatching(/^emulator --port .*README default "9999", the CLI's "8765"/),
      expect.stringMatching(/^vacuum --lake-house .*no such flag/),
    ]);
  }, 60_000);

  it('the check fails on a README that drifted: a wrong default, a flag the CLI lacks, a default the CLI does not have', () => {
    const help = parseHelp(
      [
        'Options:',
        '  --state <dir>           a local folder (default:',
        '                          "./data/state")',
        '  --lock-lease <seconds>  lease (default 120, or X)',
        '  --tables <list>         only these tables',
        '  --dry-run               delete nothing (default: false)',
      ].join('\n'),
    );
    const doc = (flag: string, value: string | undefined): DocumentedFlag => ({ command: 'run', flag, default: value, where: 'test' });
    expect(mismatch(doc('--state', './data/state'), help)).toBeUndefined();
    expect(mismatch(doc('--lock-lease', '120'), help)).toBeUndefined();
    expect(mismatch(doc('--dry-run', 'off'), help)).toBeUndefined();
    expect(mismatch(doc('--tables', 'words: every table of the spec'), help)).toBeUndefined();
    expect(mismatch(doc('--state', './state'), help)).toMatch(/README default ".\/state", the CLI's ".\/data\/state"/);
    expect(mismatch(doc('--lock-lease', '60'), help)).toMatch(/the CLI states none/);
    expect(mismatch(doc('--spec', '(required)'), help)).toMatch(/no such flag/);
    expect(mismatch(doc('--state', '(required)'), help)).toMatch(/README gives no fixed default/);
    expect(mismatch(doc('--tables', 'events'), help)).toMatch(/the CLI states none/);
  });
});
