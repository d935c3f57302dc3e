/** What the parent asks a bench child process to do, and what the child reports back (one JSON line). */

export interface PipelineJob {
  readonly kind: 'pipeline';
  readonly table: 'events' | 'engage';
  /** The bench server (MIXPANEL_BASE_URL). */
  readonly baseUrl: string;
  /** The source's clock (epoch ms): fixed so the slice plan matches the fixed dataset. */
  readonly nowMs: number;
  readonly historicalDays: number;
  readonly lakehouseDir: string;
  readonly stateDir: string;
  /** `scd_type: APPEND_ONLY` in the spec: no merge by key (isolates the runner's cdc merge cost). */
  readonly appendOnly?: boolean;
  /** The events option `max_events_per_call`, when the run sets it (`--max-events-per-call`). */
  readonly maxEventsPerCall?: number;
  /** The run option `mergeEncoders` (`--merge-encoders`), when the run sets it. */
  readonly mergeEncoders?: number;
}

export interface DuckdbJob {
  readonly kind: 'duckdb';
  readonly files: readonly string[];
  readonly out: string;
}

export type BenchJob = PipelineJob | DuckdbJob;

export interface ChildResult {
  /** Seconds of the measured work only (runPipeline / COPY), without process start-up. */
  readonly seconds: number;
  /** Rows the run reports having written (pipeline) or the COPY count (duckdb). */
  readonly rows: number | null;
  /** `process.resourceUsage().maxRSS` in KiB, as the child saw it (fallback when /usr/bin/time is absent). */
  readonly maxRssKb: number;
  /** Peaks of `process.memoryUsage()` sampled every 100 ms (MiB): where the RSS goes (JS heap vs WASM/buffers). */
  readonly memoryPeaksMb: { readonly heapUsed: number; readonly external: number; readonly arrayBuffers: number };
  readonly userCpuMs: number;
  readonly systemCpuMs: number;
  /** API calls as the source counted them (RunReport stats), when available. */
  readonly sourceApiCalls: number | null;
  readonly warnings: readonly string[];
  readonly error: string | null;
}

export const RESULT_PREFIX = 'BENCH_RESULT ';
