/** Public entry of the runner: the CLI and tests import from here. */
export { parsePipelineSpec, validateSpecAgainstSource, RESERVED_TABLE_KEYS, SCD_TYPES } from './pipeline-spec.js';
export type { PipelineSpec, TableSpec, ScdType } from './pipeline-spec.js';
export { mergeEncodersOf, runPipeline } from './run.js';
export type { RunPipelineOptions } from './run.js';
export { createLogger, silentLogger, redact } from '../connector-spec/index.js';
export type { LogFormat, LoggerOptions } from '../connector-spec/index.js';
export { createProgress, noProgress } from './progress.js';
export type { ProgressReporter, TableProgress } from './progress.js';
export { exitCodeForReport, exitCodeForError, EXIT_OK, EXIT_FAILURE, EXIT_CONFIG, EXIT_INCOMPLETE, EXIT_DEFERRED, EXIT_SIGINT, EXIT_SIGTERM } from './report.js';
export type { RunReport, RunStatus, TableReport, SnapshotDiff, TableStatus } from './report.js';
export type { RetryPolicy } from './retry.js';
export { DEFAULT_RETRY } from './retry.js';
export type { FaultInjector, FaultPoint } from './faults.js';
export { START_AT, END_AT } from './cdc-history.js';
export { LEGACY_LOG_DIR, LEGACY_STAGING_DIR, hasLegacyLog } from './legacy-convert.js';
export { OWNER_KEYS, RUNNER_WRITER, appIdOf } from './table-owner.js';
export { DEFAULT_MAX_WAIT_MS, selectTables } from './run.js';
export { META_SNAPSHOT_GROUP_BY } from './snapshot-diff.js';
