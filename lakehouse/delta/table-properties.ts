/**
 * The Delta table properties the log core honours: `delta.logRetentionDuration` (default 30 days),
 * `delta.deletedFileRetentionDuration` (default 7 days), both in Delta's `interval N days` form, and
 * `delta.appendOnly`.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_LOG_RETENTION_MS = 30 * DAY_MS;
export const DEFAULT_DELETED_FILE_RETENTION_MS = 7 * DAY_MS;

const UNIT_MS: Readonly<Record<string, number>> = {
  microsecond: 0.001,
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: DAY_MS,
  week: 7 * DAY_MS,
};

const INTERVAL = /^\s*(?:interval\s+)?(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$/i;

/**
 * Milliseconds of a Delta interval (`interval 30 days`, `interval 1 week`, `168 hours`); undefined when the
 * text is not one (months and years are refused: their length varies, and Delta refuses them too).
 */
export function parseInterval(text: string): number | undefined {
  const m = INTERVAL.exec(text);
  if (!m) return undefined;
  const unit = UNIT_MS[(m[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  return Number(m[1]) * unit;
}

export interface Retention {
  /** Milliseconds, or undefined when the property is set but unreadable (then nothing is deleted). */
  readonly ms: number | undefined;
  /** The property's text when set. */
  readonly text?: string;
}

function retention(configuration: Readonly<Record<string, string>>, key: string, fallback: number): Retention {
  const text = configuration[key];
  if (text === undefined) return { ms: fallback };
  return { ms: parseInterval(text), text };
}

export function logRetention(configuration: Readonly<Record<string, string>>): Retention {
  return retention(configuration, 'delta.logRetentionDuration', DEFAULT_LOG_RETENTION_MS);
}

export function deletedFileRetention(configuration: Readonly<Record<string, string>>): Retention {
  return retention(configuration, 'delta.deletedFileRetentionDuration', DEFAULT_DELETED_FILE_RETENTION_MS);
}

export function isAppendOnly(configuration: Readonly<Record<string, string>>): boolean {
  return configuration['delta.appendOnly']?.toLowerCase() === 'true';
}
