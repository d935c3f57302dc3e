/**
 * `--lakehouse` (and `mailchimp-sync --lakehouse`) parsing: a local folder, `s3://bucket/prefix` or an Azure Blob /
 * ADLS Gen2 URL. Pure: no I/O, no environment. A malformed location is a ConfigError naming the flag, the text
 * and the accepted forms; a credential written into the URL (`user:secret@`, a SAS query) is refused and never
 * echoed.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../connector-spec/index.js';

export type Location =
  | { readonly kind: 'local'; readonly dir: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }
  | {
      readonly kind: 'azure';
      /** From the URL (`container@account.dfs.core.windows.net`); otherwise the store takes it from the environment. */
      readonly account?: string;
      readonly container: string;
      readonly prefix: string;
      /** The cloud's DNS suffix when the URL names one other than `core.windows.net` (sovereign clouds). */
      readonly endpointSuffix?: string;
    };

export const LOCATION_ERROR_CODE = 'LAKEHOUSE_LOCATION';

export const ACCEPTED_LOCATIONS =
  'a local folder (./data/lakehouse, /srv/lakehouse, file:///srv/lakehouse), s3://bucket/prefix, ' +
  'az://container/prefix, abfss://container@account.dfs.core.windows.net/prefix ' +
  '(also abfs://, wasbs://container@account.blob.core.windows.net/prefix and https://account.blob.core.windows.net/container/prefix)';

