/**
 * Key-wise checks over reads. Definitions (a record's key is its primary-key tuple, or the whole record when
 * an append table has no keys; a cdc record's version is its `sequenceBy` tuple, default `[cursorField]`):
 * - unique: no key twice within one call; for append and snapshot, no key twice in the whole read; for cdc,
 *   a key may reappear in a LATER call only with a strictly greater version.
 * - resume: for every cursor c_i a call returned before convergence, a fresh source reading from c_i to
 *   convergence must yield exactly the records "at or after" c_i. A record is BEFORE c_i when calls 1..i yielded
 *   its key (cdc: at a version ≥ its own); every other record the uninterrupted read yielded is AT OR AFTER c_i.
 *   No loss: every key with a record at or after c_i is in the resumed read. No repeats: the resumed read yields
 *   no key yielded before c_i, except (cdc) with a version greater than the greatest yielded before c_i.
 * - subset: every key of a full read is in the next full read (after `addData`, when given).
 * - triggers: read to convergence, addData, read again with a new source from the cursor: the union equals
 *   a fresh full read, key-wise, and the fresh read has a key the first did not (else the check is vacuous).
 * - key derivation (`keyDerivedFrom`): over a full read and, after addData, the next trigger's read, rows of one
 *   key hold the column in one unit of `granularity` (`floor(value / granularity)`), or all null (a merge skips
 *   files by it: a false claim would leave an old row beside its update).
 */
import type { TableMetadata } from '../../types.js';
import type { TableContext } from '../context.js';
import { fail, notApplicable, preview } from '../failures.js';
import { safeText } from '../logger.js';
import { lastCursor } from '../reads.js';
import { compareSequences, rowKey, sequenceOf, sequenceText, type Row } from '../values.js';
import { requireRecords, type TableCheck } from './check.js';

function versionColumns(meta: TableMetadata): readonly string[] {
  return meta.sequenceBy ?? (meta.cursorField !== undefined ? [meta.cursorField] : []);
}

function keySet(rows: readonly Row[], primaryKeys: readonly string[]): Set<string> {
  return new Set(rows.map((r) => rowKey(r, primaryKeys)));
}

function difference(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  return [...a].filter((k) => !b.has(k));
}

export const primaryKeysUnique: TableCheck = {
  id: 'primary keys are unique',
  scope: 'table',
  async run(ctx: TableContext) {
    const meta = await ctx.metadata();
    if (meta.primaryKeys.length === 0) notApplicable('the table has no primary keys (append)');
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'key uniqueness');
    const seqCols = versionColumns(meta);
    const latest = new Map<string, { call: number; version: unknown[] }>();
    sequence.calls.forEach((call, c) => {
      if (call.sameCursor && meta.ingestionType !== 'snapshot') return; // judged by the SPARK-55416 check
      const inCall = new Set<string>();
      for (const row of call.rows) {
        const key = rowKey(row, meta.primaryKeys);
        if (inCall.has(key)) fail(`${ctx.name}: key ${key} appears twice in call ${c + 1}`);
        inCall.add(key);
        const version = sequenceOf(row, seqCols);
        const before = latest.get(key);
        if (before !== undefined) {
          if (meta.ingestionType !== 'cdc') fail(`${ctx.name}: key ${key} appears in call ${before.call} and again in call ${c + 1} of one ${meta.ingestionType} read`);
          if (compareSequences(version, before.version) <= 0) {
            fail(`${ctx.name}: key ${key} reappears in call ${c + 1} with version ${sequenceText(version)}, not newer than ${sequenceText(before.version)} from call ${before.call}`);
          }
        }
        latest.set(key, { call: c + 1, version });
      }
    });
  },
};

export const resumesFromEveryCursor: TableCheck = {
  id: 'resumes from every cursor without loss or repeats',
  scope: 'table',
  async run(ctx: TableContext) {
    const meta = await ctx.metadata();
    if (meta.ingestionType === 'snapshot') notApplicable('a snapshot table is read with one call; there is no cursor to resume from');
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'resumption');
    const seqCols = versionColumns(meta);
    const ingested = sequence.calls.map((c) => (c.sameCursor ? [] : c.rows));
    for (let i = 0; i < sequence.calls.length; i++) {
      const call = sequence.calls[i]!;
      if (call.endless || call.sameCursor) break;
      const cursor = call.output;
      const before = new Map<string, unknown[]>();
      for (const row of ingested.slice(0, i + 1).flat()) {
        const key = rowKey(row, meta.primaryKeys);
        const version = sequenceOf(row, seqCols);
        const seen = before.get(key);
        if (seen === undefined || compareSequences(version, seen) > 0) before.set(key, version);
      }
      // "At or after c_i": records yielded after c_i that were not already yielded (at that version) before it.
      const after = new Set(
        ingested
          .slice(i + 1)
          .flat()
          .filter((row) => {
            const seen = before.get(rowKey(row, meta.primaryKeys));
            return seen === undefined || (meta.ingestionType === 'cdc' && compareSequences(sequenceOf(row, seqCols), seen) > 0);
          })
          .map((row) => rowKey(row, meta.primaryKeys)),
      );
      const resumed = await ctx.freshRead(cursor);
      const lost = difference(after, keySet(resumed.rows, meta.primaryKeys));
      if (lost.length > 0) fail(`${ctx.name}: resuming from the cursor of call ${i + 1} (${safeText(cursor)}) loses keys the uninterrupted read yielded after it: ${preview(lost)}`);
      for (const row of resumed.rows) {
        const key = rowKey(row, meta.primaryKeys);
        const seen = before.get(key);
        if (seen === undefined) continue;
        const version = sequenceOf(row, seqCols);
        if (meta.ingestionType !== 'cdc' || seqCols.length === 0 || compareSequences(version, seen) <= 0) {
          fail(`${ctx.name}: resuming from the cursor of call ${i + 1} (${safeText(cursor)}) yields key ${key} again (version ${sequenceText(version)}), which the read had already yielded before that cursor`);
        }
      }
    }
  },
};

