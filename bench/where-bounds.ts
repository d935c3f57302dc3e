/**
 * The two `where` shapes the bench server must understand, parsed without a full expression engine:
 * - export: `properties["mp_processing_time_ms"] > L and properties["mp_processing_time_ms"] <= U`
 *   (either bound optional; `>=`/`<` accepted), and the hour slices' `properties["$time"] >= datetime("…")`;
 * - engage: `properties["$last_seen"] > "YYYY-MM-DDTHH:MM:SS"` (also `>=`, `datetime("…")`).
 * Anything else left over makes the result `unsupported`, so the server refuses instead of answering wrongly.
 */

export interface NumericBounds {
  /** Exclusive lower bound (a `>= x` is stored as `> x − 1`). */
  readonly lowerExclusive: number | null;
  /** Inclusive upper bound (a `< x` is stored as `<= x − 1`). */
  readonly upperInclusive: number | null;
  /** Text of the expression this parser did not understand, or null. */
  readonly unsupported: string | null;
}

const PROCESSING = /\(?\s*properties\s*\[\s*"\$?mp_processing_time_ms"\s*\]\s*(>=|>|<=|<)\s*(?:number\s*\(\s*)?(\d+)\s*\)?\s*\)?/g;
const EVENT_TIME = /\(?\s*properties\s*\[\s*"\$time"\s*\]\s*(>=|>|<=|<)\s*datetime\s*\(\s*"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})"\s*\)\s*\)?/g;
const LAST_SEEN = /\(?\s*(?:properties|user)\s*\[\s*"\$last_seen"\s*\]\s*(>=|>)\s*(?:datetime\s*\(\s*)?"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:Z)?"\s*\)?\s*\)?/g;

function leftover(where: string, ...patterns: RegExp[]): string | null {
  const rest = patterns
    .reduce((text, pattern) => text.replace(pattern, ' '), where)
    .replace(/\band\b/gi, ' ')
    .replace(/[()\s]/g, '');
  return rest === '' ? null : rest;
}

function addBound(b: { lower: number | null; upper: number | null }, op: string, value: number): void {
  if (op === '>') b.lower = Math.max(b.lower ?? value, value);
  else if (op === '>=') b.lower = Math.max(b.lower ?? value - 1, value - 1);
  else if (op === '<=') b.upper = Math.min(b.upper ?? value, value);
  else b.upper = Math.min(b.upper ?? value - 1, value - 1);
}

export interface ExportBounds extends NumericBounds {
  /** Event-time bounds (epoch ms, UTC wall clock) from the hour slices the source uses after repeated failures. */
  readonly time: { readonly lowerExclusive: number | null; readonly upperInclusive: number | null };
}

/** Export: processing-time bounds, plus `$time` hour bounds (UTC projects) when present. */
export function exportBounds(where: string | undefined): ExportBounds {
  const processing = { lower: null as number | null, upper: null as number | null };
  const time = { lower: null as number | null, upper: null as number | null };
  if (where === undefined || where.trim() === '') {
    return { lowerExclusive: null, upperInclusive: null, unsupported: null, time: { lowerExclusive: null, upperInclusive: null } };
  }
  for (const m of where.matchAll(PROCESSING)) addBound(processing, m[1]!, Number(m[2]));
  for (const m of where.matchAll(EVENT_TIME)) addBound(time, m[1]!, Date.parse(`${m[2]}Z`));
  return {
    lowerExclusive: processing.lower,
    upperInclusive: processing.upper,
    unsupported: leftover(where, PROCESSING, EVENT_TIME),
    time: { lowerExclusive: time.lower, upperInclusive: time.upper },
  };
}

/** Engage: the `$last_seen` lower bound in epoch ms (exclusive), or null when the where has none. */
export function lastSeenLowerBound(where: string | undefined): NumericBounds {
  if (where === undefined || where.trim() === '') return { lowerExclusive: null, upperInclusive: null, unsupported: null };
  let lower: number | null = null;
  for (const m of where.matchAll(LAST_SEEN)) {
    const ms = Date.parse(`${m[2]}Z`);
    const bound = m[1] === '>' ? ms : ms - 1;
    lower = Math.max(lower ?? bound, bound);
  }
  return { lowerExclusive: lower, upperInclusive: null, unsupported: leftover(where, LAST_SEEN) };
}
