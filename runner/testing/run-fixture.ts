/**
 * Child-process entry for the crash matrix: runs the fixture spec against the in-memory source.
 * Usage: node --import tsx runner/testing/run-fixture.ts <lakehouse> <state>
 * `LAKEFLOW_TEST_CRASH_AT=<point>:<n>` makes the run SIGKILL itself at that step.
 */
import { createLogger, exitCodeForError, exitCodeForReport, parsePipelineSpec, runPipeline, validateSpecAgainstSource } from '../index.js';
import { FIXTURE_SPEC, createMemorySource, makeDataset, type DatasetOptions } from './memory-source.js';

const [lakehouseDir, stateDir] = process.argv.slice(2);
if (!lakehouseDir || !stateDir) {
  process.stderr.write('usage: run-fixture.ts <lakehouse> <state>\n');
  process.exit(2);
}
try {
  const spec = parsePipelineSpec(JSON.stringify(FIXTURE_SPEC), 'fixture_spec.json');
  const datasetOptions = JSON.parse(process.env['FIXTURE_DATASET'] ?? '{}') as DatasetOptions;
  const source = createMemorySource({ dataset: makeDataset(datasetOptions) });
  await validateSpecAgainstSource(spec, source);
  const logger = createLogger({ format: 'json', level: process.env['FIXTURE_LOG_LEVEL'] ?? 'warn', stream: process.stderr });
  const report = await runPipeline({ spec, source, lakehouse: lakehouseDir, stateDir, env: process.env, logger, retry: { attempts: 3, baseDelayMs: 1 } });
  process.exitCode = exitCodeForReport(report);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = exitCodeForError(error);
}
