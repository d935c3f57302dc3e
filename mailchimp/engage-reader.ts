/**
 * Read the lakehouse `engage` table as of its newest Delta snapshot: the live files the log lists (never a glob,
 * so a file being written or a file a merge replaced is never read), only the columns the sync and `--where`
 * use, timestamps as epoch ms. The table must be the runner's engage table (its Delta properties say so), and
 * `--where` is compiled against its columns before any row is read. A removed file stays in storage until vacuum
 * (7 days by default), so a runner committing meanwhile cannot pull a file from under the read.
 */
import { Field, Schema, Type, type Table, type Vector } from 'apache-arrow';
import { ConfigError, DataError, timestampMsUtc } from '../connector-spec/index.js';
import type { DeltaTable, Lakehouse, Snapshot } from '../lakehouse/index.js';
import type { ProfileRow } from './contacts.js';
import { LEGACY_LOG_DIR } from './legacy-tables.js';
import { assertEngageTable } from './sync-owner.js';
import { compileWhere, decodeMapValue, type ColumnKind, type Predicate, type RowAccess, type Value } from './where.js';

export const ENGAGE_TABLE = 'engage';
const REQUIRED = ['distinct_id', 'email', 'first_name', 'last_name', 'name', 'last_seen', '_deleted_at'] as const;
/** SCD type 2 tables keep history; the current version of a profile has no end. */
const SCD2_END = '__end_at';

export interface EngageRead {
  readonly rows: ProfileRow[];
  /** Delta version read. */
  readonly version: number;
  readonly files: number;
  /** Rows read before `--where`. */
  readonly scanned: number;
}

export interface EngageTable {
  readonly table: DeltaTable;
  readonly snapshot: Snapshot;
  readonly predicate: Predicate;
}

function kindOfType(typeId: Type): ColumnKind {
  switch (typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
      return 'number';
    case Type.Timestamp:
    case Type.Date:
      return 'timestamp';
    case Type.Bool:
      return 'boolean';
    case Type.Map:
      return 'map';
    default:
      return 'text';
  }
}

/**
 * The newest engage snapshot, checked (the runner's engage table, with the columns the sync needs), and
 * `--where` compiled against its columns. ConfigError naming --lakehouse when there is no such table.
 */
export async function openEngage(lakehouse: Lakehouse, where: string | undefined): Promise<EngageTable> {
  const table = lakehouse.table(ENGAGE_TABLE);
  const snapshot = await table.snapshot();
  const at = `${lakehouse.displayUrl.replace(/\/+$/, '')}/${ENGAGE_TABLE}`;
  if (snapshot === undefined) {
    for await (const _ of lakehouse.store.list(`${ENGAGE_TABLE}/${LEGACY_LOG_DIR}/`)) {
      throw new ConfigError(`--lakehouse ${lakehouse.displayUrl}: ${at} is in an earlier release's layout (${LEGACY_LOG_DIR}); convert it to Delta Lake first with \`mixpanel-lakeflow migrate\` (or any \`mixpanel-lakeflow run\`), then sync`, {
        code: 'MAILCHIMP_ENGAGE_NOT_CONVERTED',
        context: { table: ENGAGE_TABLE },
      });
    }
    throw new ConfigError(`--lakehouse ${lakehouse.displayUrl}: there is no engage table (no Delta log at ${at}); run \`mixpanel-lakeflow run\` with the engage table first, or pass the --lakehouse it writes to`, {
      code: 'MAILCHIMP_NO_ENGAGE',
      context: { table: ENGAGE_TABLE },
    });
  }
  assertEngageTable(snapshot, ENGAGE_TABLE, lakehouse.displayUrl);
  const fields = snapshot.metadata.schema.fields;
  const names = new Set(fields.map((f) => f.name));
  const missing = REQUIRED.filter((c) => !names.has(c));
  if (missing.length > 0) {
    throw new DataError(`${at} has no column ${missing.join(', ')}: it is not an engage table written by the Mixpanel source; point --lakehouse at the lakehouse the runner writes engage to`, {
      code: 'MAILCHIMP_ENGAGE_SCHEMA',
      context: { table: ENGAGE_TABLE },
    });
  }
  const predicate = compileWhere(where ?? '', new Map(fields.map((f) => [f.name, kindOfType(f.type.typeId)] as const)));
  return { table, snapshot, predicate };
}

