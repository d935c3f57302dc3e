/**
 * Progress per table. On a TTY: one cli-progress bar per table (rows, MB, calls/slices, rate, API budget
 * left). Elsewhere the run logs structured lines instead and this reporter does nothing.
 */
import cliProgress from 'cli-progress';

export interface TableProgress {
  readonly rows: number;
  readonly bytes: number;
  readonly calls: number;
  readonly slicesDone?: number;
  readonly slicesTotal?: number;
  readonly apiBudgetLeft?: number;
}

export interface ProgressReporter {
  tableStarted(table: string): void;
  update(table: string, progress: TableProgress): void;
  tableFinished(table: string, status: string): void;
  stop(): void;
}

export const noProgress: ProgressReporter = { tableStarted() {}, update() {}, tableFinished() {}, stop() {} };

function formatMb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

/** A cli-progress multi-bar on `stream` (stderr by default); falls back to `noProgress` when not a TTY. */
export function createProgress(options: { stream?: NodeJS.WriteStream; force?: boolean } = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (!options.force && !stream.isTTY) return noProgress;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      format: '{table} | {status} | {rows} rows | {mb} MB | calls {calls} | slices {slices} | {rate} rows/s | API left {budget}',
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  return {
    tableStarted(table) {
      bars.set(table, { bar: multi.create(1, 0, { table: table.padEnd(16), status: 'running', rows: 0, mb: '0.0', calls: 0, slices: '-', rate: 0, budget: '-' }), started: Date.now() });
    },
    update(table, p) {
      const entry = bars.get(table);
      if (!entry) return;
      const seconds = Math.max(0.001, (Date.now() - entry.started) / 1000);
      entry.bar.update(0, {
        rows: p.rows,
        mb: formatMb(p.bytes),
        calls: p.calls,
        slices: p.slicesTotal !== undefined ? `${p.slicesDone ?? 0}/${p.slicesTotal}` : '-',
        rate: Math.round(p.rows / seconds),
        budget: p.apiBudgetLeft ?? '-',
      });
    },
    tableFinished(table, status) {
      const entry = bars.get(table);
      entry?.bar.update(1, { status });
    },
    stop() {
      multi.stop();
    },
  };
}
