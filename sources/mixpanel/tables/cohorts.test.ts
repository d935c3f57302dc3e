import { afterEach, describe, expect, it } from 'vitest';
import { cursorsEqual } from '../../../connector-spec/index.js';
import { readOnce } from '../profiles/testing-driver.js';
import { queryHarness } from '../profiles/testing-setup.js';
import { cohorts } from './cohorts.js';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

const harness = queryHarness();
afterEach(() => harness.stop());
const setup = (): ReturnType<typeof harness.start> => harness.start(T0);

describe('cohorts table', () => {
  it('types every field, sends project_id, and an unchanged cohort is an unchanged row', async () => {
    expect.hasAssertions();
    const { emu, ctx } = await setup();
    emu.data.addCohort({ id: 11, name: 'Buyers', description: 'bought twice', created: '2025-03-19 23:49:51', members: ['a', 'b'] });
    emu.data.addCohort({ id: 12, name: 'Hidden', isVisible: false, created: '2025-04-01 00:00:00', dataGroupId: 5, members: [] });
    const first = await readOnce(cohorts, ctx('cohorts'), null);
    expect(first.rows).toEqual([
      { id: 11n, name: 'Buyers', description: 'bought twice', count: 2n, is_visible: true, created: Date.UTC(2025, 2, 19, 23, 49, 51), created_raw: '2025-03-19 23:49:51', project_id: BigInt(emu.project.id), data_group_id: null },
      { id: 12n, name: 'Hidden', description: '', count: 0n, is_visible: false, created: Date.UTC(2025, 3, 1), created_raw: '2025-04-01 00:00:00', project_id: BigInt(emu.project.id), data_group_id: '5' },
    ]);
    expect(emu.log.forRoute('cohorts').map((e) => e.params.project_id)).toEqual([String(emu.project.id)]);
    const second = await readOnce(cohorts, ctx('cohorts', T0 + 1), first.cursor);
    expect(second.rows).toEqual(first.rows);
    // Same run: converged, no second read.
    const again = await readOnce(cohorts, ctx('cohorts', T0 + 1), second.cursor);
    expect(again.batches).toBe(0);
    expect(cursorsEqual(again.cursor, second.cursor)).toBe(true);
  });
});
