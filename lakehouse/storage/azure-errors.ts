/**
 * Azure Blob failures → the connector-spec taxonomy. Messages name the location, the operation, the storage error
 * code and the fix (which environment variable, which role); never a key or a SAS. The SDK's RestError keeps the
 * request URL (with the SAS in it) and headers, so it never travels as `cause`: only its name and redacted message.
 */
import { AuthError, ConfigError, InternalError, RateLimitError, TransientError, type ConnectorError } from '../../connector-spec/index.js';
import { leanCause } from './store-support.js';

export interface AzureErrorFacts {
  /** The storage error code (`ContainerNotFound`, `AuthenticationFailed`, …), a network code, or the error name. */
  readonly code: string;
  readonly status?: number;
  readonly requestId?: string;
}

export function azureErrorFacts(error: unknown): AzureErrorFacts {
  if (typeof error !== 'object' || error === null) return { code: 'Unknown' };
  const record = error as Record<string, unknown>;
  const status = typeof record.statusCode === 'number' ? record.statusCode : undefined;
  const details = typeof record.details === 'object' && record.details !== null ? (record.details as Record<string, unknown>) : {};
  const headerCode = responseHeader(record, 'x-ms-error-code');
  const code =
    (typeof details.errorCode === 'string' ? details.errorCode : undefined) ??
    headerCode ??
    (typeof record.code === 'string' && record.code !== '' ? record.code : undefined) ??
    (typeof record.name === 'string' ? record.name : 'Unknown');
  const requestId = (typeof details.requestId === 'string' ? details.requestId : undefined) ?? responseHeader(record, 'x-ms-request-id');
  return { code, ...(status === undefined ? {} : { status }), ...(requestId === undefined ? {} : { requestId }) };
}

function responseHeader(record: Record<string, unknown>, name: string): string | undefined {
  const response = record.response;
  if (typeof response !== 'object' || response === null) return undefined;
  const headers = (response as Record<string, unknown>).headers;
  if (typeof headers !== 'object' || headers === null || !('get' in headers) || typeof headers.get !== 'function') return undefined;
  const value: unknown = headers.get(name);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A blob that is not there (not a missing container: that is a configuration problem). */
export function isAzureNotFound(facts: AzureErrorFacts): boolean {
  return facts.status === 404 && facts.code !== 'ContainerNotFound';
}

/** An `If-None-Match: *` write refused because the blob exists. */
export function isAzureAlreadyExists(facts: AzureErrorFacts): boolean {
  return facts.code === 'BlobAlreadyExists' || facts.code === 'ConditionNotMet' || facts.status === 412 || (facts.status === 409 && facts.code !== 'ContainerBeingDeleted');
}

const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationSourceIPMismatch',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
  'KeyBasedAuthenticationNotPermitted',
  'NoAuthenticationInformation',
]);
const NETWORK_CODES = new Set(['REQUEST_SEND_ERROR', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'AbortError']);

export interface AzureFailureContext {
  readonly flag: string;
  /** The location without credentials. */
  readonly displayUrl: string;
  readonly account: string;
  readonly container: string;
  /** The Blob endpoint (no SAS). */
  readonly endpoint: string;
  /** Which credential the store uses, named in fixes. */
  readonly auth: 'connection-string' | 'account-key' | 'sas';
  readonly operation: string;
  /** A checkWritable call: auth and network failures are configuration problems. */
  readonly check?: boolean;
}

const AUTH_VARIABLES: Readonly<Record<AzureFailureContext['auth'], string>> = {
  'connection-string': 'AZURE_STORAGE_CONNECTION_STRING',
  'account-key': 'AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY',
  sas: 'AZURE_STORAGE_SAS_TOKEN',
};

