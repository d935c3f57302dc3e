/**
 * Names inside a Delta table: log file names (`_delta_log/%020d.json`, checkpoints, `_last_checkpoint`), the
 * URI encoding of `add.path`, and the partition key a commit's `readPartitions` is matched against.
 */

export const LOG_DIR = '_delta_log';
export const LAST_CHECKPOINT = '_last_checkpoint';

/** `root` joined with `rel` as a store path (`''` root: the store root). */
export function joinPath(root: string, rel: string): string {
  if (root === '') return rel;
  return root.endsWith('/') ? `${root}${rel}` : `${root}/${rel}`;
}

export function logDir(root: string): string {
  return joinPath(root, `${LOG_DIR}/`);
}

export function versionName(version: number): string {
  return String(version).padStart(20, '0');
}

export function commitFile(root: string, version: number): string {
  return joinPath(root, `${LOG_DIR}/${versionName(version)}.json`);
}

export function checkpointFile(root: string, version: number): string {
  return joinPath(root, `${LOG_DIR}/${versionName(version)}.checkpoint.parquet`);
}

export function multiPartCheckpointFile(root: string, version: number, part: number, parts: number): string {
  return joinPath(root, `${LOG_DIR}/${versionName(version)}.checkpoint.${String(part).padStart(10, '0')}.${String(parts).padStart(10, '0')}.parquet`);
}

export function lastCheckpointFile(root: string): string {
  return joinPath(root, `${LOG_DIR}/${LAST_CHECKPOINT}`);
}

/** One file of `_delta_log/`, classified by its name. */
export type LogFileName =
  | { readonly kind: 'commit'; readonly version: number }
  | { readonly kind: 'checkpoint'; readonly version: number; readonly part: number; readonly parts: number }
  | { readonly kind: 'uuid-checkpoint'; readonly version: number }
  | { readonly kind: 'crc'; readonly version: number }
  | { readonly kind: 'compacted'; readonly version: number; readonly endVersion: number }
  | { readonly kind: 'last-checkpoint' }
  | { readonly kind: 'other' };

const COMMIT = /^(\d{20})\.json$/;
const CLASSIC = /^(\d{20})\.checkpoint\.parquet$/;
const MULTI = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;
const UUID = /^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(?:json|parquet)$/;
const CRC = /^(\d{20})\.crc$/;
const COMPACTED = /^(\d{20})\.(\d{20})\.compacted\.json$/;

/** Classify a file name (the part after `_delta_log/`; a name with a `/` is in a sub-folder: `other`). */
export function parseLogFileName(name: string): LogFileName {
  if (name === LAST_CHECKPOINT) return { kind: 'last-checkpoint' };
  if (name.includes('/')) return { kind: 'other' };
  let m = COMMIT.exec(name);
  if (m) return { kind: 'commit', version: Number(m[1]) };
  m = CLASSIC.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), part: 1, parts: 1 };
  m = MULTI.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), part: Number(m[2]), parts: Number(m[3]) };
  m = UUID.exec(name);
  if (m) return { kind: 'uuid-checkpoint', version: Number(m[1]) };
  m = CRC.exec(name);
  if (m) return { kind: 'crc', version: Number(m[1]) };
  m = COMPACTED.exec(name);
  if (m) return { kind: 'compacted', version: Number(m[1]), endVersion: Number(m[2]) };
  return { kind: 'other' };
}

/**
 * `add.path` for a file at `relPath` (relative to the table root, as stored): each segment URI-encoded, `=`
 * kept (`event_date=2026-11-20/part-….parquet`). Delta paths are RFC 2396 URIs: a space, `%` or `:` is escaped.
 */
export function encodeAddPath(relPath: string): string {
  return relPath
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll('%3D', '='))
    .join('/');
}

/** The stored file name of an `add`/`remove` path (relative to the table root): the URI decoded. */
export function decodeAddPath(addPath: string): string {
  if (!addPath.includes('%')) return addPath;
  try {
    return decodeURIComponent(addPath);
  } catch {
    return addPath;
  }
}

/** True when an `add.path` is an absolute URI (`s3://…`, `file:/…`) rather than relative to the table root. */
export function isAbsoluteAddPath(addPath: string): boolean {
  return addPath.startsWith('/') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(addPath);
}

/**
 * The partition a file belongs to, as `CommitRequest.readPartitions` names it: `''` for an unpartitioned
 * table, the value of the partition column for one (`''` for a null partition), and `col=value/col=value`
 * for several.
 */
export function partitionKey(partitionColumns: readonly string[], partitionValues: Readonly<Record<string, string | null>>): string {
  if (partitionColumns.length === 0) return '';
  if (partitionColumns.length === 1) return partitionValues[partitionColumns[0] as string] ?? '';
  return partitionColumns.map((column) => `${column}=${partitionValues[column] ?? ''}`).join('/');
}
