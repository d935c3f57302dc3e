/**
 * The real-shaped rows of the bench (issue 17): per size and window, against the export server in its own
 * process (bench/export-server/), each next to DuckDB on the same bytes:
 *   duckdb real N × W                  read_json → COPY zstd over the first run's body, as served (gunzipped)
 *   real N × W                         a first sync: ~1% re-sent copies in the same calls, late events, hostile values
 *   real incremental, copies + late    the second run one hour later: cross-call copies and new late events arrive
 *   duckdb real N × W, no copies       the same bytes without the copies
 *   real N × W, no copies              the same data without the re-sent copies (what the copies cost)
 * Every connector row checks the table: rows = the distinct events the generator counted, in total and per day.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRows, human, measure, measureFresh, row, type BenchWindow, type Context } from '../rows.js';
import type { BenchRow } from '../table.js';
import { tableBytes } from '../table-rows.js';
import { FIRST_RUN_NOW_MS, SECOND_RUN_NOW_MS, SKIP_COPIES, ensureRealDataset, servedFiles, type RealDataset } from './dataset.js';
import { startExportServer } from './server-process.js';

const WINDOW_DAYS: Readonly<Record<BenchWindow, number>> = { '1d': 1, '30d': 30 };

export interface RealRowOptions {
  /** Pace the export server's body (bytes/s); default: as fast as the socket drains. */
  readonly rateBytesPerSecond?: number;
  readonly noDuckdb?: boolean;
}

async function duckdbOn(ctx: Context, label: string, dataset: RealDataset, run: 'first' | 'first-no-copies'): Promise<{ row: BenchRow; rate: number | null }> {
  const files = servedFiles(dataset, run);
  const records = files.reduce((n, f) => n + f.lines, 0);
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  const out = join(ctx.root, 'runs', `duckdb-real-${dataset.events}-${dataset.days}d-${run}.parquet`);
  await mkdir(join(ctx.root, 'runs'), { recursive: true });
  const m = await measureFresh(ctx, label, { kind: 'duckdb', files: files.map((f) => join(dataset.dir, f.name)), out }, () => rm(out, { force: true }));
  const parquet = await stat(out).then((s) => s.size, () => null);
  if (!ctx.options.keep) await rm(out, { force: true });
  const rate = m.run.result.error || m.run.result.seconds === 0 ? null : records / m.run.result.seconds;
  return { row: row(label, records, bytes, m, parquet), rate };
}

/** The rows of one size and window: with copies (and the incremental run), then without. */
export async function realRows(ctx: Context, events: number, window: BenchWindow, options: RealRowOptions = {}): Promise<BenchRow[]> {
  const days = WINDOW_DAYS[window];
  const dataset = await ensureRealDataset(ctx.root, events, days, 1, ctx.print);
  const rows: BenchRow[] = [];
  const expectFirst = { column: 'event_date', counts: dataset.expected.firstRun.byDay };
  for (const copies of [true, false]) {
    const name = `real ${human(events)} × ${window}${copies ? '' : ', no copies'}`;
    const run = copies ? 'first' : 'first-no-copies';
    let duckRate: number | null = null;
    if (!options.noDuckdb) {
      const duck = await duckdbOn(ctx, `duckdb ${name}`, dataset, run);
      rows.push(duck.row);
      duckRate = duck.rate;
    }
    const server = await startExportServer({
      dataDir: dataset.dir,
      ...(copies ? {} : { skip: SKIP_COPIES }),
      ...(options.rateBytesPerSecond ? { rateBytesPerSecond: options.rateBytesPerSecond } : {}),
      onStderr: (text) => ctx.print(`  ${text.trimEnd()}`),
    });
    const runDir = join(ctx.root, 'runs', `real-${events}-${window}${copies ? '' : '-no-copies'}`);
    try {
      const base = {
        kind: 'pipeline',
        table: 'events',
        baseUrl: server.url,
        historicalDays: days,
        lakehouseDir: join(runDir, 'lakehouse'),
        stateDir: join(runDir, 'state'),
        appendOnly: ctx.options.appendOnly ?? false,
        ...(ctx.options.maxEventsPerCall !== undefined ? { maxEventsPerCall: ctx.options.maxEventsPerCall } : {}),
        ...(ctx.options.mergeEncoders !== undefined ? { mergeEncoders: ctx.options.mergeEncoders } : {}),
      } as const;
      const served = servedFiles(dataset, run);
      const records = served.reduce((n, f) => n + f.lines, 0);
      const bytes = served.reduce((n, f) => n + f.bytes, 0);
      const m = await measureFresh(ctx, name, { ...base, nowMs: FIRST_RUN_NOW_MS }, () => rm(runDir, { recursive: true, force: true }), server);
      const parquet = await tableBytes(base.lakehouseDir, 'events');
      const check = m.run.result.error ? null : await checkRows(ctx, name, base.lakehouseDir, 'events', dataset.expected.firstRun.total, expectFirst);
      const rate = m.run.result.seconds > 0 ? records / m.run.result.seconds : 0;
      rows.push(row(name, records, bytes, m, parquet, duckRate ? rate / duckRate : null, check));
      if (copies && !m.run.result.error) {
        const incLabel = `real incremental, copies + late (after ${human(events)} × ${window})`;
        const second = servedFiles(dataset, 'second');
        const inc = await measure(ctx, incLabel, { ...base, nowMs: SECOND_RUN_NOW_MS }, server);
        const incCheck = inc.run.result.error
          ? null
          : await checkRows(ctx, incLabel, base.lakehouseDir, 'events', dataset.expected.secondRun.total, { column: 'event_date', counts: dataset.expected.secondRun.byDay });
        rows.push(
          row(incLabel, second.reduce((n, f) => n + f.lines, 0), second.reduce((n, f) => n + f.bytes, 0), inc, (await tableBytes(base.lakehouseDir, 'events')) - parquet, null, incCheck),
        );
      }
    } finally {
      await server.close();
      if (!ctx.options.keep) await rm(runDir, { recursive: true, force: true });
    }
  }
  return rows;
}
