/** Small pure validators for Query-API report answers (`unknown` at the edge → typed values). */
import { DataError } from '../../../connector-spec/index.js';
import { idText } from '../profiles/engage-response.js';
import { toInt64 } from '../properties.js';

/** Arrow field metadata key marking a Utf8 column that holds JSON text (Singer mode emits it parsed). */
export const JSON_COLUMN_META = 'mixpanel.json';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function badResponse(table: string, path: string, why: string): DataError {
  return new DataError(`table ${table}: ${path} answered with ${why}; check MIXPANEL_BASE_URL points at Mixpanel (or a faithful emulator)`, {
    code: 'MP_REPORT_BAD_RESPONSE',
    context: { table, path },
  });
}

/** An integer (safe number or bigint) or null; a non-integer is null. */
export function intOrNull(value: unknown): number | bigint | null {
  const r = toInt64(value);
  return r.ok ? r.value : null;
}

export function floatOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** An integer id as exact text (numbers, bigints, numeric strings), or undefined. */
export function integerIdText(value: unknown): string | undefined {
  const text = idText(value);
  return text !== undefined && /^-?\d+$/.test(text) ? text : undefined;
}

export function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
