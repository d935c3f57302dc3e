/**
 * S3 failures → the connector-spec taxonomy. Messages name the location, the operation, the S3 error code and the
 * fix (which environment variable, which permission); never a credential. `check: true` (checkWritable) turns
 * rejected credentials and an unreachable endpoint into ConfigErrors naming the flag, so a run stops before work.
 */
import { AuthError, ConfigError, InternalError, RateLimitError, TransientError, type ConnectorError } from '../../connector-spec/index.js';
import { leanCause } from './store-support.js';

/** What a failed S3 call tells us, read defensively from the SDK's error shape. */
export interface S3ErrorFacts {
  /** The S3 error code (`NoSuchBucket`, `AccessDenied`, …), the SDK error name, or a Node system code. */
  readonly code: string;
  readonly status?: number;
  readonly requestId?: string;
  /** How many attempts the SDK made (its retries included). */
  readonly attempts?: number;
}

export function s3ErrorFacts(error: unknown): S3ErrorFacts {
  if (typeof error !== 'object' || error === null) return { code: 'Unknown' };
  const record = error as Record<string, unknown>;
  const metadata = typeof record.$metadata === 'object' && record.$metadata !== null ? (record.$metadata as Record<string, unknown>) : {};
  const code =
    stringField(record, 'Code') ?? (typeof record.code === 'string' && /^E[A-Z]+$/.test(record.code) ? record.code : undefined) ?? stringField(record, 'name') ?? 'Unknown';
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  const requestId = typeof metadata.requestId === 'string' ? metadata.requestId : undefined;
  const attempts = typeof metadata.attempts === 'number' ? metadata.attempts : undefined;
  return { code, ...(status === undefined ? {} : { status }), ...(requestId === undefined ? {} : { requestId }), ...(attempts === undefined ? {} : { attempts }) };
}

/** 404 on an object (GetObject's NoSuchKey, HeadObject's bodiless NotFound). */
export function isS3NotFound(facts: S3ErrorFacts): boolean {
  return facts.code === 'NoSuchKey' || facts.code === 'NotFound' || (facts.status === 404 && facts.code !== 'NoSuchBucket' && facts.code !== 'NoSuchUpload');
}

/** The server refused an `If-None-Match: *` write: the key exists (412), or a concurrent conditional write won (409). */
export function isS3PreconditionFailure(facts: S3ErrorFacts): boolean {
  return facts.status === 412 || facts.code === 'PreconditionFailed' || facts.code === 'ConditionalRequestConflict' || (facts.status === 409 && facts.code !== 'BucketAlreadyExists');
}

/** The server does not implement the conditional header at all (some S3-compatible gateways). */
export function isS3NotImplemented(facts: S3ErrorFacts): boolean {
  return facts.status === 501 || facts.code === 'NotImplemented';
}

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidToken',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
  'Forbidden',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

export interface S3FailureContext {
  /** `--lakehouse` or another flag, named in ConfigErrors. */
  readonly flag: string;
  /** The location without credentials (`s3://bucket/prefix`). */
  readonly displayUrl: string;
  readonly bucket: string;
  /** `AWS_ENDPOINT_URL` when set (an S3-compatible store). */
  readonly endpoint?: string;
  /** What we were doing: `read _delta_log/00000000000000000003.json`. */
  readonly operation: string;
  /** A checkWritable call: auth and network failures are configuration problems. */
  readonly check?: boolean;
}

const CREDENTIAL_FIX =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE ' +
  '(after `aws sso login` for SSO), or run where an instance, task or IRSA role provides them';

