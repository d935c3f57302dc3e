/**
 * Lakehouse table names: which are safe, and which belong to a writer other than the runner. Shared here so the
 * runner (pipeline spec validation) and the Mailchimp sync (its own tables) agree without importing each other.
 *
 * A name must work as a folder name on every filesystem and as an unquoted warehouse identifier (Delta /
 * Unity Catalog, Snowflake, BigQuery, Hive): an ASCII letter, then letters, digits and `_`, at most
 * MAX_TABLE_NAME_LENGTH characters.
 */

/** The Mailchimp sync's own tables (`mailchimp-sync` writes them; the runner must never). */
export const MAILCHIMP_SYNC_TABLES = Object.freeze({
  state: 'mailchimp_sync_state',
  errors: 'mailchimp_sync_errors',
  plan: 'mailchimp_sync_plan',
} as const);

/** Every name that belongs to a writer other than the runner, lower case. */
export const RESERVED_TABLE_NAMES: readonly string[] = Object.freeze(Object.values(MAILCHIMP_SYNC_TABLES));

/** Prefixes reserved for other writers' present and future tables. */
export const RESERVED_TABLE_PREFIXES: readonly string[] = Object.freeze(['mailchimp_sync_']);

/**
 * 128 characters: Hive metastore / Glue-compatible catalogs stop at 128, Unity Catalog and Snowflake at 255; the
 * runner's files built from the name (`<state>/<name>.json` and its temp names, staging folders) must stay well
 * under the 255-byte file-name limit of ext4, APFS and NTFS.
 */
export const MAX_TABLE_NAME_LENGTH = 128;

const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Device names Windows refuses as folder names, whatever the extension. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

export type TableNameProblem =
  | { readonly kind: 'length'; readonly message: string }
  | { readonly kind: 'characters'; readonly message: string }
  | { readonly kind: 'reserved'; readonly message: string };

/**
 * Why `name` cannot be a lakehouse table written by the runner (a sentence that ends with the fix), or undefined
 * when it can.
 */
export function tableNameProblem(name: string): TableNameProblem | undefined {
  if (name.length > MAX_TABLE_NAME_LENGTH) {
    return {
      kind: 'length',
      message: `is ${name.length} characters long; the limit is ${MAX_TABLE_NAME_LENGTH} (catalog identifiers and file names built from it): choose a shorter name`,
    };
  }
  if (name.startsWith('_')) {
    return {
      kind: 'reserved',
      message: `starts with "_", which is reserved for the table format's own folders (_delta_log, _lakeflow_log, _lakeflow_staging): choose a name starting with a letter`,
    };
  }
  if (!SAFE_NAME.test(name)) {
    const bad = [...new Set([...name].filter((ch) => !/[A-Za-z0-9_]/.test(ch)))].map((ch) => JSON.stringify(ch)).join(' ');
    return {
      kind: 'characters',
      message: /^[0-9]/.test(name) && bad === ''
        ? 'starts with a digit, which a warehouse identifier cannot: start it with a letter'
        : `has characters that are unsafe in a folder name or a warehouse identifier (${bad}): use letters, digits and _, starting with a letter`,
    };
  }
  if (WINDOWS_DEVICE.test(name)) {
    return { kind: 'characters', message: 'is a device name Windows cannot use as a folder: choose another name' };
  }
  const lower = name.toLowerCase();
  if (RESERVED_TABLE_NAMES.includes(lower) || RESERVED_TABLE_PREFIXES.some((p) => lower.startsWith(p))) {
    return {
      kind: 'reserved',
      message: `is reserved for the Mailchimp sync's own tables (${RESERVED_TABLE_NAMES.join(', ')}; prefix ${RESERVED_TABLE_PREFIXES.join(', ')}): choose another name`,
    };
  }
  return undefined;
}
