/**
 * Test oracle: read a local Delta table the way an outside engine does, in DuckDB SQL only. It never imports
 * the lakehouse's own log reader, so a bug there cannot hide itself.
 * - find the newest classic checkpoint by listing `_delta_log/` (no `_last_checkpoint` trust);
 * - `read_parquet` the checkpoint and `read_json` every later commit;
 * - live files = for each (path, deletion vector) the newest action is an `add` (Action Reconciliation);
 * - rows = `read_parquet` over the live files, with the partition values from the log cast to their Delta types.
 * DuckDB's `delta` extension downloads at run time (no network here), so it is not used.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export type DuckRow = Record<string, unknown>;

export interface DuckLiveFile {
  /** `add.path` as in the log (URI-encoded). */
  readonly path: string;
  /** The file on disk. */
  readonly file: string;
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number;
  /** `stats.numRecords`, or null when the add has no stats. */
  readonly numRecords: number | null;
  /** True when the add carries a deletion vector (rows of it are deleted; this oracle does not apply DVs). */
  readonly hasDeletionVector: boolean;
}

export interface DuckDeltaTable {
  /** Newest version in the log. */
  readonly version: number;
  /** The checkpoint the replay started from (undefined: from commit 0). */
  readonly checkpointVersion?: number;
  readonly files: readonly DuckLiveFile[];
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly protocol: { readonly minReaderVersion: number; readonly minWriterVersion: number };
  /** Newest txn version per appId. */
  readonly txns: ReadonlyMap<string, number>;
  /** Live tombstones (paths removed and not re-added), for vacuum checks. */
  readonly tombstones: readonly string[];
  /**
   * A SQL table expression over the live rows (partition columns included, typed), valid in any DuckDB:
   * `SELECT count(*) FROM ${await table.scan()}`.
   */
  scan(): Promise<string>;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export async function withDuck<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export async function duckAll(connection: DuckDBConnection, sql: string): Promise<DuckRow[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS() as DuckRow[];
}

/** Run one query in a fresh in-memory DuckDB. */
export function duckQuery(sql: string): Promise<DuckRow[]> {
  return withDuck((connection) => duckAll(connection, sql));
}

const DV_EXPR = (column: string): string =>
  `coalesce(${column}.deletionVector.storageType || ${column}.deletionVector.pathOrInlineDv || coalesce('@' || CAST(${column}.deletionVector."offset" AS VARCHAR), ''), '')`;

const JSON_COLUMNS =
  "{add: 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, stats VARCHAR, deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER))', " +
  "remove: 'STRUCT(path VARCHAR, deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER))', " +
  "metaData: 'STRUCT(schemaString VARCHAR, partitionColumns VARCHAR[])', " +
  "protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)', " +
  "txn: 'STRUCT(appId VARCHAR, version BIGINT)'}";

/** The flat projection both sources (JSON commits, checkpoint Parquet) are brought to. */
function projection(version: string, has: (column: string, field?: string) => boolean): string {
  const col = (column: string, field: string, type: string): string => (has(column, field) ? `${column}.${quoteIdent(field)}` : `CAST(NULL AS ${type})`);
  const dv = (column: string): string => (has(column, 'deletionVector') ? DV_EXPR(column) : "''");
  return [
    `${version} AS v`,
    `${col('add', 'path', 'VARCHAR')} AS add_path`,
    `CAST(to_json(${col('add', 'partitionValues', 'MAP(VARCHAR, VARCHAR)')}) AS VARCHAR) AS add_pv`,
    `${col('add', 'size', 'BIGINT')} AS add_size`,
    `${col('add', 'stats', 'VARCHAR')} AS add_stats`,
    `${dv('add')} AS add_dv`,
    `${col('remove', 'path', 'VARCHAR')} AS remove_path`,
    `${dv('remove')} AS remove_dv`,
    `${col('metaData', 'schemaString', 'VARCHAR')} AS schema_string`,
    `CAST(to_json(${col('metaData', 'partitionColumns', 'VARCHAR[]')}) AS VARCHAR) AS partition_columns`,
    `${has('metaData') ? 'metaData IS NOT NULL' : 'false'} AS has_metadata`,
    `${col('protocol', 'minReaderVersion', 'INTEGER')} AS min_reader`,
    `${col('protocol', 'minWriterVersion', 'INTEGER')} AS min_writer`,
    `${col('txn', 'appId', 'VARCHAR')} AS txn_app`,
    `${col('txn', 'version', 'BIGINT')} AS txn_version`,
  ].join(', ');
}

const DUCK_TYPES: Readonly<Record<string, string>> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  boolean: 'BOOLEAN',
  float: 'FLOAT',
  double: 'DOUBLE',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
  binary: 'BLOB',
};

