/**
 * The same pipeline into `s3://` (s3rver on loopback, put-if-absent enforced by the test proxy) and `az://`
 * (Azurite) gives the same tables as into a local folder: every object is downloaded and the Delta log replayed by
 * DuckDB, row for row. A second run with nothing new reads nothing and commits nothing; a run with more data reads
 * only what is new and still equals a clean local run. Credentials come from the server handles' env.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, startS3rver, type AzuriteHandle, type S3rverHandle } from '../lakehouse/testing/servers.js';
import { parsePipelineSpec, runPipeline, type RunReport } from '../runner/index.js';
import { committedCursor, liveFiles, tableRows } from '../runner/testing/duckdb.js';
import { openStore } from '../lakehouse/index.js';
import { logCommits, txnProblems } from '../runner/testing/delta-log.js';
import { captureLogger, runFixture, strayFiles, tempDirs, type Dirs } from '../runner/testing/harness.js';
import { FIXTURE_SPEC, createMemorySource, makeDataset, type DatasetOptions } from '../runner/testing/memory-source.js';
import { downloadLakehouse } from '../runner/testing/remote-lakehouse.js';
import { FirstCallBarrier, meetingSource } from '../runner/testing/meeting-source.js';

// The SDK warns once per process that releases after January 2027 need Node 22; not news for these tests.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const TABLES = ['items', 'items_history', 'events', 'logs', 'members'];
const FIRST: DatasetOptions = { itemChanges: 150, itemKeys: 50, events: 120, logs: 100, members: 30, generation: 0 };
const MORE: DatasetOptions = { itemChanges: 210, itemKeys: 50, events: 170, logs: 140, members: 30, generation: 1 };
/** Rows per incremental table (the memory source's offset cursor counts them). */
const ROWS = (d: DatasetOptions): Record<string, number> => ({ items: d.itemChanges!, items_history: d.itemChanges!, events: d.events!, logs: d.logs! });

let s3: S3rverHandle;
let azurite: AzuriteHandle;
let work: Dirs;
const clean = new Map<DatasetOptions, { rows: Map<string, string[]>; cursors: Map<string, unknown> }>();

beforeAll(async () => {
  [s3, azurite, work] = await Promise.all([startS3rver({ enforceIfNoneMatch: true }), startAzurite(), tempDirs('lakeflow-stores-')]);
  for (const dataset of [FIRST, MORE]) {
    const local = await tempDirs('lakeflow-stores-local-');
    try {
      await runFixture(local, { dataset });
      const rows = new Map<string, string[]>();
      const cursors = new Map<string, unknown>();
      for (const table of TABLES) {
        rows.set(table, await tableRows(local.lakehouse, table));
        cursors.set(table, await committedCursor(local.lakehouse, table));
      }
      clean.set(dataset, { rows, cursors });
    } finally {
      await local.cleanup();
    }
  }
});

afterAll(async () => {
  await Promise.all([s3?.close(), azurite?.close()]);
  await work?.cleanup();
});

function runAt(location: string, env: Readonly<Record<string, string>>, dataset: DatasetOptions, state: string, barrier?: FirstCallBarrier, repair?: readonly string[]): Promise<RunReport> {
  return runPipeline({
    ...(repair ? { repair } : {}),
    spec: parsePipelineSpec(JSON.stringify(FIXTURE_SPEC), 'fixture_spec.json'),
    source: barrier ? meetingSource(dataset, barrier) : createMemorySource({ dataset: makeDataset(dataset) }),
    lakehouse: location,
    stateDir: state,
    env,
    logger: captureLogger(),
    retry: { attempts: 3, baseDelayMs: 1 },
    maxWaitMs: 0,
  });
}

