/**
 * The suite proves each of its checks can fail (style R9): every check runs against the correct fixture
 * (all pass, or do not apply) and against every mutant, and the WHOLE verdict vector must match: the mutant's
 * declared failures fail, everything else keeps the fixture's verdict.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLE_CHECKS } from './checks/index.js';
import { FixtureStore } from './mutants/store.js';
import { fixtureOptions } from './mutants/fixture.js';
import { MUTANTS, mutantOptions } from './mutants/index.js';
import { runAcceptance } from './run.js';
import type { Verdict } from './types.js';

// The fixture declares no keyDerivedFrom: its check applies only to the mutants that do (and to Mixpanel's events).
const NOT_APPLICABLE = [
  'orders > rows of one key agree on keyDerivedFrom',
  'orders > after addData the added keys appear',
  'customers > no batches with an unchanged cursor',
  'customers > resumes from every cursor without loss or repeats',
  'customers > a future cursor yields nothing',
  'customers > no loss across triggers',
  'customers > rows of one key agree on keyDerivedFrom',
  'clicks > primary keys are non-null',
  'clicks > primary keys are unique',
  'clicks > a full read returns exactly the keys upstream holds',
  'clicks > rows of one key agree on keyDerivedFrom',
  'clicks > after addData the added keys appear',
];

let snapshotDir: string;

function statuses(verdicts: Map<string, Verdict>): Record<string, string> {
  return Object.fromEntries([...verdicts].map(([id, v]) => [id, v.status]));
}

beforeAll(async () => {
  snapshotDir = await mkdtemp(join(tmpdir(), 'acceptance-snapshots-'));
  // The correct fixture writes the snapshots the mutants are compared with.
  await runAcceptance(fixtureOptions(), { snapshotDir, snapshotMode: { update: false, ci: false } });
});

afterAll(async () => {
  await rm(snapshotDir, { recursive: true, force: true });
});

describe('the correct fixture', () => {
  it('passes every check, and only the documented ones do not apply', async () => {
    expect.hasAssertions();
    const verdicts = await runAcceptance(fixtureOptions(), { snapshotDir, snapshotMode: { update: false, ci: true } });
    const failures = [...verdicts].filter(([, v]) => v.status === 'fail').map(([id, v]) => `${id}: ${v.status === 'fail' ? v.error.message : ''}`);
    expect(failures).toEqual([]);
    expect([...verdicts].filter(([, v]) => v.status === 'n/a').map(([id]) => id)).toEqual(NOT_APPLICABLE);
    expect(verdicts.size).toBe(2 + 3 * TABLE_CHECKS.length);
  });
});

describe('every check has a mutant that fails it', () => {
  it('covers every check id', () => {
    const covered = new Set(MUTANTS.map((m) => m.builtFor));
    const all = ['lists tables', 'unknown table throws a typed error on call', ...TABLE_CHECKS.map((c) => c.id)];
    expect(all.filter((id) => !covered.has(id))).toEqual([]);
  });

  let baseline: Record<string, string>;
  beforeAll(async () => {
    baseline = statuses(await runAcceptance(fixtureOptions(), { snapshotDir, snapshotMode: { update: false, ci: true } }));
  });

  for (const mutant of MUTANTS) {
    it(`${mutant.name} fails exactly: ${mutant.fails.length === 1 ? mutant.fails[0]! : `${mutant.fails.length} tests (${mutant.builtFor}, …)`}`, async () => {
      expect.hasAssertions();
      const store = FixtureStore.seeded();
      const verdicts = await runAcceptance(mutantOptions(mutant, store), { snapshotDir, snapshotMode: { update: false, ci: true } });
      const expected = Object.fromEntries(Object.entries(baseline).map(([id, status]) => [id, mutant.fails.includes(id) ? 'fail' : status]));
      expect(statuses(verdicts)).toEqual(expected);
      const target = mutant.fails.find((id) => id === mutant.builtFor || id.endsWith(` > ${mutant.builtFor}`));
      const verdict = verdicts.get(target ?? '');
      expect(verdict?.status).toBe('fail');
      expect(verdict?.status === 'fail' ? verdict.error.message : '').toMatch(mutant.message);
    });
  }
});
