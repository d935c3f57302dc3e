/** Source-level checks: T2 (list tables) and T3 (an unknown table throws a typed error when called). */
import type { RunContext } from '../context.js';
import { UNKNOWN_TABLE } from '../context.js';
import { fail, preview } from '../failures.js';
import { readTableThrowsOnCall, thrownBy, typedErrorProblem, type SourceCheck } from './check.js';

export const listsTables: SourceCheck = {
  id: 'lists tables',
  scope: 'source',
  async run(ctx: RunContext) {
    const { source } = await ctx.newSource();
    const tables: unknown = await source.listTables();
    if (!Array.isArray(tables)) fail('listTables() must resolve to an array of table names');
    if (tables.length === 0) fail('listTables() returned no tables');
    const bad = tables.filter((t) => typeof t !== 'string' || t.trim() === '');
    if (bad.length > 0) fail(`listTables() returned non-string or empty names: ${preview(bad.map((b) => JSON.stringify(b)))}`);
    const names = tables as string[];
    const dupes = names.filter((t, i) => names.indexOf(t) !== i);
    if (dupes.length > 0) fail(`listTables() lists tables more than once: ${preview([...new Set(dupes)])}`);
    const again = await source.listTables();
    if (JSON.stringify(again) !== JSON.stringify(names)) fail('listTables() returned a different list on a second call');
    const missing = (ctx.options.tables ?? []).filter((t) => !names.includes(t));
    if (missing.length > 0) fail(`tables under test are not listed by listTables(): ${preview(missing)}`);
  },
};

export const unknownTableThrows: SourceCheck = {
  id: 'unknown table throws a typed error on call',
  scope: 'source',
  async run(ctx: RunContext) {
    const { source, logger } = await ctx.newSource();
    const problems: string[] = [];
    const schema = typedErrorProblem(await thrownBy(() => source.getSchema(UNKNOWN_TABLE, {})), UNKNOWN_TABLE);
    if (schema !== undefined) problems.push(`getSchema ${schema}`);
    const meta = typedErrorProblem(await thrownBy(() => source.readTableMetadata(UNKNOWN_TABLE, {})), UNKNOWN_TABLE);
    if (meta !== undefined) problems.push(`readTableMetadata ${meta}`);
    const read = await readTableThrowsOnCall(() => source.readTable(UNKNOWN_TABLE, null, { logger }), UNKNOWN_TABLE);
    if (read !== undefined) problems.push(`readTable ${read}`);
    if (problems.length > 0) fail(`unknown table "${UNKNOWN_TABLE}": ${problems.join('; ')}`);
  },
};
