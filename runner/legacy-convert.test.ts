/**
 * Conversion of a lakehouse written by release 0.1 (the fixture was made with that release's own code, see
 * runner/__fixtures__/release-0.1-lakehouse/README.md): its second run was SIGKILLed right after the commit record
 * of `events` (files still staged), so conversion must also roll that version forward as 0.1 would have.
 * The old rows are read by DuckDB from the old Parquet files before converting; the Delta tables are read back by
 * DuckDB replaying the Delta log.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFilesRecursive } from './durable-fs.js';
import { noFaults } from './faults.js';
import { parsePipelineSpec, runPipeline, type RunReport } from './index.js';
import { committedCursor, tableRows } from './testing/duckdb.js';
import { logCommits, rowsAtVersion, txnProblems, unreferencedDataFiles } from './testing/delta-log.js';
import { captureLogger, runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';
import { RELEASE_01_SECOND, RELEASE_01_TABLES, copyRelease01, oldRows, readOldTable, type OldTable } from './testing/legacy-fixture.js';
import { FIXTURE_SPEC, createMemorySource, makeDataset } from './testing/memory-source.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = path.join(ROOT, 'runner', 'testing', 'run-fixture.ts');
/** Rows of RELEASE_01_SECOND per incremental table (what a cursor `{offset}` counts). */
const TOTALS: Readonly<Record<string, number>> = { items: 150, items_history: 150, events: 120, logs: 100 };

let clean: Dirs;
const cleanRows = new Map<string, string[]>();
const cleanCursors = new Map<string, unknown>();
/** The fixture as release 0.1 left it: cursor, live files and DuckDB's reading of them, per table. */
const before = new Map<string, OldTable & { readonly rows_: string[] }>();
const dirsToClean: Dirs[] = [];

async function freshCopy(): Promise<Dirs> {
  const dirs = await tempDirs('lakeflow-legacy-');
  dirsToClean.push(dirs);
  await copyRelease01(dirs.lakehouse);
  return dirs;
}

beforeAll(async () => {
  clean = await tempDirs('lakeflow-legacy-clean-');
  dirsToClean.push(clean);
  await runFixture(clean, { dataset: RELEASE_01_SECOND });
  for (const table of RELEASE_01_TABLES) {
    cleanRows.set(table, await tableRows(clean.lakehouse, table));
    cleanCursors.set(table, await committedCursor(clean.lakehouse, table));
  }
  const fixture = await freshCopy();
  for (const table of RELEASE_01_TABLES) {
    const old = await readOldTable(fixture.lakehouse, table);
    before.set(table, { ...old, rows_: await oldRows(fixture.lakehouse, table) });
  }
});

afterAll(async () => {
  for (const d of dirsToClean) await d.cleanup();
});

/** Version 0 of every table is the CONVERT commit of the old table: its rows, its cursor, txn 0 of this connection. */
async function expectConvertedAsVersion0(dirs: Dirs): Promise<void> {
  for (const table of RELEASE_01_TABLES) {
    const old = before.get(table)!;
    const commits = await logCommits(dirs.lakehouse, table);
    expect(txnProblems(commits), table).toEqual([]);
    const v0 = commits[0]!;
    expect(v0, table).toMatchObject({ version: 0, operation: 'CONVERT', txn: { appId: `memory/${table}`, version: 0 }, hasMetadata: true });
    expect(v0.info?.['cursor'], `${table}: the old cursor`).toEqual(old.cursor);
    expect(v0.adds.reduce((n, a) => n + (a.numRecords ?? -1), 0), `${table}: stats.numRecords`).toBe(old.rows);
    expect(await rowsAtVersion(dirs.lakehouse, table, 0), `${table}: rows of version 0`).toEqual(old.rows_);
  }
}

/** Nothing of release 0.1 is left: no _lakeflow_log, no _lakeflow_staging, none of its data files; nothing but Delta files. */
async function expectNoLegacyLeftovers(dirs: Dirs): Promise<void> {
  const files = await listFilesRecursive(dirs.lakehouse);
  expect(files.filter((f) => f.includes('_lakeflow_log') || f.includes('_lakeflow_staging'))).toEqual([]);
  expect(existsSync(path.join(dirs.lakehouse, '_lakeflow_staging'))).toBe(false);
  for (const table of RELEASE_01_TABLES) {
    for (const old of before.get(table)!.everAdded) expect(existsSync(path.join(dirs.lakehouse, table, old)), `${table}/${old}`).toBe(false);
  }
  expect(await strayFiles(dirs.lakehouse)).toEqual([]);
}

