/** The suite's own options: every skip needs a reason and must name a test; snapshot modes; env parsing. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotPath } from './checks/snapshot.js';
import { snapshotModeFromEnv } from './index.js';
import { fixtureOptions } from './mutants/fixture.js';
import { optionProblems, planTests } from './plan.js';
import { runAcceptance } from './run.js';

const tests = planTests(['orders', 'customers', 'clicks']);

describe('skip validation', () => {
  it('accepts skips with reasons that name tests, including "* > check"', () => {
    const options = { ...fixtureOptions(), skip: [{ test: 'orders > reads terminate', reason: 'r' }, { test: '* > no secret leaks', reason: 'no credentials' }] };
    expect(optionProblems(options, tests)).toEqual([]);
  });

  it('rejects a skip without a reason', () => {
    const options = { ...fixtureOptions(), skip: [{ test: 'orders > reads terminate', reason: '  ' }] };
    expect(optionProblems(options, tests)).toEqual(['skip "orders > reads terminate" has no reason: every skip must say why the check does not apply']);
  });

  it('rejects a skip that names no test (a typo would silently skip nothing)', () => {
    const options = { ...fixtureOptions(), skip: [{ test: 'orders > reads terminates', reason: 'typo' }] };
    expect(optionProblems(options, tests)[0]).toMatch(/^skip "orders > reads terminates" matches no test/);
  });

  it('runAcceptance refuses invalid options, and records skips with their reason', async () => {
    expect.hasAssertions();
    const dir = '/nonexistent-snapshots';
    await expect(runAcceptance({ ...fixtureOptions(), skip: [{ test: 'lists tables', reason: '' }] }, { snapshotDir: dir, snapshotMode: { update: false, ci: true }, only: ['lists tables'] })).rejects.toThrow(/has no reason/);
    const verdicts = await runAcceptance({ ...fixtureOptions(), skip: [{ test: 'lists tables', reason: 'demo' }] }, { snapshotDir: dir, snapshotMode: { update: false, ci: true }, only: ['lists tables'] });
    expect(verdicts.get('lists tables')).toEqual({ status: 'skip', reason: 'demo' });
  });
});

describe('schema snapshots', () => {
  const id = 'orders > schema matches the committed snapshot';
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acceptance-snap-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const run = async (update: boolean, ci: boolean) =>
    (await runAcceptance(fixtureOptions(), { snapshotDir: dir, snapshotMode: { update, ci }, only: [id] })).get(id);

  it('a missing snapshot fails in CI with the command that creates it', async () => {
    expect.hasAssertions();
    const verdict = await run(false, true);
    expect(verdict?.status === 'fail' ? verdict.error.message : '').toMatch(/no committed schema snapshot .*fixture\.orders\.json\. Run the test once with UPDATE_SCHEMA_SNAPSHOTS=1/);
  });

  it('a missing snapshot is written outside CI, then matches', async () => {
    expect.hasAssertions();
    expect(await run(false, false)).toEqual({ status: 'pass' });
    const written = JSON.parse(await readFile(snapshotPath(dir, 'fixture', 'orders'), 'utf8')) as { fields: { name: string }[]; metadata: Record<string, string> };
    expect(written.fields.map((f) => f.name)).toEqual(['id', 'updated_at', 'amount', 'note', 'tags']);
    expect(written.metadata['lakeflow.primary_keys']).toBe('["id"]');
    expect(await run(false, true)).toEqual({ status: 'pass' });
  });

  it('a different snapshot fails with a field diff, and UPDATE_SCHEMA_SNAPSHOTS rewrites it', async () => {
    expect.hasAssertions();
    await run(false, false);
    const path = snapshotPath(dir, 'fixture', 'orders');
    const snapshot = JSON.parse(await readFile(path, 'utf8')) as { fields: { name: string; type: string }[] };
    snapshot.fields[2]!.type = 'Int64';
    await writeFile(path, JSON.stringify(snapshot));
    const verdict = await run(false, true);
    expect(verdict?.status === 'fail' ? verdict.error.message : '').toMatch(/amount: type Int64 → Float64.*UPDATE_SCHEMA_SNAPSHOTS=1/);
    expect(await run(true, true)).toEqual({ status: 'pass' });
    expect(await run(false, true)).toEqual({ status: 'pass' });
  });

  it('reads the mode from the environment', () => {
    expect(snapshotModeFromEnv({})).toEqual({ update: false, ci: false });
    expect(snapshotModeFromEnv({ CI: 'true', UPDATE_SCHEMA_SNAPSHOTS: '1' })).toEqual({ update: true, ci: true });
    expect(snapshotModeFromEnv({ CI: 'false', UPDATE_SCHEMA_SNAPSHOTS: '0' })).toEqual({ update: false, ci: false });
  });
});
