import { describe, expect, it } from 'vitest';
import type { LiveCell } from '../../../connector-spec/index.js';
import { deletedIdsFromLiveRows } from './live-deletions.js';

function rowsOf(rows: readonly (readonly LiveCell[])[]) {
  const asked: (readonly string[])[] = [];
  const liveRows = async function* (columns: readonly string[]): AsyncGenerator<readonly LiveCell[]> {
    asked.push(columns);
    yield* rows;
  };
  return { liveRows, asked };
}

describe('deletedIdsFromLiveRows', () => {
  it('returns live keys the scan did not see, skipping rows already marked deleted', async () => {
    const { liveRows, asked } = rowsOf([
      ['a', null],
      ['b', null],
      ['c', 1_700_000_000_000],
      ['d', null],
    ]);
    expect(await deletedIdsFromLiveRows(liveRows, ['distinct_id'], [], new Set(['a']))).toEqual(['b', 'd']);
    expect(asked).toEqual([['distinct_id', '_deleted_at']]);
  });

  it('only considers rows of the scanned group key', async () => {
    const { liveRows } = rowsOf([
      ['company', '3928097563762691601', null],
      ['company', '7', null],
      ['team', '8', null],
    ]);
    expect(await deletedIdsFromLiveRows(liveRows, ['group_key', 'group_id'], ['company'], new Set(['7']))).toEqual(['3928097563762691601']);
  });
});