function duckType(deltaType: unknown): string {
  if (typeof deltaType !== 'string') return 'VARCHAR';
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(deltaType);
  if (decimal) return `DECIMAL(${decimal[1]}, ${decimal[2]})`;
  return DUCK_TYPES[deltaType] ?? 'VARCHAR';
}

interface SchemaField {
  readonly name: string;
  readonly type: unknown;
}

function schemaFields(schemaString: string): SchemaField[] {
  const parsed = JSON.parse(schemaString) as { fields?: SchemaField[] };
  return parsed.fields ?? [];
}

/** Replay the log of the table in `tableDir` in DuckDB and build the scan over its live files. */
export async function duckDeltaTable(tableDir: string): Promise<DuckDeltaTable> {
  const logDir = path.join(tableDir, '_delta_log');
  const names = await readdir(logDir);
  const commits = names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20)));
  const checkpoints = names.filter((n) => /^\d{20}\.checkpoint\.parquet$/.test(n)).map((n) => Number(n.slice(0, 20)));
  const latest = Math.max(-1, ...commits, ...checkpoints);
  if (latest < 0) throw new Error(`${tableDir}: no Delta log`);

  return withDuck(async (duck) => {
    // Newest checkpoint DuckDB can read; commits after it.
    let checkpointVersion: number | undefined;
    let checkpointSql: string | undefined;
    for (const version of [...checkpoints].sort((a, b) => b - a)) {
      const file = path.join(logDir, `${String(version).padStart(20, '0')}.checkpoint.parquet`);
      try {
        const described = await duckAll(duck, `DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
        const types = new Map(described.map((r) => [String(r['column_name']), String(r['column_type'])]));
        const has = (column: string, field?: string): boolean => {
          const type = types.get(column);
          if (type === undefined) return false;
          return field === undefined || new RegExp(`(^|[(, ])"?${field}"? `).test(type);
        };
        checkpointSql = `SELECT ${projection(String(version), has)} FROM read_parquet(${sqlString(file)})`;
        await duckAll(duck, `SELECT count(*) FROM (${checkpointSql})`);
        checkpointVersion = version;
        break;
      } catch {
        checkpointSql = undefined;
      }
    }
    const after = commits.filter((v) => v > (checkpointVersion ?? -1)).sort((a, b) => a - b);
    const jsonFiles = after.map((v) => sqlString(path.join(logDir, `${String(v).padStart(20, '0')}.json`)));
    const parts: string[] = [];
    if (checkpointSql) parts.push(checkpointSql);
    if (jsonFiles.length > 0) {
      parts.push(
        `SELECT ${projection("CAST(regexp_extract(filename, '(\\d{20})\\.json$', 1) AS BIGINT)", () => true)} ` +
          `FROM read_json([${jsonFiles.join(', ')}], format = 'newline_delimited', filename = true, columns = ${JSON_COLUMNS})`,
      );
    }
    await duck.run(`CREATE TEMP TABLE actions AS ${parts.join(' UNION ALL ')}`);

    const live = await duckAll(
      duck,
      `WITH fa AS (
         SELECT v, add_path AS path, add_dv AS dv, true AS is_add, add_pv AS pv, add_size AS size, add_stats AS stats FROM actions WHERE add_path IS NOT NULL
         UNION ALL
         SELECT v, remove_path, remove_dv, false, NULL, NULL, NULL FROM actions WHERE remove_path IS NOT NULL),
       newest AS (SELECT * FROM fa QUALIFY row_number() OVER (PARTITION BY path, dv ORDER BY v DESC, is_add DESC) = 1)
       SELECT path, dv, pv, size, CAST(json_extract(stats, '$.numRecords') AS BIGINT) AS num_records
       FROM newest WHERE is_add QUALIFY row_number() OVER (PARTITION BY path ORDER BY v DESC) = 1 ORDER BY path`,
    );
    const tombstones = await duckAll(
      duck,
      `WITH fa AS (
         SELECT v, add_path AS path, add_dv AS dv, true AS is_add FROM actions WHERE add_path IS NOT NULL
         UNION ALL SELECT v, remove_path, remove_dv, false FROM actions WHERE remove_path IS NOT NULL)
       SELECT path FROM fa QUALIFY row_number() OVER (PARTITION BY path, dv ORDER BY v DESC, is_add DESC) = 1 AND NOT is_add ORDER BY path`,
    );
    const meta = await duckAll(duck, 'SELECT schema_string, partition_columns FROM actions WHERE has_metadata ORDER BY v DESC LIMIT 1');
    const proto = await duckAll(duck, 'SELECT min_reader, min_writer FROM actions WHERE min_reader IS NOT NULL ORDER BY v DESC LIMIT 1');
    const txnRows = await duckAll(duck, 'SELECT txn_app, txn_version FROM actions WHERE txn_app IS NOT NULL QUALIFY row_number() OVER (PARTITION BY txn_app ORDER BY v DESC) = 1');
    if (meta.length === 0 || proto.length === 0) throw new Error(`${tableDir}: no metaData or protocol in the log`);

    const schemaString = String(meta[0]?.['schema_string'] ?? '{"type":"struct","fields":[]}');
    const partitionColumns = JSON.parse(String(meta[0]?.['partition_columns'] ?? '[]')) as string[];
    const files: DuckLiveFile[] = live.map((row) => {
      const addPath = String(row['path']);
      return {
        path: addPath,
        file: path.join(tableDir, decodeURIComponent(addPath)),
        partitionValues: row['pv'] === null ? {} : (JSON.parse(String(row['pv'])) as Record<string, string | null>),
        size: Number(row['size']),
        numRecords: row['num_records'] === null ? null : Number(row['num_records']),
        hasDeletionVector: row['dv'] !== '',
      };
    });
    const fields = schemaFields(schemaString);
    return {
      version: latest,
      ...(checkpointVersion === undefined ? {} : { checkpointVersion }),
      files,
      schemaString,
      partitionColumns,
      protocol: { minReaderVersion: Number(proto[0]?.['min_reader']), minWriterVersion: Number(proto[0]?.['min_writer']) },
      txns: new Map(txnRows.map((r) => [String(r['txn_app']), Number(r['txn_version'])])),
      tombstones: tombstones.map((r) => String(r['path'])),
      scan: () => withDuck((connection) => buildScan(connection, files, fields, partitionColumns)),
    };
  });
}

async function buildScan(duck: DuckDBConnection, files: readonly DuckLiveFile[], fields: readonly SchemaField[], partitionColumns: readonly string[]): Promise<string> {
  const typeOf = new Map(fields.map((f) => [f.name, duckType(f.type)]));
  if (files.length === 0) {
    const columns = fields.map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${quoteIdent(f.name)}`);
    return `(SELECT ${columns.length > 0 ? columns.join(', ') : '1 AS empty'} WHERE false)`;
  }
  const list = `[${files.map((f) => sqlString(f.file)).join(', ')}]`;
  const described = await duckAll(duck, `DESCRIBE SELECT * FROM read_parquet(${list}, union_by_name = true)`);
  const inFiles = new Set(described.map((r) => String(r['column_name'])));
  const exclude = ['__lakeflow_file', ...partitionColumns.filter((c) => inFiles.has(c))];
  if (partitionColumns.length === 0) return `(SELECT * FROM read_parquet(${list}, union_by_name = true))`;
  const values = files
    .map((f) => `(${[sqlString(f.file), ...partitionColumns.map((c) => (f.partitionValues[c] == null || f.partitionValues[c] === '' ? 'NULL' : sqlString(f.partitionValues[c] as string)))].join(', ')})`)
    .join(', ');
  const partitionSelect = partitionColumns.map((c) => `CAST(pv.${quoteIdent(c)} AS ${typeOf.get(c) ?? 'VARCHAR'}) AS ${quoteIdent(c)}`).join(', ');
  return (
    `(SELECT d.* EXCLUDE (${exclude.map(quoteIdent).join(', ')}), ${partitionSelect} ` +
    `FROM read_parquet(${list}, union_by_name = true, filename = '__lakeflow_file') d ` +
    `JOIN (VALUES ${values}) pv(__lakeflow_file, ${partitionColumns.map(quoteIdent).join(', ')}) USING (__lakeflow_file))`
  );
}
