/**
 * Non-success HTTP responses → typed connector errors whose messages name the fix. Statuses go through
 * `errorForHttpStatus` only (the one table in connector-spec/errors.ts). No secret ever reaches a message:
 * only the status, the path, the region flag and Mixpanel's own error text (truncated).
 */
import { ConfigError, errorForHttpStatus, isConnectorError, type ConnectorError, type ErrorContext } from '../../../connector-spec/index.js';
import type { MixpanelRegion } from '../config-types.js';
import { parseJsonLossless } from '../json.js';
import { regionHintFromBody } from './hosts.js';

export const ERROR_CODE_PREFIX = 'MP';

/** Mixpanel's error text from a body (`{"error": "..."}` or plain text), trimmed to one short line. */
export function errorTextFromBody(body: string): string {
  let text = body;
  try {
    const parsed = parseJsonLossless(body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const error = (parsed as Record<string, unknown>)['error'];
      if (typeof error === 'string') text = error;
    }
  } catch {
    // not JSON: keep the text
  }
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

export interface ResponseFacts {
  readonly status: number;
  readonly path: string;
  readonly body: string;
  readonly region: MixpanelRegion;
  readonly usesBaseUrl: boolean;
  readonly authKind: 'service_account' | 'api_secret';
  readonly table: string;
  readonly requestId?: string | undefined;
  readonly retryAfterMs?: number | undefined;
}

function credentialVars(authKind: ResponseFacts['authKind']): string {
  return authKind === 'service_account' ? 'MIXPANEL_USERNAME, MIXPANEL_SECRET and MIXPANEL_PROJECT_ID' : 'MIXPANEL_API_SECRET';
}

/** The message for a failed call, naming the fix. */
export function messageForResponse(facts: ResponseFacts): string {
  const said = errorTextFromBody(facts.body);
  const quoted = said === '' ? '' : ` Mixpanel said: "${said}".`;
  const where = `${facts.path} (HTTP ${facts.status})`;
  switch (facts.status) {
    case 401: {
      const hint = regionHintFromBody(facts.body, facts.region);
      const regionPart = hint
        ? ` The response points at the ${hint} data residency: set MIXPANEL_REGION=${hint}.`
        : ` Also check MIXPANEL_REGION (now ${facts.region}): credentials of a project in another region are rejected.`;
      return `Mixpanel rejected the credentials on ${where}: check ${credentialVars(facts.authKind)}.${regionPart}${quoted}`;
    }
    case 402:
      return `The Mixpanel plan has no API access for ${facts.path} (HTTP 402): upgrade the plan or remove table ${facts.table} from the pipeline spec.${quoted}`;
    case 403:
      return `Mixpanel refused ${where}: give the service account access to this project (and classified data) or shorten the date range.${quoted}`;
    case 404:
      return `Mixpanel has no ${facts.path} (HTTP 404): check MIXPANEL_BASE_URL/MIXPANEL_REGION and MIXPANEL_PROJECT_ID.${quoted}`;
    case 400:
      if (/to_date cannot be later than today/i.test(facts.body)) {
        return `Mixpanel rejected the date range on ${where}: set MIXPANEL_PROJECT_TIMEZONE to the project's timezone (Project Settings → Overview) and MIXPANEL_LEGACY_LOCAL_TIME=true if the project was created before 2023-01-01.${quoted}`;
      }
      if (/unable to authenticate/i.test(facts.body)) {
        return `Mixpanel could not authenticate ${where}: check ${credentialVars(facts.authKind)} (expired service account?) and MIXPANEL_REGION.${quoted}`;
      }
      return `Mixpanel rejected the request ${where}: check the table options (where, export_events, dates).${quoted}`;
    case 429:
      return `Mixpanel rate limit on ${where} did not clear in time: run again later, or lower the number of tables/slices per hour.${quoted}`;
    default:
      if (facts.status >= 500) return `Mixpanel failed on ${where}: a server-side error; the call is retried, run again later if it persists.${quoted}`;
      return `Mixpanel answered ${where} unexpectedly: check MIXPANEL_BASE_URL and the table options.${quoted}`;
  }
}

/** The typed error for a failed response. */
export function errorForResponse(facts: ResponseFacts): ConnectorError {
  const context: ErrorContext = { table: facts.table, path: facts.path, ...(facts.requestId ? { requestId: facts.requestId } : {}) };
  const status = facts.status === 400 && /unable to authenticate/i.test(facts.body) ? 401 : facts.status;
  return errorForHttpStatus(status, messageForResponse(facts), {
    codePrefix: ERROR_CODE_PREFIX,
    context,
    ...(facts.retryAfterMs !== undefined ? { retryAfterMs: facts.retryAfterMs } : {}),
  });
}

const UNREACHABLE_MEANING: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the connection was refused: nothing accepts connections on that host and port',
  ENOTFOUND: 'the host name does not resolve',
  EAI_NONAME: 'the host name does not resolve',
  EAI_AGAIN: 'the DNS lookup of the host failed',
  EAI_FAIL: 'the DNS lookup of the host failed',
};