/** Turn any S3 SDK failure into a typed, secret-free error. */
export function s3Failure(error: unknown, context: S3FailureContext): ConnectorError {
  const facts = s3ErrorFacts(error);
  const where = `${context.flag} ${context.displayUrl}`;
  const server = context.endpoint === undefined ? 'S3' : `the S3-compatible store at ${context.endpoint}`;
  const what = `${facts.code}${facts.status === undefined ? '' : `, HTTP ${facts.status}`}`;
  const errorContext = {
    store: 's3',
    bucket: context.bucket,
    s3Code: facts.code,
    ...(facts.status === undefined ? {} : { status: facts.status }),
    ...(facts.requestId === undefined ? {} : { requestId: facts.requestId }),
  };
  const options = (code: string) => ({ code, context: errorContext, cause: leanCause(error) });

  if (facts.code === 'CredentialsProviderError' || facts.code === 'CredentialsError') {
    return new ConfigError(`${where}: no AWS credentials were found for ${context.operation}. Fix: ${CREDENTIAL_FIX}.`, options('LAKEHOUSE_S3_NO_CREDENTIALS'));
  }
  if (error instanceof Error && /region is missing/i.test(error.message)) {
    return new ConfigError(`${where}: no AWS region is configured. Fix: set AWS_REGION to the bucket's region (for example eu-west-1), or region in your AWS profile.`, options('LAKEHOUSE_S3_NO_REGION'));
  }
  if (facts.code === 'NoSuchBucket') {
    return new ConfigError(
      `${where}: the bucket "${context.bucket}" does not exist on ${server} (${what}). Fix: create it, or correct the bucket in ${context.flag}` +
        `${context.endpoint === undefined ? '' : ' (and check AWS_ENDPOINT_URL)'}.`,
      options('LAKEHOUSE_S3_NO_BUCKET'),
    );
  }
  if (facts.code === 'PermanentRedirect' || facts.code === 'AuthorizationHeaderMalformed' || facts.code === 'IllegalLocationConstraintException' || facts.status === 301) {
    return new ConfigError(`${where}: the bucket "${context.bucket}" is in another region (${what}). Fix: set AWS_REGION to the bucket's region.`, options('LAKEHOUSE_S3_WRONG_REGION'));
  }
  if (AUTH_CODES.has(facts.code) || facts.status === 401 || facts.status === 403) {
    const fix =
      facts.code === 'InvalidAccessKeyId'
        ? `the access key id is unknown to ${server}: check AWS_ACCESS_KEY_ID${context.endpoint === undefined ? '' : ' and AWS_ENDPOINT_URL'}`
        : facts.code === 'SignatureDoesNotMatch'
          ? 'the secret does not match the access key id: check AWS_SECRET_ACCESS_KEY'
          : facts.code === 'ExpiredToken' || facts.code === 'TokenRefreshRequired'
            ? 'the temporary credentials expired: refresh AWS_SESSION_TOKEN (or run `aws sso login` again)'
            : `grant the credentials s3:ListBucket on the bucket and s3:GetObject, s3:PutObject and s3:DeleteObject on ${context.displayUrl}/*, or ${CREDENTIAL_FIX}`;
    const message = `${where}: ${server} refused ${context.operation} (${what}). Fix: ${fix}.`;
    return context.check ? new ConfigError(message, options('LAKEHOUSE_S3_ACCESS_DENIED')) : new AuthError(message, options('LAKEHOUSE_S3_ACCESS_DENIED'));
  }
  if (NETWORK_CODES.has(facts.code)) {
    const fix =
      context.endpoint === undefined
        ? 'check the network path to S3 (proxy, VPC endpoint, DNS)'
        : 'check AWS_ENDPOINT_URL (scheme, host and port) and that the store is running';
    const message = `${where}: could not reach ${server} for ${context.operation} (${facts.code}). Fix: ${fix}.`;
    return context.check ? new ConfigError(message, options('LAKEHOUSE_S3_UNREACHABLE')) : new TransientError(message, options('LAKEHOUSE_S3_UNREACHABLE'));
  }
  if (THROTTLE_CODES.has(facts.code) || facts.status === 429 || facts.status === 503) {
    return new RateLimitError(`${where}: ${server} asked to slow down during ${context.operation} (${what}); it will be retried.`, {
      ...options('LAKEHOUSE_S3_SLOW_DOWN'),
      retryAfterMs: 1_000,
    });
  }
  if (facts.status !== undefined && facts.status >= 500) {
    return new TransientError(`${where}: ${server} failed ${context.operation} (${what}); it will be retried.`, options('LAKEHOUSE_S3_SERVER_ERROR'));
  }
  if (isS3NotImplemented(facts)) {
    return new ConfigError(`${where}: ${server} does not implement ${context.operation} (${what}). Fix: use a store that implements the S3 API used here, or upgrade it.`, options('LAKEHOUSE_S3_NOT_IMPLEMENTED'));
  }
  return new InternalError(`${where}: ${context.operation} failed unexpectedly (${what}). Fix: check the store's logs for this request${facts.requestId === undefined ? '' : ` (request id ${facts.requestId})`}.`, options('LAKEHOUSE_S3_FAILED'));
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
