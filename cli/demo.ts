/**
 * `npm start`: the zero-setup demo. Starts the Mixpanel emulator in-process with generated data (about 100k events
 * over the last 14 days, 5,000 profiles, 10 cohorts), runs the checked-in pipeline_spec.json against it and leaves
 * Delta tables in ./data/lakehouse, plus DuckDB views over them in ./data/duckdb-views.sql (for a DuckDB without
 * the delta extension). The generated timeline is anchored to a fixed epoch, so a second run sees the same
 * history plus whatever "arrived" since: it is incremental.
 */
import { relative, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { exitCodeForReport } from '../runner/index.js';
import { writeDuckdbViews } from './duckdb-views.js';
import { executeRun } from './run-command.js';
import { formatSummary } from './summary.js';

export interface DemoOptions {
  readonly spec: string;
  readonly lakehouse: string;
  readonly state: string;
}

const DEMO_DATA = { eventsPerDay: 7_200, days: 14, profiles: 5_000, cohorts: 10, seed: 42 } as const;

/** Environment for the demo: the emulator's URL and secret; any real Mixpanel credentials are ignored. */
function demoEnv(url: string, apiSecret: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MIXPANEL_')) env[key] = value;
  return { ...env, MIXPANEL_BASE_URL: url, MIXPANEL_API_SECRET: apiSecret, MIXPANEL_HISTORICAL_DAYS: String(DEMO_DATA.days) };
}

export function duckdbHint(lakehouseDir: string, viewsFile: string): string {
  const dir = relative(process.cwd(), resolve(lakehouseDir)) || '.';
  const views = relative(process.cwd(), viewsFile) || viewsFile;
  return [
    'Query the Delta tables with DuckDB (https://duckdb.org), for example:',
    `  duckdb -c "SELECT event, count(*) AS events FROM delta_scan('${dir}/events') GROUP BY ALL ORDER BY events DESC"`,
    `  duckdb -c "SELECT distinct_id, email, last_seen, custom_properties FROM delta_scan('${dir}/engage') LIMIT 5"`,
    `Offline (DuckDB downloads its delta extension on first use), the same through views over the current snapshots:`,
    `  duckdb -init ${views} -c "SELECT event, count(*) AS events FROM events GROUP BY ALL ORDER BY events DESC"`,
    `  duckdb -init ${views} -c "SELECT cohort_id, count(*) AS members FROM cohort_members GROUP BY ALL ORDER BY members DESC"`,
    'Spark/Databricks, Snowflake, BigQuery and Polars read the same folders as Delta tables: see README.',
    '',
  ].join('\n');
}

export async function runDemo(options: DemoOptions, io: { readonly stdout: Writable & { isTTY?: boolean }; readonly stderr: Writable & { isTTY?: boolean } }): Promise<number> {
  const { startEmulator } = await import('../emulator/index.js');
  const emulator = await startEmulator(DEMO_DATA);
  io.stdout.write(
    `Mixpanel emulator listening at ${emulator.url} with generated data: about ${DEMO_DATA.eventsPerDay * DEMO_DATA.days} events ` +
      `over ${DEMO_DATA.days} days, ${DEMO_DATA.profiles} profiles, ${DEMO_DATA.cohorts} cohorts.\n` +
      `Running ${options.spec} → ${options.lakehouse} (state in ${options.state}). Run again for an incremental run.\n\n`,
  );
  try {
    const report = await executeRun(
      { spec: options.spec, lakehouse: options.lakehouse, state: options.state, source: 'mixpanel', logLevel: 'warn', maxWaitMs: 60_000 },
      { env: demoEnv(emulator.url, emulator.project.apiSecret), stdout: io.stdout, stderr: io.stderr },
    );
    io.stdout.write(formatSummary(report));
    const views = await writeDuckdbViews(options.lakehouse);
    io.stdout.write(`\n${duckdbHint(options.lakehouse, views)}`);
    return exitCodeForReport(report);
  } finally {
    await emulator.close();
  }
}