async function expectEqualsClean(dirs: Dirs): Promise<void> {
  for (const table of RELEASE_01_TABLES) {
    expect(await tableRows(dirs.lakehouse, table), table).toEqual(cleanRows.get(table));
    expect(await committedCursor(dirs.lakehouse, table), `${table} cursor`).toEqual(cleanCursors.get(table));
  }
}

/**
 * Incremental tables read only what release 0.1 had not read (its cursor's offset onwards); tables an earlier
 * (killed) run of this version already caught up (`caughtUp`) read nothing.
 */
function expectReadNothingTwice(report: RunReport, caughtUp: ReadonlySet<string> = new Set()): void {
  for (const [table, total] of Object.entries(TOTALS)) {
    const t = report.tables.find((r) => r.table === table)!;
    const offset = (before.get(table)!.cursor as { offset: number }).offset;
    expect(t.rowsRead, table).toBe(caughtUp.has(table) ? 0 : total - offset);
  }
}

describe('converting release 0.1 tables to Delta Lake', () => {
  it('the fixture is what release 0.1 left: a cursor per table and a committed but unpublished events version', async () => {
    expect((before.get('events')!.cursor as { offset: number }).offset).toBe(120);
    expect((before.get('logs')!.cursor as { offset: number }).offset).toBe(60);
    expect(before.get('events')!.files.some((f) => f.includes('_lakeflow_staging'))).toBe(true);
    for (const table of RELEASE_01_TABLES) expect(before.get(table)!.rows_.length, table).toBe(before.get(table)!.rows);
  });

  it('a first run of this version converts every table (version 0), reads nothing twice and equals a clean run', async () => {
    const dirs = await freshCopy();
    const report = await runFixture(dirs, { dataset: RELEASE_01_SECOND });
    expect(report.status).toBe('ok');
    for (const t of report.tables) expect(t.warnings.join(' '), t.table).toContain('converted the table of an earlier release');
    expectReadNothingTwice(report);
    await expectConvertedAsVersion0(dirs);
    await expectEqualsClean(dirs);
    await expectNoLegacyLeftovers(dirs);
    // Converted once: the next run finds Delta tables, converts nothing and reads nothing new.
    const again = await runFixture(dirs, { dataset: RELEASE_01_SECOND });
    for (const t of again.tables) expect(t.warnings.join(' '), t.table).not.toContain('converted');
    for (const table of Object.keys(TOTALS)) expect(again.tables.find((t) => t.table === table)!.rowsRead, table).toBe(0);
    await expectEqualsClean(dirs);
  });

  it('migrate converts without calling the source; the next run reads nothing twice', async () => {
    const dirs = await freshCopy();
    const source = createMemorySource({ dataset: makeDataset(RELEASE_01_SECOND) });
    const migrated = await runPipeline({
      spec: parsePipelineSpec(JSON.stringify(FIXTURE_SPEC), 'fixture_spec.json'),
      source,
      lakehouse: dirs.lakehouse,
      stateDir: dirs.state,
      env: {},
      logger: captureLogger(),
      faults: noFaults,
      convertOnly: true,
      maxWaitMs: 0,
    });
    expect(migrated.status).toBe('ok');
    expect(source.calls).toEqual({});
    for (const table of RELEASE_01_TABLES) {
      const t = migrated.tables.find((r) => r.table === table)!;
      expect(t.rowsRead, table).toBe(0);
      expect(t.rowsWritten, table).toBe(before.get(table)!.rows);
      expect((await logCommits(dirs.lakehouse, table)).length, `${table}: one commit`).toBe(1);
    }
    await expectConvertedAsVersion0(dirs);
    await expectNoLegacyLeftovers(dirs);
    const report = await runFixture(dirs, { dataset: RELEASE_01_SECOND });
    expectReadNothingTwice(report);
    await expectEqualsClean(dirs);
  });

  it('an old table with a column the plan no longer has is refused (its values would be dropped) and left as it was', async () => {
    const dirs = await freshCopy();
    const record = path.join(dirs.lakehouse, 'items', '_lakeflow_log', '00000000000000000002.json');
    const old = JSON.parse(await readFile(record, 'utf8')) as { schema: string[] };
    await writeFile(record, JSON.stringify({ ...old, schema: [...old.schema, 'ghost:Utf8?'] }));
    const report = await runFixture(dirs, { dataset: RELEASE_01_SECOND });
    const items = report.tables.find((t) => t.table === 'items')!;
    expect(items.error).toMatchObject({ code: 'LEGACY_SCHEMA_CHANGED', kind: 'config' });
    expect(items.error?.message).toContain('ghost');
    expect(existsSync(path.join(dirs.lakehouse, 'items', '_delta_log'))).toBe(false);
    expect(await oldRows(dirs.lakehouse, 'items')).toEqual(before.get('items')!.rows_);
    expect(report.tables.filter((t) => t.status !== 'ok').map((t) => t.table)).toEqual(['items']);
  });

  it('conversion is not a run: a table with `every` is still read by the run that converts it, and after migrate', async () => {
    const spec = { ...FIXTURE_SPEC, objects: FIXTURE_SPEC.objects.map((o) => ({ table: { ...o.table, table_configuration: { ...('table_configuration' in o.table ? o.table.table_configuration : {}), every: '1h' } } })) };
    const dirs = await freshCopy();
    const report = await runFixture(dirs, { dataset: RELEASE_01_SECOND, spec });
    expect(report.tables.map((t) => [t.table, t.status])).toEqual(RELEASE_01_TABLES.map((t) => [t, 'ok']));
    expectReadNothingTwice(report);
    await expectEqualsClean(dirs);
    // Within the hour the tables are not due any more: the run above counts, the conversion did not.
    const again = await runFixture(dirs, { dataset: RELEASE_01_SECOND, spec });
    expect(again.tables.map((t) => t.status)).toEqual(RELEASE_01_TABLES.map(() => 'not-due'));

    const migrated = await freshCopy();
    const source = createMemorySource({ dataset: makeDataset(RELEASE_01_SECOND) });
    const m = await runPipeline({ spec: parsePipelineSpec(JSON.stringify(spec), 'fixture_spec.json'), source, lakehouse: migrated.lakehouse, stateDir: migrated.state, env: {}, logger: captureLogger(), faults: noFaults, convertOnly: true, maxWaitMs: 0 });
    expect(m.status).toBe('ok');
    const after = await runFixture(migrated, { dataset: RELEASE_01_SECOND, spec });
    expect(after.tables.map((t) => t.status)).toEqual(RELEASE_01_TABLES.map(() => 'ok'));
    expectReadNothingTwice(after);
    await expectEqualsClean(migrated);
  });

  it('two runs with different --state folders started at once convert each table once; the other goes on with its table', async () => {
    const dirs = await freshCopy();
    const other = { ...dirs, state: path.join(dirs.root, 'state-b') };
    const loggers = [captureLogger(), captureLogger()];
    const reports = await Promise.all([runFixture(dirs, { dataset: RELEASE_01_SECOND, logger: loggers[0]! }), runFixture(other, { dataset: RELEASE_01_SECOND, logger: loggers[1]! })]);
    for (const r of reports) for (const t of r.tables) expect(['ok', 'deferred'], `${t.table}: ${t.error?.message ?? ''}`).toContain(t.status);
    // Both converted at the same time (in this process they always overlap): the losers took the winners' tables.
    const tookOver = loggers.flatMap((l) => l.lines.filter((x) => x.msg.startsWith('another run converted this table')));
    expect(tookOver.length).toBeGreaterThanOrEqual(1);
    for (const table of RELEASE_01_TABLES) {
      const commits = await logCommits(dirs.lakehouse, table);
      expect(commits.filter((c) => c.operation === 'CONVERT').map((c) => c.version), table).toEqual([0]);
      expect(await unreferencedDataFiles(dirs.lakehouse, table), `${table}: the losers' files are gone`).toEqual([]);
    }
    await expectConvertedAsVersion0(dirs);
    await expectEqualsClean(dirs);
    await expectNoLegacyLeftovers(dirs);
  });

  it.each(['convert-written:3', 'converted:3'])('SIGKILL during conversion (%s), then a run: the same tables as a clean run', async (point) => {
    const dirs = await freshCopy();
    const killed = await runChild(dirs, point);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const [kind, n] = point.split(':') as [string, string];
    const table = RELEASE_01_TABLES[Number(n) - 1]!;
    // Before its commit the table is still release 0.1's (no Delta log); after it, Delta version 0 plus the old leftovers.
    expect(existsSync(path.join(dirs.lakehouse, table, '_delta_log', '00000000000000000000.json')), table).toBe(kind === 'converted');
    expect(existsSync(path.join(dirs.lakehouse, table, '_lakeflow_log')), table).toBe(true);
    const report = await runFixture(dirs, { dataset: RELEASE_01_SECOND });
    expect(report.status).toBe('ok');
    // The killed run had converted and caught up the tables before the one it was converting.
    expectReadNothingTwice(report, new Set(RELEASE_01_TABLES.slice(0, Number(n) - 1)));
    await expectConvertedAsVersion0(dirs);
    await expectEqualsClean(dirs);
    await expectNoLegacyLeftovers(dirs);
  });
});

function runChild(dirs: Dirs, crashAt: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FIXTURE_DATASET: JSON.stringify(RELEASE_01_SECOND), LAKEFLOW_TEST_CRASH_AT: crashAt };
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dirs.lakehouse, dirs.state], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}
