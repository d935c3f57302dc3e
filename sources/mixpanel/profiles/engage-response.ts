/** Validation of Engage API responses (`unknown` at the edge → typed records). Pure; `engage-page-reader.ts` feeds it. */
import { DataError } from '../../../connector-spec/index.js';

export interface ProfileRecord {
  /** `$distinct_id` as exact text (numeric ids, including 19-digit ones, keep every digit). */
  readonly distinctId: string;
  readonly properties: Readonly<Record<string, unknown>>;
}

export interface EngagePage {
  readonly results: readonly ProfileRecord[];
  readonly sessionId: string | undefined;
  /** The page size the server used; undefined when it did not say. */
  readonly pageSize: number | undefined;
  readonly total: number | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exact text of an id that may arrive as a string, a safe number or a bigint (lossless JSON). */
export function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (isObject(value) && typeof value.isLosslessNumber === 'boolean' && typeof value.value === 'string') return value.value;
  return undefined;
}

function dataError(message: string, table: string): DataError {
  return new DataError(`${message}; the Engage API answer does not have the documented shape — check MIXPANEL_BASE_URL points at Mixpanel`, {
    code: 'MP_ENGAGE_BAD_RESPONSE',
    context: { table },
  });
}

/** One item of `results` as parsed → a profile record; DataError when it is not one. */
export function profileRecordOf(item: unknown, table: string): ProfileRecord {
  if (!isObject(item)) throw dataError('engage result is not an object', table);
  const distinctId = idText(item.$distinct_id);
  if (distinctId === undefined) throw dataError('engage result without $distinct_id', table);
  const props = item.$properties ?? {};
  if (!isObject(props)) throw dataError('engage $properties is not an object', table);
  return { distinctId, properties: props };
}

/**
 * The page from its envelope (the parsed body with the items of `results` taken out, so `results` is `[]` when it
 * was an array) and the records of those items.
 */
export function engagePageOf(envelope: unknown, results: readonly ProfileRecord[], table: string): EngagePage {
  if (!isObject(envelope)) throw dataError('engage response is not a JSON object', table);
  if (typeof envelope.status === 'string' && envelope.status !== 'ok') throw dataError(`engage status "${envelope.status}"`, table);
  const absent = envelope.results === null || envelope.results === undefined;
  if (!absent && !Array.isArray(envelope.results)) throw dataError('engage results is not an array', table);
  const sessionId = typeof envelope.session_id === 'string' && envelope.session_id !== '' ? envelope.session_id : undefined;
  const pageSize = typeof envelope.page_size === 'number' && envelope.page_size > 0 ? envelope.page_size : undefined;
  const total = typeof envelope.total === 'number' ? envelope.total : undefined;
  return { results: absent ? [] : results, sessionId, pageSize, total };
}
