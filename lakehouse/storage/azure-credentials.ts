/**
 * Which Azure Blob account, endpoint and credential a location uses, from the given environment (never
 * `process.env` directly). In order:
 * 1. AZURE_STORAGE_CONNECTION_STRING (its AccountName and BlobEndpoint, or UseDevelopmentStorage=true);
 * 2. AZURE_STORAGE_ACCOUNT (or the account in an abfss:// / wasbs:// / https:// URL) + AZURE_STORAGE_KEY;
 * 3. the same account + AZURE_STORAGE_SAS_TOKEN.
 * AZURE_STORAGE_ENDPOINT overrides `https://<account>.blob.core.windows.net` (Azurite: http://127.0.0.1:10000/<account>).
 * ADLS Gen2 accounts (hierarchical namespace) are reached through the same Blob endpoint.
 */
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from '@azure/storage-blob';
import { ConfigError } from '../../connector-spec/index.js';
import { isAzureAccountName, type Location } from './location.js';

type Env = Readonly<Record<string, string | undefined>>;
type AzureLocation = Location & { readonly kind: 'azure' };

export interface AzureConnection {
  readonly client: BlobServiceClient;
  readonly account: string;
  /** The Blob endpoint without any SAS. */
  readonly endpoint: string;
  readonly auth: 'connection-string' | 'account-key' | 'sas';
}

export function azureConnection(location: AzureLocation, env: Env, flag: string, pipeline: StoragePipelineOptions): AzureConnection {
  const connectionString = nonEmpty(env.AZURE_STORAGE_CONNECTION_STRING);
  if (connectionString !== undefined) return fromConnectionString(connectionString, location, flag, pipeline);

  const envAccount = nonEmpty(env.AZURE_STORAGE_ACCOUNT)?.toLowerCase();
  if (envAccount !== undefined && location.account !== undefined && envAccount !== location.account) {
    throw configError(
      `${flag} names storage account "${location.account}" but AZURE_STORAGE_ACCOUNT is "${envAccount}". Fix: make them agree (or unset AZURE_STORAGE_ACCOUNT).`,
      'AZURE_STORAGE_ACCOUNT',
    );
  }
  const account = location.account ?? envAccount;
  if (account === undefined) {
    throw configError(
      `${flag} az://${location.container}/… needs a storage account. Fix: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or ` +
        'AZURE_STORAGE_SAS_TOKEN, or write the location as abfss://<container>@<account>.dfs.core.windows.net/<prefix>.',
      'AZURE_STORAGE_ACCOUNT',
    );
  }
  if (!isAzureAccountName(account)) {
    throw configError(`AZURE_STORAGE_ACCOUNT "${account}" is not a storage account name (3 to 24 lowercase letters and digits). Fix: correct it.`, 'AZURE_STORAGE_ACCOUNT');
  }
  const endpoint = blobEndpoint(env, account, location.endpointSuffix ?? 'core.windows.net');
  const key = nonEmpty(env.AZURE_STORAGE_KEY);
  if (key !== undefined) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
      throw configError('AZURE_STORAGE_KEY is not a base64 account key. Fix: copy key1 or key2 from the storage account\'s "Access keys".', 'AZURE_STORAGE_KEY');
    }
    return { client: new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key), pipeline), account, endpoint, auth: 'account-key' };
  }
  const sas = nonEmpty(env.AZURE_STORAGE_SAS_TOKEN)?.replace(/^\?/, '');
  if (sas !== undefined) {
    if (!/(^|&)sig=/.test(sas)) {
      throw configError('AZURE_STORAGE_SAS_TOKEN does not look like a SAS token (no sig= parameter). Fix: paste the token part of a SAS URL (sv=…&sig=…).', 'AZURE_STORAGE_SAS_TOKEN');
    }
    return { client: new BlobServiceClient(`${endpoint}?${sas}`, new AnonymousCredential(), pipeline), account, endpoint, auth: 'sas' };
  }
  throw configError(
    `${flag} needs credentials for storage account "${account}". Fix: set AZURE_STORAGE_KEY (an account key) or AZURE_STORAGE_SAS_TOKEN (a SAS with read, write, delete and list), ` +
      'or AZURE_STORAGE_CONNECTION_STRING.',
    'AZURE_STORAGE_KEY',
  );
}

function fromConnectionString(connectionString: string, location: AzureLocation, flag: string, pipeline: StoragePipelineOptions): AzureConnection {
  const fields = parseConnectionString(connectionString);
  const development = fields.get('usedevelopmentstorage')?.toLowerCase() === 'true';
  const account = (fields.get('accountname') ?? (development ? 'devstoreaccount1' : undefined))?.toLowerCase();
  if (account === undefined) {
    throw configError('AZURE_STORAGE_CONNECTION_STRING has no AccountName. Fix: copy the whole connection string from the storage account\'s "Access keys".', 'AZURE_STORAGE_CONNECTION_STRING');
  }
  if (location.account !== undefined && location.account !== account) {
    throw configError(
      `${flag} names storage account "${location.account}" but AZURE_STORAGE_CONNECTION_STRING is for "${account}". Fix: use the connection string of "${location.account}".`,
      'AZURE_STORAGE_CONNECTION_STRING',
    );
  }
  let client: BlobServiceClient;
  try {
    client = BlobServiceClient.fromConnectionString(connectionString, pipeline);
  } catch {
    // The SDK's message may quote the string: never pass it on.
    throw configError(
      'AZURE_STORAGE_CONNECTION_STRING is not a valid connection string. Fix: copy it again from the storage account\'s "Access keys" (DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net).',
      'AZURE_STORAGE_CONNECTION_STRING',
    );
  }
  const endpoint = withoutQuery(client.url);
  const auth = fields.has('sharedaccesssignature') ? 'sas' : 'connection-string';
  return { client, account, endpoint, auth };
}

function blobEndpoint(env: Env, account: string, suffix: string): string {
  const configured = nonEmpty(env.AZURE_STORAGE_ENDPOINT);
  if (configured === undefined) return `https://${account}.blob.${suffix}`;
  let url: URL | undefined;
  try {
    url = new URL(configured);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.username !== '' || url.password !== '') {
    throw configError(
      'AZURE_STORAGE_ENDPOINT is not an http(s) URL without a query (for Azurite: http://127.0.0.1:10000/devstoreaccount1). Fix: correct it; put a SAS in AZURE_STORAGE_SAS_TOKEN.',
      'AZURE_STORAGE_ENDPOINT',
    );
  }
  return configured.replace(/\/+$/, '');
}

/** `Key=Value;…` with keys lowercased (values may contain `=`: base64 keys, SAS tokens). */
function parseConnectionString(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return fields;
}

function withoutQuery(url: string): string {
  const at = url.indexOf('?');
  return (at < 0 ? url : url.slice(0, at)).replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function configError(message: string, variable: string): ConfigError {
  return new ConfigError(message, { code: 'LAKEHOUSE_AZURE_CREDENTIALS', context: { variable } });
}