async function expectSameAsLocal(location: string, env: Readonly<Record<string, string>>, dataset: DatasetOptions): Promise<void> {
  const copy = path.join(work.root, `copy-${randomUUID()}`);
  const { objects } = await downloadLakehouse(location, env, copy);
  expect(objects).toBeGreaterThan(TABLES.length);
  const expected = clean.get(dataset)!;
  for (const table of TABLES) {
    expect(await tableRows(copy, table), table).toEqual(expected.rows.get(table));
    expect(await committedCursor(copy, table), `${table} cursor`).toEqual(expected.cursors.get(table));
    expect(txnProblems(await logCommits(copy, table)), table).toEqual([]);
  }
  expect(await strayFiles(copy)).toEqual([]);
}

const STORES = [
  { name: 's3:// (s3rver)', location: () => `s3://${s3.bucket}/lake-${randomUUID()}`, env: () => s3.env },
  { name: 'az:// (Azurite)', location: () => `az://${azurite.container}/lake-${randomUUID()}`, env: () => azurite.env },
];

describe.each(STORES)('the fixture pipeline into $name', (store) => {
  it('gives the tables of a local run; a second run reads nothing twice; more data is read once', async () => {
    const location = store.location();
    const state = path.join(work.root, `state-${randomUUID()}`);
    const first = await runAt(location, store.env(), FIRST, state);
    expect(first.status, JSON.stringify(first.tables.map((t) => [t.table, t.error?.message]))).toBe('ok');
    await expectSameAsLocal(location, store.env(), FIRST);

    const again = await runAt(location, store.env(), FIRST, state);
    expect(again.status).toBe('ok');
    for (const table of Object.keys(ROWS(FIRST))) {
      const t = again.tables.find((r) => r.table === table)!;
      expect([t.rowsRead, t.commits], table).toEqual([0, 0]);
    }

    const more = await runAt(location, store.env(), MORE, state);
    expect(more.status).toBe('ok');
    for (const [table, rows] of Object.entries(ROWS(MORE))) expect(more.tables.find((r) => r.table === table)!.rowsRead, table).toBe(rows - ROWS(FIRST)[table]!);
    await expectSameAsLocal(location, store.env(), MORE);
  });

  it('a data file deleted from the store is found before writing (the run fails that table); repair re-reads it', async () => {
    const location = store.location();
    const state = path.join(work.root, `state-${randomUUID()}`);
    expect((await runAt(location, store.env(), FIRST, state)).status).toBe('ok');
    const copy = path.join(work.root, `copy-${randomUUID()}`);
    await downloadLakehouse(location, store.env(), copy);
    const victim = (await liveFiles(copy, 'items'))[0]!.path;
    const objects = await openStore(location, { env: store.env() });
    try {
      await objects.delete(`items/${victim}`);
    } finally {
      await objects.close();
    }
    const failed = await runAt(location, store.env(), FIRST, state);
    const items = failed.tables.find((t) => t.table === 'items')!;
    expect([items.status, items.error?.code, items.commits]).toEqual(['failed', 'RUNNER_FILES_LOST', 0]);
    expect(items.error?.message).toContain(victim);
    const repaired = await runAt(location, store.env(), FIRST, state, undefined, ['items']);
    expect(repaired.status).toBe('ok');
    await expectSameAsLocal(location, store.env(), FIRST);
  });

  it('two writers started at once (different --state): each race has one winner (put-if-absent on the store); the tables equal a local run', async () => {
    const location = store.location();
    const barrier = new FirstCallBarrier();
    const reports = await Promise.all(['a', 'b'].map((s) => runAt(location, store.env(), FIRST, path.join(work.root, `state-${s}-${randomUUID()}`), barrier)));
    expect(barrier.met).toBe(TABLES.length);
    for (const r of reports) for (const t of r.tables) expect(['ok', 'deferred'], `${t.table}: ${t.error?.message ?? ''}`).toContain(t.status);
    // Every table's first commit raced; the loser of a txn race stops that table (the winner created it: a retry).
    expect(reports.flatMap((r) => r.tables).filter((t) => t.status === 'deferred').length).toBeGreaterThanOrEqual(1);
    await expectSameAsLocal(location, store.env(), FIRST);
  });
});
