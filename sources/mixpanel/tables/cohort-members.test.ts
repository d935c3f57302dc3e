import { afterEach, describe, expect, it } from 'vitest';
import { readOnce } from '../profiles/testing-driver.js';
import { queryHarness } from '../profiles/testing-setup.js';
import { cohortMembers } from './cohort-members.js';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

const harness = queryHarness();
afterEach(() => harness.stop());
const setup = (): ReturnType<typeof harness.start> => harness.start(T0);

function memberPairs(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((r) => `${String(r.cohort_id)}:${String(r.distinct_id)}`).sort();
}

describe('cohort_members table', () => {
  it('a member who left disappears and one who joined appears; counts per cohort', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    emu.data.setProfile('a', { $email: 'a@x' });
    emu.data.setProfile('b', { $email: 'b@x' });
    emu.data.addCohort({ id: 21, name: 'C', members: ['a', 'b'] });
    emu.data.addCohort({ id: 22, name: 'Empty', members: [] });
    const c1 = ctx('cohort_members');
    const run1 = await readOnce(cohortMembers, c1, null);
    expect(memberPairs(run1.rows)).toEqual(['21:a', '21:b']);
    expect(c1.stats.counters).toMatchObject({ 'members.21': 2, 'members.22': 0 });

    emu.data.setCohortMembers(21, ['b', 'c']);
    const c2 = ctx('cohort_members', T0 + 1);
    const run2 = await readOnce(cohortMembers, c2, run1.cursor);
    expect(memberPairs(run2.rows)).toEqual(['21:b', '21:c']);
    for (const e of emu.log.forRoute('engage')) {
      expect(e.params.include_all_users).toBe('true');
      expect(e.params.project_id).toBe(String(emu.project.id));
    }
  });

  it('reads all pages of a 100k+ cohort', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    const members = Array.from({ length: 100_001 }, (_, i) => `m${i}`);
    emu.data.addCohort({ id: 31, name: 'Big', members });
    const c = ctx('cohort_members');
    const run = await readOnce(cohortMembers, c, null);
    expect(run.rows.length).toBe(100_001);
    expect(new Set(run.rows.map((r) => r.distinct_id)).size).toBe(100_001);
    expect(run.batches).toBe(Math.ceil(100_001 / 16_384));
    expect(c.stats.counters['members.31']).toBe(100_001);
    expect(emu.log.forRoute('engage').length).toBe(101);
  }, 20_000);

  it('skips a cohort whose data group was deleted, with a warning; the others complete', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    emu.data.addCohort({ id: 41, name: 'Fine', members: ['x'] });
    emu.data.addCohort({ id: 42, name: 'Orphan', dataGroupId: 9, members: ['g1'] });
    emu.data.addCohort({ id: 43, name: 'Also fine', members: ['y', 'z'] });
    emu.data.deleteCohortDataGroup(42);
    const c = ctx('cohort_members');
    const run = await readOnce(cohortMembers, c, null);
    expect(memberPairs(run.rows)).toEqual(['41:x', '43:y', '43:z']);
    expect(c.stats.missing.join('\n')).toMatch(/cohort 42 \(Orphan\) skipped.*Missing Datagroup/);
    expect(c.stats.warnings.join('\n')).not.toMatch(/cohort 42/);
    expect(c.stats.counters['members.42']).toBeUndefined();
    const groupCall = emu.log.forRoute('engage').find((e) => e.params.filter_by_cohort === '{"id":42}');
    expect(groupCall?.params.data_group_id).toBe('9');
  });

  it('include_all_users=false keeps only members with a profile', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    emu.data.setProfile('has', {});
    emu.data.addCohort({ id: 51, name: 'Mixed', members: ['has', 'ghost'] });
    const run = await readOnce(cohortMembers, ctx('cohort_members'), null, { include_all_users: 'false' });
    expect(memberPairs(run.rows)).toEqual(['51:has']);
    expect(emu.log.forRoute('engage')[0]!.params.include_all_users).toBe('false');
  });
});