export function azureFailure(error: unknown, context: AzureFailureContext): ConnectorError {
  const facts = azureErrorFacts(error);
  const where = `${context.flag} ${context.displayUrl}`;
  const what = `${facts.code}${facts.status === undefined ? '' : `, HTTP ${facts.status}`}`;
  const options = (code: string) => ({
    code,
    context: {
      store: 'azure',
      account: context.account,
      container: context.container,
      azureCode: facts.code,
      ...(facts.status === undefined ? {} : { status: facts.status }),
      ...(facts.requestId === undefined ? {} : { requestId: facts.requestId }),
    },
    cause: leanCause(error),
  });
  const credentials = AUTH_VARIABLES[context.auth];

  if (facts.code === 'ContainerNotFound') {
    return new ConfigError(
      `${where}: the container "${context.container}" does not exist in storage account "${context.account}" (${what}). ` +
        `Fix: create it (az storage container create --account-name ${context.account} --name ${context.container}), or correct the container in ${context.flag}.`,
      options('LAKEHOUSE_AZURE_NO_CONTAINER'),
    );
  }
  if (AUTH_CODES.has(facts.code) || facts.status === 401 || facts.status === 403) {
    const fix =
      facts.code === 'AuthenticationFailed'
        ? `the ${context.auth === 'sas' ? 'SAS token is invalid or expired' : 'account key does not match the account'}: check ${credentials}`
        : facts.code === 'KeyBasedAuthenticationNotPermitted'
          ? 'the account does not allow shared-key access: use a SAS token (AZURE_STORAGE_SAS_TOKEN)'
          : `grant read, write, delete and list on the container (a SAS with sp=rwdl, or the Storage Blob Data Contributor role), and check ${credentials}`;
    const message = `${where}: Azure Storage refused ${context.operation} (${what}). Fix: ${fix}.`;
    return context.check ? new ConfigError(message, options('LAKEHOUSE_AZURE_ACCESS_DENIED')) : new AuthError(message, options('LAKEHOUSE_AZURE_ACCESS_DENIED'));
  }
  if (NETWORK_CODES.has(facts.code) || (facts.status === undefined && /^E[A-Z]+$/.test(facts.code))) {
    const message =
      `${where}: could not reach the Blob endpoint ${context.endpoint} for ${context.operation} (${facts.code}). ` +
      'Fix: check the account name (in the URL or AZURE_STORAGE_ACCOUNT), AZURE_STORAGE_ENDPOINT or the connection string\'s BlobEndpoint, and the network path.';
    return context.check ? new ConfigError(message, options('LAKEHOUSE_AZURE_UNREACHABLE')) : new TransientError(message, options('LAKEHOUSE_AZURE_UNREACHABLE'));
  }
  if (facts.code === 'ServerBusy' || facts.status === 429 || facts.status === 503) {
    return new RateLimitError(`${where}: Azure Storage asked to slow down during ${context.operation} (${what}); it will be retried.`, {
      ...options('LAKEHOUSE_AZURE_SERVER_BUSY'),
      retryAfterMs: 1_000,
    });
  }
  if (facts.status !== undefined && facts.status >= 500) {
    return new TransientError(`${where}: Azure Storage failed ${context.operation} (${what}); it will be retried.`, options('LAKEHOUSE_AZURE_SERVER_ERROR'));
  }
  if (facts.code === 'InvalidHeaderValue' || facts.code === 'InvalidQueryParameterValue' || facts.code === 'UnsupportedHeader' || facts.code === 'FeatureNotSupportedByAccount') {
    return new ConfigError(`${where}: the Blob endpoint ${context.endpoint} does not support ${context.operation} (${what}). Fix: use a current Azure Storage account or Azurite 3.35 or newer.`, options('LAKEHOUSE_AZURE_UNSUPPORTED'));
  }
  return new InternalError(`${where}: ${context.operation} failed unexpectedly (${what}). Fix: check the storage account's logs for this request${facts.requestId === undefined ? '' : ` (request id ${facts.requestId})`}.`, options('LAKEHOUSE_AZURE_FAILED'));
}