/**
 * The columns to read: what the sync needs, the SCD2 end, and every column whose name appears anywhere in
 * `--where` (a superset of what the filter uses: reading a column too many costs little, one too few would make
 * the filter see NULL).
 */
function columnsToRead(schema: Schema, where: string | undefined): Schema {
  const text = where ?? '';
  const wanted = new Set<string>([...REQUIRED, SCD2_END]);
  const fields = schema.fields
    .filter((f) => wanted.has(f.name) || text.includes(f.name))
    .map((f) => (f.type.typeId === Type.Timestamp ? new Field(f.name, timestampMsUtc(), f.nullable) : f));
  return new Schema(fields);
}

function scalar(vector: Vector, row: number): Value {
  const v: unknown = vector.get(row);
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

function mapEntry(vector: Vector, row: number, key: string): Value {
  const m: unknown = vector.get(row);
  if (m === null || m === undefined) return null;
  for (const entry of m as Iterable<[unknown, unknown]>) {
    if (String(entry[0]) === key) return decodeMapValue(entry[1] === null || entry[1] === undefined ? null : String(entry[1]));
  }
  return null;
}

function text(vector: Vector | null, row: number): string | null {
  if (vector === null) return null;
  const v = scalar(vector, row);
  return v === null ? null : String(v);
}

function time(vector: Vector | null, row: number): number | null {
  if (vector === null) return null;
  const v = scalar(vector, row);
  return typeof v === 'number' ? v : null;
}

function collect(group: Table, predicate: Predicate, rows: ProfileRow[]): void {
  const vectors = new Map<string, Vector | null>();
  const col = (name: string): Vector | null => {
    let v = vectors.get(name);
    if (v === undefined) vectors.set(name, (v = group.getChild(name)));
    return v;
  };
  const id = col('distinct_id')!;
  const email = col('email');
  const first = col('first_name');
  const last = col('last_name');
  const name = col('name');
  const seen = col('last_seen');
  const deleted = col('_deleted_at');
  const end = col(SCD2_END);
  let current = 0;
  const access: RowAccess = {
    get: (c) => {
      const v = col(c);
      return v === null ? null : scalar(v, current);
    },
    mapEntry: (c, key) => {
      const v = col(c);
      return v === null ? null : mapEntry(v, current, key);
    },
  };
  for (let r = 0; r < group.numRows; r++) {
    current = r;
    if (end !== null && end.get(r) !== null) continue;
    if (!predicate(access)) continue;
    rows.push({
      distinct_id: text(id, r) ?? '',
      email: text(email, r),
      first_name: text(first, r),
      last_name: text(last, r),
      name: text(name, r),
      last_seen: time(seen, r),
      _deleted_at: time(deleted, r),
    });
  }
}

/** Every current engage row that passes `--where` (empty = all), from the snapshot `openEngage` took. */
export async function readEngage(engage: EngageTable, where: string | undefined, location: string): Promise<EngageRead> {
  const { table, snapshot, predicate } = engage;
  const problems = await table.verify(snapshot);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).map((p) => `${p.path} (${p.problem})`).join(', ');
    throw new DataError(
      `${location}/${ENGAGE_TABLE}: ${problems.length} live data file(s) are missing from storage or changed size: ${shown}; nothing was sent to Mailchimp. ` +
        `Fix: restore the files, or re-read what they held with \`mixpanel-lakeflow repair ${ENGAGE_TABLE}\``,
      { code: 'MAILCHIMP_ENGAGE_FILES_LOST', context: { table: ENGAGE_TABLE, files: problems.length } },
    );
  }
  const schema = columnsToRead(snapshot.metadata.schema, where);
  const rows: ProfileRow[] = [];
  let scanned = 0;
  for (const file of snapshot.files) {
    for await (const group of table.readDataFile(file, { schema })) {
      const end = group.getChild(SCD2_END);
      // Profiles: every row, or the current version of each in an SCD type 2 table.
      scanned += end === null ? group.numRows : end.nullCount;
      collect(group, predicate, rows);
    }
  }
  return { rows, version: snapshot.version, files: snapshot.files.length, scanned };
}
