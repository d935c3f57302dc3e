/**
 * The export server's own reading of `where`: just the shape a processing-time incremental reader sends, an AND of
 *   properties["mp_processing_time_ms"] (>|>=|<|<=) <integer>
 *   properties["$time"] (>=|<) datetime("YYYY-MM-DDTHH:MM:SS")        (hour slices, UTC)
 * terms, optionally parenthesised. Anything else is refused (`problem`), so the server never answers a filter it
 * did not understand. Written for this server alone: it shares no code with the connector.
 */

export interface Range {
  /** Exclusive lower bound (`>= x` is stored as `> x − 1`), or null. */
  readonly above: number | null;
  /** Inclusive upper bound (`< x` is stored as `<= x − 1`), or null. */
  readonly atMost: number | null;
}

export interface ExportFilter {
  readonly processing: Range;
  /** Event time (epoch ms, UTC wall clock). */
  readonly time: Range;
}

export type WhereResult = { readonly ok: true; readonly filter: ExportFilter } | { readonly ok: false; readonly problem: string };

const OPEN: Range = { above: null, atMost: null };

const TERM =
  /^\(*\s*properties\s*\[\s*"(mp_processing_time_ms|\$time)"\s*\]\s*(>=|>|<=|<)\s*(?:(-?\d+)|datetime\s*\(\s*"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})"\s*\))\s*\)*$/;

function narrow(range: Range, op: string, value: number): Range {
  switch (op) {
    case '>':
      return { ...range, above: range.above === null ? value : Math.max(range.above, value) };
    case '>=':
      return { ...range, above: range.above === null ? value - 1 : Math.max(range.above, value - 1) };
    case '<=':
      return { ...range, atMost: range.atMost === null ? value : Math.min(range.atMost, value) };
    default:
      return { ...range, atMost: range.atMost === null ? value - 1 : Math.min(range.atMost, value - 1) };
  }
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const c of text) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

export function parseWhere(where: string | undefined): WhereResult {
  if (where === undefined || where.trim() === '') return { ok: true, filter: { processing: OPEN, time: OPEN } };
  if (!balanced(where)) return { ok: false, problem: 'unbalanced parentheses' };
  if (/\bor\b|\bnot\b/i.test(where.replace(/"[^"]*"/g, '""'))) return { ok: false, problem: 'only "and" of processing-time and $time bounds is supported' };
  let processing = OPEN;
  let time = OPEN;
  for (const raw of where.split(/\band\b/i)) {
    const m = TERM.exec(raw.trim());
    if (m === null) return { ok: false, problem: `unsupported term: ${raw.trim().slice(0, 120)}` };
    const [, property, op, integer, datetime] = m;
    if (property === 'mp_processing_time_ms') {
      if (integer === undefined) return { ok: false, problem: 'mp_processing_time_ms compares with an integer' };
      processing = narrow(processing, op!, Number(integer));
    } else {
      if (datetime === undefined) return { ok: false, problem: '$time compares with datetime("…")' };
      time = narrow(time, op!, Date.parse(`${datetime}Z`));
    }
  }
  return { ok: true, filter: { processing, time } };
}

export function inRange(range: Range, value: number): boolean {
  return (range.above === null || value > range.above) && (range.atMost === null || value <= range.atMost);
}

/** Does every value in [min, max] fall in the range ('all'), none of them ('none'), or some? */
export function coverage(range: Range, min: number, max: number): 'all' | 'none' | 'some' {
  if ((range.above !== null && max <= range.above) || (range.atMost !== null && min > range.atMost)) return 'none';
  return inRange(range, min) && inRange(range, max) ? 'all' : 'some';
}