const URL_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$/i;
const AZURE_CONTAINER = /^(?:\$root|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/;
const AZURE_ACCOUNT = /^[a-z0-9]{3,24}$/;
/** `<account>.(blob|dfs).<suffix>`; the suffix is `core.windows.net` in the public cloud. */
const AZURE_HOST = /^([a-z0-9]{3,24})\.(?:blob|dfs)\.((?:[a-z0-9-]+\.)+[a-z]{2,})$/i;
const DEFAULT_AZURE_SUFFIX = 'core.windows.net';

/** Parse `text` as given to `flag`. Throws ConfigError (code LAKEHOUSE_LOCATION). */
export function parseLocation(text: string, flag = '--lakehouse'): Location {
  const trimmed = text.trim();
  if (trimmed === '') throw locationError(flag, text, 'it is empty');
  const url = URL_PATTERN.exec(trimmed);
  if (url === null) return { kind: 'local', dir: resolve(trimmed) };
  const scheme = (url[1] as string).toLowerCase();
  const authority = url[2] as string;
  const path = url[3] as string;
  const query = url[4];
  const fragment = url[5];
  if (scheme === 'file') {
    if (query !== undefined || fragment !== undefined) throw locationError(flag, text, 'a file:// URL takes no query or fragment');
    try {
      return { kind: 'local', dir: fileURLToPath(trimmed) };
    } catch {
      throw locationError(flag, text, 'it is not a valid file:// URL (write file:///absolute/path)');
    }
  }
  if (query !== undefined) {
    const what = scheme === 's3' || scheme === 's3a' ? 'credentials' : 'a SAS token or other credentials';
    const where =
      scheme === 's3' || scheme === 's3a'
        ? 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role'
        : 'AZURE_STORAGE_SAS_TOKEN (or AZURE_STORAGE_KEY / AZURE_STORAGE_CONNECTION_STRING)';
    throw locationError(flag, text, `it carries a query string; ${what} in the URL would show in process lists and shell history, so put them in ${where}`);
  }
  if (fragment !== undefined) throw locationError(flag, text, 'it has a #fragment');
  const userinfo = authority.includes('@') ? authority.slice(0, authority.lastIndexOf('@')) : undefined;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (userinfo !== undefined && userinfo.includes(':')) {
    throw locationError(flag, text, 'it carries user:password credentials; set them in the environment instead (see README, "Object stores")');
  }
  const prefix = parsePrefix(path, flag, text);
  switch (scheme) {
    case 's3':
    case 's3a':
      if (userinfo !== undefined) throw locationError(flag, text, 'an s3:// URL takes no user name: write s3://bucket/prefix');
      if (!S3_BUCKET.test(host)) {
        throw locationError(flag, text, host === '' ? 'the bucket name is missing' : `"${host}" is not a valid S3 bucket name (3 to 63 letters, digits, dots and hyphens)`);
      }
      return { kind: 's3', bucket: host, prefix };
    case 'az':
    case 'azure':
    case 'abfs':
    case 'abfss':
    case 'wasb':
    case 'wasbs':
      return azureLocation(userinfo, host, prefix, flag, text);
    case 'https':
      return azureHttpsLocation(host, prefix, flag, text);
    default:
      throw locationError(flag, text, `the scheme ${scheme}:// is not supported`);
  }
}

/** The location as written, for messages, with anything that looks like a credential removed. */
export function redactLocation(text: string): string {
  const url = URL_PATTERN.exec(text.trim());
  if (url === null) return text;
  const authority = url[2] as string;
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const safeAuthority = userinfo !== undefined && userinfo.includes(':') ? `<redacted>@${authority.slice(at + 1)}` : authority;
  const query = url[4] === undefined ? '' : '?<redacted>';
  const fragment = url[5] === undefined ? '' : '#<redacted>';
  return `${url[1]}://${safeAuthority}${url[3]}${query}${fragment}`;
}

function azureLocation(userinfo: string | undefined, host: string, prefix: string, flag: string, text: string): Location {
  if (userinfo === undefined) {
    // az://container/prefix (account from the environment).
    checkContainer(host, flag, text);
    return { kind: 'azure', container: host, prefix };
  }
  const account = AZURE_HOST.exec(host);
  if (account === null) {
    throw locationError(flag, text, `"${host}" is not an Azure storage host (expected <account>.dfs.core.windows.net or <account>.blob.core.windows.net)`);
  }
  checkContainer(userinfo, flag, text);
  return withSuffix({ kind: 'azure', account: (account[1] as string).toLowerCase(), container: userinfo, prefix }, account[2] as string);
}

function azureHttpsLocation(host: string, path: string, flag: string, text: string): Location {
  const account = AZURE_HOST.exec(host);
  if (account === null) {
    throw locationError(flag, text, 'only Azure Blob URLs (https://<account>.blob.core.windows.net/<container>/prefix) are accepted over https://');
  }
  const slash = path.indexOf('/');
  const container = slash < 0 ? path : path.slice(0, slash);
  const prefix = slash < 0 ? '' : path.slice(slash + 1);
  checkContainer(container, flag, text);
  return withSuffix({ kind: 'azure', account: (account[1] as string).toLowerCase(), container, prefix }, account[2] as string);
}

function withSuffix(location: Location & { kind: 'azure' }, suffix: string): Location {
  const lower = suffix.toLowerCase();
  return lower === DEFAULT_AZURE_SUFFIX ? location : { ...location, endpointSuffix: lower };
}

function checkContainer(container: string, flag: string, text: string): void {
  if (container === '') throw locationError(flag, text, 'the container name is missing');
  if (!AZURE_CONTAINER.test(container)) {
    throw locationError(flag, text, `"${container}" is not a valid Azure container name (3 to 63 lowercase letters, digits and single hyphens)`);
  }
}

/** Check an Azure storage account name (from the environment or a connection string). */
export function isAzureAccountName(name: string): boolean {
  return AZURE_ACCOUNT.test(name);
}

/** `/a//b/` → `a/b`; percent-escapes decoded; `.` and `..` segments refused. */
function parsePrefix(path: string, flag: string, text: string): string {
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw locationError(flag, text, `the path segment "${raw}" has a malformed %-escape`);
    }
    if (segment === '.' || segment === '..') throw locationError(flag, text, 'the path has a "." or ".." segment');
    segments.push(segment);
  }
  return segments.join('/');
}

function locationError(flag: string, text: string, problem: string): ConfigError {
  const shown = redactLocation(text);
  return new ConfigError(`${flag} "${shown}" is not a usable location: ${problem}. Accepted forms: ${ACCEPTED_LOCATIONS}.`, {
    code: LOCATION_ERROR_CODE,
    context: { flag },
  });
}
