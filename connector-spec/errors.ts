/**
 * One error taxonomy for every source and the runner: config, auth, rate limit, transient, data, internal.
 * Each error has a stable `code`, a `retryable` marker, an optional `cause` and secret-free context.
 * Messages name the fix.
 */

export type ErrorKind = 'config' | 'auth' | 'rate_limit' | 'transient' | 'data' | 'internal';

/** Context attached to an error. Never put a secret here: it is logged and written to run reports. */
export interface ErrorContext {
  readonly table?: string;
  readonly window?: string;
  readonly status?: number;
  readonly requestId?: string;
  readonly path?: string;
  readonly [key: string]: string | number | boolean | undefined;
}

export interface ConnectorErrorOptions {
  readonly code: string;
  readonly context?: ErrorContext;
  readonly cause?: unknown;
}

export abstract class ConnectorError extends Error {
  abstract readonly kind: ErrorKind;
  abstract readonly retryable: boolean;
  readonly code: string;
  readonly context: ErrorContext;

  constructor(message: string, options: ConnectorErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.context = options.context ?? {};
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad configuration or input the user must fix (spec, env, table options). Not retryable. */
export class ConfigError extends ConnectorError {
  readonly kind = 'config' as const;
  readonly retryable = false;
}

/** Credentials rejected, wrong region, missing permission. Not retryable. */
export class AuthError extends ConnectorError {
  readonly kind = 'auth' as const;
  readonly retryable = false;
}

/** The API said "slow down". Retry after `retryAfterMs`. */
export class RateLimitError extends ConnectorError {
  readonly kind = 'rate_limit' as const;
  readonly retryable = true;
  readonly retryAfterMs: number;

  constructor(message: string, options: ConnectorErrorOptions & { readonly retryAfterMs: number }) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Network failure, 5xx, timeout, truncated stream. Retry with backoff. */
export class TransientError extends ConnectorError {
  readonly kind = 'transient' as const;
  readonly retryable = true;
}

/**
 * A call gave up because it read more rows than its source allows in one call (a memory and disk bound), before
 * the host kept any of them. The source has planned the same cursor smaller: retry it at once, and do not count
 * it as a failed attempt (each one shrinks the plan; a host bounds how many it accepts in a row).
 */
export class CallTooLargeError extends TransientError {}

/** `CallTooLargeError`s a host accepts in a row for one cursor before the call fails. */
export const MAX_RESIZES_PER_CALL = 16;

/** The data itself is unusable (unparseable beyond recovery, contract violated). Not retryable. */
export class DataError extends ConnectorError {
  readonly kind = 'data' as const;
  readonly retryable = false;
}

/** A bug or an unexpected state. Never retried. */
export class InternalError extends ConnectorError {
  readonly kind = 'internal' as const;
  readonly retryable = false;
}

/** Feature not available for this account (for example HTTP 402: the plan has no API access). */
export class NotEntitledError extends ConnectorError {
  readonly kind = 'config' as const;
  readonly retryable = false;
}

export type ErrorClass = 'config' | 'auth' | 'rate_limit' | 'transient' | 'not_entitled' | 'internal';

/**
 * The one HTTP status → error class table (Airbyte's DEFAULT_ERROR_MAPPING, MS validate_response).
 * A status missing here is looked up by its family (4xx → config, 5xx → transient); anything else is internal.
 */
export const HTTP_STATUS_ERRORS: Readonly<Record<number, { readonly errorClass: ErrorClass; readonly code: string }>> = {
  400: { errorClass: 'config', code: 'HTTP_BAD_REQUEST' },
  401: { errorClass: 'auth', code: 'HTTP_UNAUTHORIZED' },
  402: { errorClass: 'not_entitled', code: 'HTTP_PAYMENT_REQUIRED' },
  403: { errorClass: 'auth', code: 'HTTP_FORBIDDEN' },
  404: { errorClass: 'config', code: 'HTTP_NOT_FOUND' },
  408: { errorClass: 'transient', code: 'HTTP_REQUEST_TIMEOUT' },
  413: { errorClass: 'config', code: 'HTTP_PAYLOAD_TOO_LARGE' },
  429: { errorClass: 'rate_limit', code: 'HTTP_TOO_MANY_REQUESTS' },
  500: { errorClass: 'transient', code: 'HTTP_SERVER_ERROR' },
  502: { errorClass: 'transient', code: 'HTTP_BAD_GATEWAY' },
  503: { errorClass: 'transient', code: 'HTTP_UNAVAILABLE' },
  504: { errorClass: 'transient', code: 'HTTP_GATEWAY_TIMEOUT' },
};

export function errorClassForStatus(status: number): { errorClass: ErrorClass; code: string } {
  const exact = HTTP_STATUS_ERRORS[status];
  if (exact) return exact;
  if (status >= 500 && status <= 599) return { errorClass: 'transient', code: `HTTP_${status}` };
  if (status >= 400 && status <= 499) return { errorClass: 'config', code: `HTTP_${status}` };
  return { errorClass: 'internal', code: `HTTP_${status}` };
}

/**
 * Build the typed error for an HTTP status. `message` should already name the fix; the code is
 * `<prefix>_<table code>` (for example `MP_HTTP_UNAUTHORIZED`).
 */
export function errorForHttpStatus(
  status: number,
  message: string,
  options: { readonly codePrefix?: string; readonly context?: ErrorContext; readonly retryAfterMs?: number; readonly cause?: unknown } = {},
): ConnectorError {
  const { errorClass, code: baseCode } = errorClassForStatus(status);
  const code = options.codePrefix ? `${options.codePrefix}_${baseCode}` : baseCode;
  const base = { code, context: { ...options.context, status }, cause: options.cause };
  switch (errorClass) {
    case 'config':
      return new ConfigError(message, base);
    case 'auth':
      return new AuthError(message, base);
    case 'not_entitled':
      return new NotEntitledError(message, base);
    case 'rate_limit':
      return new RateLimitError(message, { ...base, retryAfterMs: options.retryAfterMs ?? 60_000 });
    case 'transient':
      return new TransientError(message, base);
    case 'internal':
      return new InternalError(message, base);
  }
}

export function isConnectorError(value: unknown): value is ConnectorError {
  return value instanceof ConnectorError;
}
