/**
 * Two writer processes race on the same version every round (a barrier releases both commits at once).
 * Exactly one wins each version. With different appIds the loser retries at the next version; with the same
 * appId (two runs of one connection) the loser gets CommitConflictError('txn'), re-plans and goes on. No action
 * is lost or doubled: the log (read by DuckDB) holds exactly the files the processes reported as committed.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lakehouseOnStore } from '../index.js';
import { startChild, type Child } from '../testing/child.js';
import { duckDeltaTable } from '../testing/duckdb-delta.js';
import { EVENTS_METADATA, fakeAdd, request, tempStore, type TempStore } from '../testing/tables.js';

let temp: TempStore;
beforeEach(async () => {
  temp = await tempStore('lakehouse-race-');
  await lakehouseOnStore(temp.store).table('events').commit(request(-1, { add: [fakeAdd('base')], metadata: EVENTS_METADATA }));
});
afterEach(async () => {
  await temp.remove();
});

const ROUNDS = 4;

async function raceRounds(a: Child, b: Child): Promise<Record<string, unknown>[]> {
  const outcomes: Record<string, unknown>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    a.send('plan');
    b.send('plan');
    await Promise.all([a.next((l) => l['ready'] === round), b.next((l) => l['ready'] === round)]);
    a.send('go');
    b.send('go');
    outcomes.push(...(await Promise.all([a.next((l) => l['round'] === round), b.next((l) => l['round'] === round)])));
  }
  a.process.stdin?.end();
  b.process.stdin?.end();
  const exits = await Promise.all([a.exited, b.exited]);
  for (const exit of exits) expect(exit.code, exit.stderr).toBe(0);
  return outcomes;
}

describe('two writer processes on one table', () => {
  it('different applications: one wins each version, the other retries at the next; nothing lost or doubled', async () => {
    const outcomes = await raceRounds(startChild(['race', temp.dir, 'conn-a/events', String(ROUNDS)]), startChild(['race', temp.dir, 'conn-b/events', String(ROUNDS)]));
    expect(outcomes.every((o) => o['ok'] === true)).toBe(true);
    // Every round both planned on the same version: one got it, the other lost exactly one race.
    for (let round = 0; round < ROUNDS; round++) {
      const pair = outcomes.filter((o) => o['round'] === round);
      expect(pair.map((o) => o['racesLost']).sort()).toEqual([0, 1]);
    }
    const versions = outcomes.map((o) => o['version'] as number).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 2 * ROUNDS }, (_, i) => i + 1));
    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    const committed = outcomes.map((o) => `event_date=2026-11-20/${String(o['file'])}`);
    expect(duck.files.map((f) => f.path).sort()).toEqual([...committed, 'event_date=2026-11-20/base'].sort());
    expect(Object.fromEntries(duck.txns)).toEqual({ 'conn-a/events': ROUNDS - 1, 'conn-b/events': ROUNDS - 1 });
  });

  it('the same application (two runs of one connection): the loser of each race stops with a txn conflict and re-plans', async () => {
    const outcomes = await raceRounds(startChild(['race', temp.dir, 'conn/events', String(ROUNDS)]), startChild(['race', temp.dir, 'conn/events', String(ROUNDS)]));
    for (let round = 0; round < ROUNDS; round++) {
      const pair = outcomes.filter((o) => o['round'] === round);
      expect(pair.filter((o) => o['ok'] === true)).toHaveLength(1);
      expect(pair.find((o) => o['ok'] === false)?.['reason']).toBe('txn');
      // Both planned the same txn version; it was committed once.
      expect(pair[0]?.['txnVersion']).toBe(round);
      expect(pair[1]?.['txnVersion']).toBe(round);
    }
    const winners = outcomes.filter((o) => o['ok'] === true);
    const duck = await duckDeltaTable(path.join(temp.dir, 'events'));
    expect(duck.version).toBe(ROUNDS);
    expect(duck.files.map((f) => f.path).sort()).toEqual([...winners.map((o) => `event_date=2026-11-20/${String(o['file'])}`), 'event_date=2026-11-20/base'].sort());
    expect(duck.txns.get('conn/events')).toBe(ROUNDS - 1);
    const snapshot = await lakehouseOnStore(temp.store).table('events').snapshot();
    expect((await snapshot?.appCommit('conn/events'))?.info).toEqual({ cursor: ROUNDS - 1 });
  });
});
