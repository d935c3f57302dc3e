/** The end-of-run summary printed by `run` and the demo: one line per table, then the report file. */
import type { RunReport } from '../runner/index.js';

const MB = 1024 * 1024;

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatSummary(report: RunReport): string {
  const header = ['table', 'status', 'rows read', 'rows written', 'files', 'MB', 'seconds', 'api calls'];
  const rows = report.tables.map((t) => [
    t.table,
    t.status,
    t.rowsRead.toLocaleString('en-US'),
    t.rowsWritten.toLocaleString('en-US'),
    String(t.filesAdded),
    (t.bytesWritten / MB).toFixed(2),
    (t.durationMs / 1000).toFixed(1),
    String(t.apiCalls),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => pad(c, widths[i]!, i >= 2)).join('  ');
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  for (const t of report.tables) {
    for (const warning of t.warnings) out.push(`warning ${t.table}: ${warning}`);
    if (t.error) out.push(`error ${t.table} [${t.error.code}]: ${t.error.message}`);
    if (t.snapshotDiff && (t.snapshotDiff.added > 0 || t.snapshotDiff.removed > 0)) {
      out.push(`${t.table}: ${t.snapshotDiff.added} joined, ${t.snapshotDiff.removed} left since the previous snapshot`);
    }
  }
  out.push(`run ${report.status}${report.file ? ` · report: ${report.file}` : ''}`);
  return `${out.join('\n')}\n`;
}
