/**
 * DuckDB views over the current snapshot of each Delta table of a local lakehouse: for a DuckDB without the
 * `delta` extension (it downloads on first use, so offline machines lack it). Each view reads the table's live
 * files — never a removed one — and takes partition values from the Delta log, typed as the schema says.
 * The file is rewritten by every demo run; `delta_scan` is the way to read the tables in general.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type DataType } from 'apache-arrow';
import { decodeAddPath, openLakehouse } from '../lakehouse/index.js';

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function duckType(type: DataType): string {
  switch (type.typeId) {
    case Type.Date:
      return 'DATE';
    case Type.Int:
      return 'BIGINT';
    case Type.Timestamp:
      return 'TIMESTAMPTZ';
    default:
      return 'VARCHAR';
  }
}

/** `CREATE OR REPLACE VIEW` statements for every Delta table under `lakehouseDir` (paths as given, relative or absolute). */
export async function duckdbViewsSql(lakehouseDir: string): Promise<string> {
  const lakehouse = await openLakehouse(lakehouseDir, { env: {} });
  const statements: string[] = [];
  try {
    for (const name of await lakehouse.listTables()) {
      const snapshot = await lakehouse.table(name).snapshot();
      if (!snapshot) continue;
      const partitions = snapshot.metadata.partitionColumns;
      const file = (p: string): string => path.posix.join(lakehouseDir.split(path.sep).join('/'), name, decodeAddPath(p));
      if (snapshot.files.length === 0) {
        const columns = snapshot.metadata.schema.fields.map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${ident(f.name)}`);
        statements.push(`CREATE OR REPLACE VIEW ${ident(name)} AS SELECT ${columns.join(', ')} WHERE false;`);
        continue;
      }
      const list = `[${snapshot.files.map((f) => sqlString(file(f.path))).join(', ')}]`;
      if (partitions.length === 0) {
        statements.push(`CREATE OR REPLACE VIEW ${ident(name)} AS SELECT * FROM read_parquet(${list}, hive_partitioning = false);`);
        continue;
      }
      const types = new Map(snapshot.metadata.schema.fields.map((f) => [f.name, duckType(f.type)]));
      const values = snapshot.files.map((f) => `(${[sqlString(file(f.path)), ...partitions.map((c) => (f.partitionValues[c] == null ? 'NULL' : sqlString(f.partitionValues[c]!)))].join(', ')})`);
      const select = partitions.map((c) => `CAST(pv.${ident(c)} AS ${types.get(c) ?? 'VARCHAR'}) AS ${ident(c)}`).join(', ');
      statements.push(
        `CREATE OR REPLACE VIEW ${ident(name)} AS SELECT d.* EXCLUDE (filename), ${select} FROM read_parquet(${list}, filename = true, hive_partitioning = false) d ` +
          `JOIN (VALUES ${values.join(', ')}) pv(filename, ${partitions.map(ident).join(', ')}) USING (filename);`,
      );
    }
  } finally {
    await lakehouse.close();
  }
  return `${statements.join('\n')}\n`;
}

/** Write the views next to the lakehouse (`<lakehouse>/../duckdb-views.sql`); returns the file. */
export async function writeDuckdbViews(lakehouseDir: string): Promise<string> {
  const file = path.join(path.dirname(path.resolve(lakehouseDir)), 'duckdb-views.sql');
  await writeFile(file, `-- Views over the current Delta snapshots of ${lakehouseDir} (rewritten by every demo run).\n${await duckdbViewsSql(lakehouseDir)}`);
  return file;
}
