/**
 * Issue 18's finding, replayed on the real Mixpanel source: a `cohort_members` that returns only the first member
 * of each cohort passed every check that compares the source with itself. With the emulator's ground truth
 * (`expected`), the suite now fails it, while the correct source passes the same checks.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LakeflowSource } from '../../connector-spec/index.js';
import { forTable, mapCall, planTests, rebuildBatch, runAcceptance, type AcceptanceOptions, type Verdict } from '../../connector-spec/acceptance/index.js';
import { NO_RATE_LIMITS, startEmulator } from '../../emulator/index.js';
import { createMixpanelSource } from './index.js';
import type { MixpanelConfig } from './config-types.js';
import { emulatorConfig, FAST_LIMITS } from './testing/emulator-source.js';
import { emulatorTruth } from './testing/emulator-truth.js';

const HOUR = 3_600_000;
let clock = Date.UTC(2026, 10, 20, 12, 0, 0);
const now = (): number => clock;
const emulator = await startEmulator({ now, seed: 8, profiles: 12, cohorts: 3, limits: NO_RATE_LIMITS });
afterAll(async () => {
  await emulator.close();
});

const TABLE = 'cohort_members';
const TRUTH = `${TABLE} > a full read returns exactly the keys upstream holds`;
const ADDED = `${TABLE} > after addData the added keys appear`;
const SNAPSHOTS = join(import.meta.dirname, '__schema_snapshots__');

/** The mutant: every cohort_members read keeps only the first member of each cohort. */
function firstMemberOnly(source: LakeflowSource): LakeflowSource {
  return forTable(source, TABLE, (cursor, options) => {
    const seen = new Set<unknown>();
    return mapCall(source.readTable(TABLE, cursor, options), (batch) => {
      const kept = rebuildBatch(batch, batch.schema, (rows) =>
        rows.filter((row) => {
          if (seen.has(row.cohort_id)) return false;
          seen.add(row.cohort_id);
          return true;
        }),
      );
      return kept.numRows > 0 ? [kept] : [];
    });
  });
}

function options(wrap: (s: LakeflowSource) => LakeflowSource): AcceptanceOptions<MixpanelConfig> {
  return {
    name: 'mixpanel',
    tables: [TABLE],
    config: emulatorConfig(emulator, { historicalDays: 6 }),
    createSource: (config, env) => wrap(createMixpanelSource(config, { now, logger: env.logger, limits: FAST_LIMITS })),
    secrets: [emulator.project.serviceAccount.secret, emulator.project.apiSecret],
    addData: async () => {
      emulator.data.addCohort({ name: `Added ${clock}`, members: emulator.data.listProfiles().slice(0, 2).map((p) => p.distinctId) });
      clock += HOUR;
    },
    expected: emulatorTruth({ data: emulator.data, now, historicalDays: 6 }),
  };
}

const run = (wrap: (s: LakeflowSource) => LakeflowSource): Promise<Map<string, Verdict>> =>
  runAcceptance(options(wrap), { snapshotDir: SNAPSHOTS, snapshotMode: { update: false, ci: true }, only: planTests([TABLE]).filter((t) => t.table === TABLE).map((t) => t.id) });

const failed = (verdicts: Map<string, Verdict>): string[] => [...verdicts].filter(([, v]) => v.status === 'fail').map(([id]) => id);

describe('cohort_members that keeps only the first member of each cohort (issue 18)', () => {
  it('some cohort has several members, and the correct source passes every cohort_members check', async () => {
    expect.hasAssertions();
    expect(emulator.data.listCohorts().filter((c) => emulator.data.getCohortMembers(c.id).length > 1).length).toBeGreaterThan(0);
    const verdicts = await run((s) => s);
    expect(failed(verdicts)).toEqual([]);
    expect(verdicts.get(TRUTH)).toEqual({ status: 'pass' });
    expect(verdicts.get(ADDED)).toEqual({ status: 'pass' });
  });

  it('passes every check that compares the source with itself, and fails the two that know the truth', async () => {
    expect.hasAssertions();
    const verdicts = await run(firstMemberOnly);
    expect(failed(verdicts)).toEqual([TRUTH, ADDED]);
    const truth = verdicts.get(TRUTH);
    expect(truth?.status === 'fail' ? truth.error.message : '').toMatch(/^cohort_members: a full read differs from the keys upstream holds \(expected\): missing \d+ of the \d+ keys upstream holds: \[/);
  });
});
