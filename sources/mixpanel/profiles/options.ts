/** Table-option parsing shared by the profile tables. Errors are ConfigErrors naming the option and the fix. */
import { ConfigError } from '../../../connector-spec/index.js';

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `10m`, `12h`, `1d` → milliseconds. */
export function parseDuration(text: string, option: string, table: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) {
    throw new ConfigError(`table ${table}: option ${option}="${text}" is not a duration; use a number and a unit, e.g. 10m, 12h or 1d`, {
      code: 'MP_BAD_TABLE_OPTION',
      context: { table, option },
    });
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Optional duration option; `off`, `none`, `0` and empty mean disabled (null). */
export function optionalDuration(value: string | undefined, option: string, table: string): number | null {
  if (value === undefined) return null;
  const t = value.trim().toLowerCase();
  if (t === '' || t === 'off' || t === 'none' || t === '0') return null;
  const ms = parseDuration(value, option, table);
  return ms > 0 ? ms : null;
}

export function positiveInt(value: string | undefined, fallback: number, option: string, table: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
    throw new ConfigError(`table ${table}: option ${option}="${value}" must be a whole number between 1 and ${max}`, {
      code: 'MP_BAD_TABLE_OPTION',
      context: { table, option },
    });
  }
  return Number(value);
}

export function booleanOption(value: string | undefined, fallback: boolean, option: string, table: string): boolean {
  if (value === undefined) return fallback;
  const t = value.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new ConfigError(`table ${table}: option ${option}="${value}" must be true or false`, { code: 'MP_BAD_TABLE_OPTION', context: { table, option } });
}

/** Reject keys the table does not declare (a typo must not silently change what is read). */
export function rejectUnknownOptions(options: Readonly<Record<string, string>>, known: readonly string[], table: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConfigError(`table ${table}: unknown option "${key}"; valid options: ${known.join(', ') || '(none)'}`, {
        code: 'MP_UNKNOWN_TABLE_OPTION',
        context: { table, option: key },
      });
    }
  }
}
