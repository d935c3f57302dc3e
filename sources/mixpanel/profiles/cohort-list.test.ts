import { describe, expect, it } from 'vitest';
import { DataError } from '../../../connector-spec/index.js';
import { parseJsonLossless } from '../json.js';
import { cohortsBatch, parseCohortList } from './cohort-list.js';

const BODY = `[{"count": 150, "is_visible": 1, "description": "d", "created": "2019-03-19 23:49:51", "project_id": 1, "id": 1000, "name": "One"},
 {"count": 0, "is_visible": 0, "description": "", "created": "2020-01-01 00:00:00", "project_id": 1, "id": 7, "name": "Group", "data_group_id": -1405123841946871899}]`;

describe('cohorts/list', () => {
  it('types every field; 19-digit data group ids stay exact; sorted by id', () => {
    const { cohorts, unknownFields } = parseCohortList(parseJsonLossless(BODY), 'cohorts');
    expect(unknownFields).toEqual([]);
    const batch = cohortsBatch(cohorts);
    const rows = batch.toArray().map((r) => r.toJSON());
    expect(rows).toEqual([
      { id: 7n, name: 'Group', description: '', count: 0n, is_visible: false, created: Date.UTC(2020, 0, 1), created_raw: '2020-01-01 00:00:00', project_id: 1n, data_group_id: '-1405123841946871899' },
      { id: 1000n, name: 'One', description: 'd', count: 150n, is_visible: true, created: Date.UTC(2019, 2, 19, 23, 49, 51), created_raw: '2019-03-19 23:49:51', project_id: 1n, data_group_id: null },
    ]);
  });

  it('accepts the {"cohorts": [...]} wrapper and reports unknown fields', () => {
    const { cohorts, unknownFields } = parseCohortList({ cohorts: [{ id: 1, name: 'x', extra: true }] }, 'cohorts');
    expect(cohorts.map((c) => c.id)).toEqual([1n]);
    expect(unknownFields).toEqual(['extra']);
  });

  it('rejects bodies that are not a cohort list', () => {
    expect(() => parseCohortList({ error: 'x' }, 'cohorts')).toThrow(DataError);
    expect(() => parseCohortList([{ name: 'no id' }], 'cohorts')).toThrow(/integer id/);
  });
});