export const fullReadsGrow: TableCheck = {
  id: 'each full read is a subset of the next',
  scope: 'table',
  mutatesData: true,
  async run(ctx: TableContext) {
    const meta = await ctx.metadata();
    const { sequence } = await ctx.fullRead();
    requireRecords(ctx.name, sequence, 'growth');
    if (ctx.run.options.addData !== undefined) await ctx.run.options.addData(ctx.name);
    const next = await ctx.freshRead(null);
    const lost = difference(keySet(sequence.rows, meta.primaryKeys), keySet(next.rows, meta.primaryKeys));
    if (lost.length > 0) fail(`${ctx.name}: a later full read lacks keys an earlier full read had: ${preview(lost)}`);
  },
};

export const noLossAcrossTriggers: TableCheck = {
  id: 'no loss across triggers',
  scope: 'table',
  mutatesData: true,
  async run(ctx: TableContext) {
    const meta = await ctx.metadata();
    if (meta.ingestionType === 'snapshot') notApplicable('a snapshot table is replaced by every trigger; no cursor carries over');
    const addData = ctx.run.options.addData;
    if (addData === undefined) fail(`${ctx.name}: no addData option: pass addData(table) that adds records upstream, or skip "${ctx.name} > no loss across triggers" with a reason`);
    const first = await ctx.freshRead(null);
    await addData(ctx.name);
    const second = await ctx.freshRead(lastCursor(first));
    const fresh = keySet((await ctx.freshRead(null)).rows, meta.primaryKeys);
    const union = keySet([...first.rows, ...second.rows], meta.primaryKeys);
    const added = difference(fresh, keySet(first.rows, meta.primaryKeys));
    if (added.length === 0) fail(`${ctx.name}: after addData a fresh full read has no key the first trigger lacked: addData must add new records, or this check proves nothing`);
    const lost = difference(fresh, union);
    if (lost.length > 0) fail(`${ctx.name}: keys a fresh full read yields were read by neither trigger (lost between triggers): ${preview(lost)}`);
    const extra = difference(union, fresh);
    if (extra.length > 0) fail(`${ctx.name}: keys read by the triggers are missing from a fresh full read: ${preview(extra)}`);
  },
};

/** A `keyDerivedFrom` column's value as a number (timestamps arrive as milliseconds); null for a null. */
function derivedValue(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  return typeof value === 'number' ? value : Number.NaN;
}

export const keyDerivationHolds: TableCheck = {
  id: 'rows of one key agree on keyDerivedFrom',
  scope: 'table',
  mutatesData: true,
  async run(ctx: TableContext) {
    const meta = await ctx.metadata();
    const derived = meta.keyDerivedFrom;
    if (derived === undefined) notApplicable('the table declares no keyDerivedFrom');
    const first = await ctx.freshRead(null);
    requireRecords(ctx.name, first, 'key derivation');
    const rows = [...first.rows];
    if (ctx.run.options.addData !== undefined) {
      await ctx.run.options.addData(ctx.name);
      rows.push(...(await ctx.freshRead(lastCursor(first))).rows);
    }
    const seen = new Map<string, number | null>();
    let repeated = 0;
    for (const row of rows) {
      const key = rowKey(row, meta.primaryKeys);
      const value = derivedValue(row[derived.column]);
      if (Number.isNaN(value)) fail(`${ctx.name}: keyDerivedFrom column ${derived.column} holds ${safeText(row[derived.column])}, not an integer or a timestamp`);
      if (!seen.has(key)) {
        seen.set(key, value);
        continue;
      }
      repeated++;
      const first = seen.get(key)!;
      if ((first === null) !== (value === null)) fail(`${ctx.name}: key ${key} has rows with ${derived.column} null and not null, so keyDerivedFrom does not hold`);
      if (first === null || value === null) continue;
      if (Math.floor(first / derived.granularity) !== Math.floor(value / derived.granularity)) {
        fail(`${ctx.name}: key ${key} has rows with ${derived.column} ${first} and ${value}, in different units of keyDerivedFrom.granularity ${derived.granularity}`);
      }
    }
    if (repeated === 0) notApplicable('no key was read twice (the reads hold no copies or updates to compare)');
  },
};
