/**
 * The schema matches a committed snapshot (backward compatibility). `<dir>/<source>.<table>.json` holds the
 * schema as JSON. Missing: written and passed locally, FAILED in CI. Different: failed, unless
 * UPDATE_SCHEMA_SNAPSHOTS=1 (then rewritten).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TableContext } from '../context.js';
import { fail } from '../failures.js';
import { diffFields, diffMetadata, schemaJson, type SchemaJson } from '../schema-json.js';
import type { TableCheck } from './check.js';

export function snapshotPath(dir: string, source: string, table: string): string {
  return join(dir, `${source}.${table}.json`);
}

async function readSnapshot(path: string): Promise<SchemaJson | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<SchemaJson>;
  if (!Array.isArray(parsed.fields) || typeof parsed.metadata !== 'object' || parsed.metadata === null) {
    fail(`schema snapshot ${path} is not a schema snapshot (fields, metadata); delete it and rerun with UPDATE_SCHEMA_SNAPSHOTS=1`);
  }
  return { fields: parsed.fields, metadata: parsed.metadata };
}

export const schemaSnapshot: TableCheck = {
  id: 'schema matches the committed snapshot',
  scope: 'table',
  async run(ctx: TableContext) {
    const { snapshotDir, snapshotMode, options } = ctx.run;
    const path = snapshotPath(snapshotDir, options.name, ctx.name);
    const actual = schemaJson(await ctx.schema());
    const write = async (): Promise<void> => {
      await mkdir(snapshotDir, { recursive: true });
      await writeFile(path, `${JSON.stringify({ source: options.name, table: ctx.name, ...actual }, null, 2)}\n`);
    };
    const committed = await readSnapshot(path);
    if (committed === undefined) {
      if (snapshotMode.ci && !snapshotMode.update) {
        fail(`${ctx.name}: no committed schema snapshot ${path}. Run the test once with UPDATE_SCHEMA_SNAPSHOTS=1 (or outside CI) and commit the file`);
      }
      await write();
      return;
    }
    const diff = [...diffFields(committed.fields, actual.fields), ...diffMetadata(committed.metadata, actual.metadata)];
    if (diff.length === 0) return;
    if (snapshotMode.update) {
      await write();
      return;
    }
    fail(`${ctx.name}: the schema differs from the committed snapshot ${path}: ${diff.join('; ')}. Existing lakehouse tables were written with the old schema; if the change is intended, rerun with UPDATE_SCHEMA_SNAPSHOTS=1 and commit the snapshot`);
  },
};
