/**
 * Where a data file goes: `[<col>=<value>/…]part-00000-<uuid>.c000.zstd.parquet` under the table root, the
 * partition folders escaped the way Spark (Hive) escapes them, so every engine finds the same folder names:
 * the characters " # % ' * / : = ? [ \ ] ^ { and DEL and the control characters become `%XX` (uppercase hex
 * of the UTF-16 unit), everything else (space, unicode) stays; a null or empty value is `__HIVE_DEFAULT_PARTITION__`.
 * `add.path` is that relative path as an RFC 2396 URI (`encodeAddPath`: a space becomes `%20`, a `%` `%25`), which
 * is how Spark writes it (golden table `kernel-timestamp-*`: `part=2020-01-01%2008%253A09%253A10.001/…`).
 * Pure functions.
 */
import { encodeAddPath } from '../delta/paths.js';

export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** Spark's `ExternalCatalogUtils.charToEscape`: ASCII control characters 0x01–0x1F, 0x7F and the listed punctuation. */
function needsEscape(code: number): boolean {
  if (code >= 0x01 && code <= 0x1f) return true;
  switch (code) {
    case 0x22: // "
    case 0x23: // #
    case 0x25: // %
    case 0x27: // '
    case 0x2a: // *
    case 0x2f: // /
    case 0x3a: // :
    case 0x3d: // =
    case 0x3f: // ?
    case 0x5c: // \
    case 0x7f:
    case 0x7b: // {
    case 0x5b: // [
    case 0x5d: // ]
    case 0x5e: // ^
      return true;
    default:
      return false;
  }
}

/** Hive/Spark path escaping of a partition column name or value. */
export function escapePartitionName(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!needsEscape(code)) continue;
    out += text.slice(from, i) + '%' + code.toString(16).toUpperCase().padStart(2, '0');
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** The inverse of `escapePartitionName` (Spark's `unescapePathName`): `%XX` with two hex digits becomes the character. */
export function unescapePartitionName(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** A partition value as Delta stores it: an empty string is a null partition value (protocol, Partition Value Serialization). */
export function normalisePartitionValue(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/** `col=value/` folders for the partition values, in their key order (the table's partitionColumns order). */
export function partitionFolders(partitionValues: Readonly<Record<string, string | null>>): string {
  let out = '';
  for (const [column, value] of Object.entries(partitionValues)) {
    const normalised = normalisePartitionValue(value);
    out += `${escapePartitionName(column)}=${normalised === null ? HIVE_DEFAULT_PARTITION : escapePartitionName(normalised)}/`;
  }
  return out;
}

/** The file name Spark would give the first file of a task: `part-00000-<uuid>.c000.zstd.parquet`. */
export function dataFileName(uuid: string): string {
  return `part-00000-${uuid}.c000.zstd.parquet`;
}

export interface DataFilePath {
  /** Relative to the table root, as stored (folder names Hive-escaped). */
  readonly relPath: string;
  /** `add.path`: `relPath` URI-encoded. */
  readonly addPath: string;
}

export function dataFilePath(partitionValues: Readonly<Record<string, string | null>>, uuid: string): DataFilePath {
  const relPath = `${partitionFolders(partitionValues)}${dataFileName(uuid)}`;
  return { relPath, addPath: encodeAddPath(relPath) };
}

/**
 * The partition values a relative data-file path names (`a=1/b=x%3Ay/part-….parquet` → `{a: '1', b: 'x:y'}`),
 * `__HIVE_DEFAULT_PARTITION__` read as null. For checks and repairs: readers take the values from the log.
 */
export function partitionValuesOfPath(relPath: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const folders = relPath.split('/').slice(0, -1);
  for (const folder of folders) {
    const eq = folder.indexOf('=');
    if (eq < 0) continue;
    const value = folder.slice(eq + 1);
    out[unescapePartitionName(folder.slice(0, eq))] = value === HIVE_DEFAULT_PARTITION ? null : unescapePartitionName(value);
  }
  return out;
}