export interface UnreachableFacts {
  /** The URL that was called (only its host and port are shown: a base URL may carry credentials). */
  readonly url: string;
  /** `ECONNREFUSED`, `ENOTFOUND`, … (see `unreachableCode`). */
  readonly code: string;
  readonly path: string;
  readonly table: string;
  readonly region: MixpanelRegion;
  readonly usesBaseUrl: boolean;
  /** Calls made before giving up. */
  readonly attempts: number;
}

/**
 * A host that cannot be reached at all (refused, no DNS): a ConfigError (MP_UNREACHABLE), so the runner does not
 * retry it and the source does not split the slice; the message names the host and the variables that choose it.
 */
export function unreachableError(facts: UnreachableFacts, cause: unknown): ConfigError {
  const host = new URL(facts.url).host;
  const meaning = UNREACHABLE_MEANING[facts.code] ?? 'the host cannot be reached';
  const chosenBy = facts.usesBaseUrl
    ? `MIXPANEL_BASE_URL points every API at ${host}: check it (scheme, host and port), or unset it to use the Mixpanel hosts of MIXPANEL_REGION (now ${facts.region})`
    : `MIXPANEL_REGION (now ${facts.region}) chose ${host} (MIXPANEL_BASE_URL is not set): check the region, and this machine's DNS, proxy and firewall`;
  return new ConfigError(`Cannot reach ${host} for ${facts.path} (${facts.code}: ${meaning}; ${facts.attempts} attempts): ${chosenBy}. Then run again.`, {
    code: `${ERROR_CODE_PREFIX}_UNREACHABLE`,
    context: { table: facts.table, path: facts.path, host },
    cause,
  });
}

/** Codes of failures in which the answer itself broke: the body was cut, timed out, or ended early. */
const BODY_FAILURE_CODES: ReadonlySet<string> = new Set([
  `${ERROR_CODE_PREFIX}_STREAM_BROKEN`,
  `${ERROR_CODE_PREFIX}_EXPORT_TRUNCATED`,
  `${ERROR_CODE_PREFIX}_EXPORT_TERMINATED_EARLY`,
  `${ERROR_CODE_PREFIX}_HEADERS_TIMEOUT`,
]);

/**
 * True when reading a smaller slice may succeed where this one failed: the answer broke off, timed out or ended
 * early, or the server failed on it (5xx, 408). Never for a connection that could not be made (refused, DNS,
 * connect timeout, reset before any answer) nor for config, auth or rate-limit errors.
 */
export function splitMayHelp(error: unknown): boolean {
  if (!isConnectorError(error) || error.kind !== 'transient') return false;
  if (BODY_FAILURE_CODES.has(error.code)) return true;
  const status = error.context['status'];
  return typeof status === 'number' && (status >= 500 || status === 408);
}
