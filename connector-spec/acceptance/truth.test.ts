/**
 * The ground-truth checks' own rules, on the correct fixture with altered options: what `expected` must return,
 * how keys compare (a number and a bigint are one key), both directions of a mismatch, and the addData check
 * with and without `expected`. The mutants (mutants.test.ts) prove each check catches its bug.
 */
import { describe, expect, it } from 'vitest';
import { FixtureStore } from './mutants/store.js';
import { fixtureOptions } from './mutants/fixture.js';
import { runAcceptance } from './run.js';
import type { AcceptanceOptions, Verdict } from './types.js';
import type { FixtureConfig } from './mutants/fixture.js';

const TRUTH = 'customers > a full read returns exactly the keys upstream holds';
const ADDED = 'customers > after addData the added keys appear';
const RUN = { snapshotDir: '/nonexistent-snapshots', snapshotMode: { update: false, ci: true } } as const;

async function verdict(options: AcceptanceOptions<FixtureConfig>, id: string): Promise<Verdict | undefined> {
  return (await runAcceptance(options, { ...RUN, only: [id] })).get(id);
}

function message(v: Verdict | undefined): string {
  return v?.status === 'fail' ? v.error.message : `not a failure: ${JSON.stringify(v)}`;
}

describe('a full read returns exactly the keys upstream holds', () => {
  it('passes with integer keys given as numbers (the read has bigints)', async () => {
    expect.hasAssertions();
    const store = FixtureStore.seeded();
    const options = { ...fixtureOptions(store), expected: () => store.customers.map((c) => ({ id: Number(c.id), name: 'ignored' })) };
    expect(await verdict(options, TRUTH)).toEqual({ status: 'pass' });
  });

  it('fails on a key upstream holds that the read lacks, and on a key the read has that upstream does not', async () => {
    expect.hasAssertions();
    const store = FixtureStore.seeded();
    const truth = (): { id: bigint }[] => [...store.customers.slice(1).map((c) => ({ id: c.id })), { id: 999n }];
    expect(message(await verdict({ ...fixtureOptions(store), expected: truth }, TRUTH))).toBe(
      'customers: a full read differs from the keys upstream holds (expected): missing 1 of the 5 keys upstream holds: ["999n"]; read 1 key upstream does not hold: ["100n"]',
    );
  });

  it('does not apply without expected; refuses an empty truth and a key without its columns', async () => {
    expect.hasAssertions();
    const { expected: _unused, ...without } = fixtureOptions();
    expect(await verdict(without, TRUTH)).toEqual({ status: 'n/a', reason: expect.stringMatching(/^no expected option/) });
    expect(message(await verdict({ ...fixtureOptions(), expected: () => [] }, TRUTH))).toMatch(/expected\(table\) returned no keys/);
    expect(message(await verdict({ ...fixtureOptions(), expected: () => [{ id: 100n }, { ident: 101n }] }, TRUTH))).toMatch(/expected\(table\) key 1 has no id; return every primary-key column \(id\)/);
  });
});

describe('after addData the added keys appear', () => {
  it('with expected: passes when the read gains exactly what upstream gained; fails when addData adds nothing', async () => {
    expect.hasAssertions();
    expect(await verdict(fixtureOptions(), ADDED)).toEqual({ status: 'pass' });
    const options = { ...fixtureOptions(), addData: async () => undefined };
    expect(message(await verdict(options, ADDED))).toMatch(/expected\(table\) is the same before and after addData/);
  });

  it('without expected: the read must gain a key (a stale snapshot fails, a correct one passes)', async () => {
    expect.hasAssertions();
    const { expected: _a, ...correct } = fixtureOptions();
    expect(await verdict(correct, ADDED)).toEqual({ status: 'pass' });
    const { expected: _b, ...stale } = fixtureOptions(FixtureStore.seeded(), undefined, { staleSnapshot: true });
    expect(message(await verdict(stale, ADDED))).toMatch(/after addData a fresh full read has no key the read before it lacked/);
  });

  it('fails without addData, naming the skip to use', async () => {
    expect.hasAssertions();
    const { addData: _unused, ...without } = fixtureOptions();
    expect(message(await verdict(without, ADDED))).toMatch(/no addData option: .*skip "customers > after addData the added keys appear" with a reason/);
  });
});
