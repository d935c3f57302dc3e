/**
 * The measured path, for real: `runPipeline` (runner) driving `createMixpanelSource` (source) against the bench
 * server, exactly as `mixpanel-lakeflow run` wires them: HTTP → gunzip → split → parse → Arrow → Parquet ZSTD
 * → commit. The source's clock is fixed (`nowMs`) so its slice plan covers the fixed dataset; the export limiter
 * keeps Mixpanel's real pacing (3/s), only the hourly Query-API budget is lifted so 1M profiles (1000 pages) can
 * be read in one run.
 */
import type { Logger } from '../connector-spec/index.js';
import { parsePipelineSpec, runPipeline, validateSpecAgainstSource } from '../runner/index.js';
import { createMixpanelSource, mixpanelConfigFromEnv } from '../sources/mixpanel/index.js';
import type { PipelineJob } from './jobs.js';

function quietLogger(warnings: string[]): Logger {
  const fieldsText = (fields?: Readonly<Record<string, unknown>>): string => (fields === undefined ? '' : ` ${JSON.stringify(fields)}`);
  return {
    debug() {},
    info() {},
    warn(msg, fields) {
      warnings.push(`${msg}${fieldsText(fields)}`);
    },
    error(msg, fields) {
      warnings.push(`ERROR ${msg}${fieldsText(fields)}`);
      process.stderr.write(`[bench child] ${msg}${fieldsText(fields)}\n`);
    },
  };
}

export async function runPipelineJob(job: PipelineJob): Promise<{ seconds: number; rows: number | null; sourceApiCalls: number | null; warnings: string[] }> {
  const warnings: string[] = [];
  const logger = quietLogger(warnings);
  const config = mixpanelConfigFromEnv({
    MIXPANEL_API_SECRET: 'bench-api-secret',
    MIXPANEL_BASE_URL: job.baseUrl,
    MIXPANEL_HISTORICAL_DAYS: String(job.historicalDays),
    // The one connector setting a bench run may vary from the outside: `MIXPANEL_PARSE_WORKERS=0 npm run bench`.
    MIXPANEL_PARSE_WORKERS: process.env['MIXPANEL_PARSE_WORKERS'],
  });
  const source = createMixpanelSource(config, {
    now: () => job.nowMs,
    logger,
    limits: { query: { minTime: 0, maxConcurrent: 5, reservoir: Number.POSITIVE_INFINITY, reservoirRefreshIntervalMs: 3_600_000 } },
  });
  const options: Record<string, string> = {
    ...(job.appendOnly ? { scd_type: 'APPEND_ONLY' } : {}),
    ...(job.table === 'events' && job.maxEventsPerCall !== undefined ? { max_events_per_call: String(job.maxEventsPerCall) } : {}),
  };
  const table = Object.keys(options).length > 0 ? { source_table: job.table, table_configuration: options } : { source_table: job.table };
  const specText = JSON.stringify({ connection_name: 'bench', objects: [{ table }] });
  const spec = parsePipelineSpec(specText, 'bench-pipeline-spec.json');
  try {
    await validateSpecAgainstSource(spec, source);
    const started = performance.now();
    const report = await runPipeline({ spec, source, lakehouse: job.lakehouseDir, stateDir: job.stateDir, env: process.env, logger, ...(job.mergeEncoders !== undefined ? { mergeEncoders: job.mergeEncoders } : {}) });
    const seconds = (performance.now() - started) / 1000;
    const failed = report.tables.find((t) => t.status === 'failed');
    if (failed) throw new Error(`table ${failed.table} failed: ${failed.error?.message ?? 'unknown error'}`);
    for (const t of report.tables) warnings.push(...t.warnings);
    const rows = report.tables.reduce((n, t) => n + t.rowsWritten, 0);
    const apiCalls = report.tables.reduce((n, t) => n + t.apiCalls, 0);
    return { seconds, rows, sourceApiCalls: apiCalls, warnings };
  } finally {
    await source.close?.();
  }
}
