/** Durations on the command line: `0`, `90s`, `5m`, `1h`, `7d` (a bare number is seconds). */
import { ConfigError } from '../connector-spec/index.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  const ms = match ? Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new ConfigError(`${flag} ${JSON.stringify(text)}: expected a duration such as 0, 90s, 5m, 1h or 7d`, { code: 'CLI_BAD_DURATION' });
  }
  return ms;
}
