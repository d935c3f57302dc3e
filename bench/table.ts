/** The bench result table: one row per measured run, plain text (monospace) or Markdown. Pure. */

export interface BenchRow {
  readonly label: string;
  /** Events or profiles the run processed. */
  readonly records: number;
  /** Bytes of JSONL the run read (uncompressed), when it reads JSONL. */
  readonly jsonlBytes: number | null;
  readonly seconds: number;
  readonly peakRssMb: number | null;
  readonly parquetBytes: number | null;
  /** HTTP requests the bench server answered during the run. */
  readonly apiCalls: number | null;
  /** records/s of this row ÷ records/s of the DuckDB row on the same bytes. */
  readonly vsDuckdb: number | null;
  /** Rows in the table against the distinct events expected (`ok` or what is wrong), when the row checks it. */
  readonly check?: string | null;
  readonly error?: string | null;
}

export const COLUMNS = ['run', 'records', 'JSONL MB', 's', 'records/s', 'MB/s', 'peak RSS MiB', 'Parquet bytes', 'API calls', '× DuckDB', 'rows = distinct'] as const;

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fixed(n: number, digits: number): string {
  return n.toFixed(digits);
}

export function rowCells(row: BenchRow): string[] {
  if (row.error) return [row.label, int(row.records), '', '', '', '', '', '', '', '', `FAILED: ${row.error.slice(0, 160)}`];
  const rate = row.seconds > 0 ? row.records / row.seconds : 0;
  return [
    row.label,
    int(row.records),
    row.jsonlBytes === null ? '–' : fixed(row.jsonlBytes / 1e6, 1),
    fixed(row.seconds, 2),
    row.records === 0 ? '–' : int(rate),
    row.jsonlBytes === null || row.seconds === 0 ? '–' : fixed(row.jsonlBytes / 1e6 / row.seconds, 1),
    row.peakRssMb === null ? '–' : int(row.peakRssMb),
    row.parquetBytes === null ? '–' : int(row.parquetBytes),
    row.apiCalls === null ? '–' : int(row.apiCalls),
    row.vsDuckdb === null ? '–' : `${fixed(row.vsDuckdb, 2)}×`,
    row.check ?? '–',
  ];
}

const NUMERIC = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]);

export function formatTable(rows: readonly BenchRow[]): string {
  const cells = [COLUMNS.map(String), ...rows.map(rowCells)];
  const widths = COLUMNS.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (NUMERIC.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatMarkdownTable(rows: readonly BenchRow[]): string {
  const head = `| ${COLUMNS.join(' | ')} |`;
  const rule = `|${COLUMNS.map((_, c) => (NUMERIC.has(c) ? '---:' : '---')).join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${rowCells(r).join(' | ')} |`)].join('\n');
}
