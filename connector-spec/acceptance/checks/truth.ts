/**
 * Checks against the ground truth, not the source itself (issue 18: a source that always dropped rows of a
 * snapshot table passed every check that only compares a source with itself).
 * - truth: with `expected(table)`, the keys of a full read equal the keys upstream holds (missing and extra keys
 *   both fail).
 * - added keys (snapshot tables): read, `addData`, read again with a new source: the read gains keys. With
 *   `expected`, it gains exactly the keys upstream gained; whatever the read got wrong before addData is the truth
 *   check's verdict, so each check catches its own bug.
 * Keys compare loosely typed: an integer is the same key as a number or a bigint, a Date as its epoch ms.
 */
import type { TableContext } from '../context.js';
import { fail, notApplicable, preview } from '../failures.js';
import { canonicalValue, type Row } from '../values.js';
import type { TableCheck } from './check.js';

function looseValue(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return `${value}n`;
  if (value instanceof Date) return looseValue(value.getTime());
  return canonicalValue(value);
}

/** The text of a key: its primary-key tuple, integers and dates in one form whatever their JS type. */
export function looseKey(row: Row, primaryKeys: readonly string[]): string {
  return JSON.stringify(primaryKeys.map((k) => looseValue(row[k] ?? null)));
}

function keySet(rows: readonly Row[], primaryKeys: readonly string[]): Set<string> {
  return new Set(rows.map((r) => looseKey(r, primaryKeys)));
}

function difference(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  return [...a].filter((k) => !b.has(k));
}

/** `expected(table)` as a key set, each key checked to name every primary-key column. */
async function truthKeys(ctx: TableContext, primaryKeys: readonly string[]): Promise<Set<string>> {
  const expected = ctx.run.options.expected;
  if (expected === undefined) throw new TypeError('truthKeys called without an expected option');
  const keys: unknown = await expected(ctx.name);
  if (!Array.isArray(keys)) fail(`${ctx.name}: expected(table) must return an array of keys ({ ${primaryKeys.join(', ')} }), got ${typeof keys}`);
  const out = new Set<string>();
  keys.forEach((key: unknown, i) => {
    if (key === null || typeof key !== 'object') fail(`${ctx.name}: expected(table) key ${i} is ${JSON.stringify(key)}, not an object with ${primaryKeys.join(', ')}`);
    const row = key as Row;
    const absent = primaryKeys.filter((k) => row[k] === undefined || row[k] === null);
    if (absent.length > 0) fail(`${ctx.name}: expected(table) key ${i} has no ${absent.join(', ')}; return every primary-key column (${primaryKeys.join(', ')})`);
    out.add(looseKey(row, primaryKeys));
  });
  return out;
}

/** Missing and extra keys of `actual` against `truth`, as one message part each (empty when equal). */
function mismatch(actual: ReadonlySet<string>, truth: ReadonlySet<string>): string[] {
  const missing = difference(truth, actual);
  const extra = difference(actual, truth);
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing ${missing.length} of the ${truth.size} keys upstream holds: ${preview(missing)}`);
  if (extra.length > 0) parts.push(`read ${extra.length} ${extra.length === 1 ? 'key' : 'keys'} upstream does not hold: ${preview(extra)}`);
  return parts;
}

export const fullReadMatchesTruth: TableCheck = {
  id: 'a full read returns exactly the keys upstream holds',
  scope: 'table',
  async run(ctx: TableContext) {
    if (ctx.run.options.expected === undefined) notApplicable('no expected option: pass expected(table), the keys upstream holds, to compare a full read with the truth');
    const meta = await ctx.metadata();
    if (meta.primaryKeys.length === 0) notApplicable('the table has no primary keys (append): there is no key to compare with the truth');
    const { sequence } = await ctx.fullRead();
    const truth = await truthKeys(ctx, meta.primaryKeys);
    if (truth.size === 0) fail(`${ctx.name}: expected(table) returned no keys: seed upstream data for this table (an empty truth proves nothing)`);
    const parts = mismatch(keySet(sequence.rows, meta.primaryKeys), truth);
    if (parts.length > 0) fail(`${ctx.name}: a full read differs from the keys upstream holds (expected): ${parts.join('; ')}`);
  },
};

export const addedKeysAppear: TableCheck = {
  id: 'after addData the added keys appear',
  scope: 'table',
  mutatesData: true,
  async run(ctx: TableContext) {
    const meta = await ctx.metadata();
    if (meta.ingestionType !== 'snapshot') notApplicable('not a snapshot table: "no loss across triggers" checks what addData adds to an incremental table');
    const addData = ctx.run.options.addData;
    if (addData === undefined) fail(`${ctx.name}: no addData option: pass addData(table) that adds keys upstream, or skip "${ctx.name} > after addData the added keys appear" with a reason`);
    const withTruth = ctx.run.options.expected !== undefined && meta.primaryKeys.length > 0;
    const before = await ctx.freshRead(null);
    const truthBefore = withTruth ? await truthKeys(ctx, meta.primaryKeys) : undefined;
    await addData(ctx.name);
    const after = await ctx.freshRead(null);
    const keysBefore = keySet(before.rows, meta.primaryKeys);
    const keysAfter = keySet(after.rows, meta.primaryKeys);
    const gained = new Set(difference(keysAfter, keysBefore));
    if (truthBefore === undefined) {
      if (gained.size === 0) fail(`${ctx.name}: after addData a fresh full read has no key the read before it lacked: the source does not see what was added upstream, or addData adds nothing`);
      return;
    }
    const upstreamGained = new Set(difference(await truthKeys(ctx, meta.primaryKeys), truthBefore));
    if (upstreamGained.size === 0) fail(`${ctx.name}: expected(table) is the same before and after addData: addData must add keys upstream, or this check proves nothing`);
    const missing = difference(upstreamGained, keysAfter);
    if (missing.length > 0) fail(`${ctx.name}: after addData a fresh full read lacks ${missing.length} of the ${upstreamGained.size} keys added upstream: ${preview(missing)}`);
    const parts = mismatch(gained, upstreamGained);
    if (parts.length > 0) fail(`${ctx.name}: after addData the keys a fresh full read gained differ from the keys upstream gained: ${parts.join('; ')}`);
  },
};
