/**
 * `mixpanel-lakeflow vacuum [tables...]`: delete the data files the tables no longer reference — files a
 * commit removed longer than the retention ago (default 7 days, Delta's), and orphans of failed writes older than
 * it. A run never deletes a removed file (readers and time travel may still use it); this command does, on the
 * schedule you choose. Without table names, every table of this project in the lakehouse is vacuumed.
 */
import type { Writable } from 'node:stream';
import { ConfigError } from '../connector-spec/index.js';
import { openLakehouse } from '../lakehouse/index.js';
import { OWNER_KEYS, createLogger } from '../runner/index.js';
import { parseDuration } from './durations.js';

export const DEFAULT_RETENTION = '7d';
const MIN_RETENTION_MS = 60 * 60_000;
const DELTA_DEFAULT_MS = 7 * 86_400_000;
const MB = 1024 * 1024;

export interface VacuumCommandOptions {
  readonly lakehouse: string;
  readonly tables: readonly string[];
  readonly retention: string;
  readonly dryRun: boolean;
}

export async function runVacuumCommand(options: VacuumCommandOptions, io: { readonly env: Readonly<Record<string, string | undefined>>; readonly stdout: Writable; readonly stderr: Writable }): Promise<number> {
  const retentionMs = parseDuration(options.retention, '--retention');
  if (retentionMs < MIN_RETENTION_MS) {
    throw new ConfigError(`--retention ${options.retention}: at least 1h; a reader (or a run of another writer) may still be reading a file removed moments ago`, { code: 'CLI_RETENTION_TOO_SHORT' });
  }
  if (retentionMs < DELTA_DEFAULT_MS) io.stderr.write(`note: --retention ${options.retention} is shorter than Delta's default of 7 days: time travel to older versions stops working for the files deleted\n`);
  const logger = createLogger({ format: 'json', level: 'warn', stream: io.stderr });
  const lakehouse = await openLakehouse(options.lakehouse, { env: io.env, logger });
  try {
    const names = options.tables.length > 0 ? [...new Set(options.tables)] : await lakehouse.listTables();
    const lines: string[] = [];
    let total = 0;
    for (const name of names) {
      const table = lakehouse.table(name);
      const snapshot = await table.snapshot();
      if (!snapshot) {
        if (options.tables.length > 0) throw new ConfigError(`vacuum ${name}: ${lakehouse.displayUrl}/${name} is not a Delta table; check the name and --lakehouse`, { code: 'CLI_VACUUM_NO_TABLE' });
        continue;
      }
      if (snapshot.metadata.configuration[OWNER_KEYS.writer] === undefined) {
        if (options.tables.length > 0) throw new ConfigError(`vacuum ${name}: ${lakehouse.displayUrl}/${name} was not written by mixpanel-lakeflow; vacuum it with the engine that owns it`, { code: 'CLI_VACUUM_NOT_OURS' });
        continue;
      }
      const result = await table.vacuum({ retentionMs, dryRun: options.dryRun });
      total += result.deleted.length;
      lines.push(`${name.padEnd(24)} ${String(result.deleted.length).padStart(6)} files  ${(result.bytes / MB).toFixed(2).padStart(9)} MB  ${options.dryRun ? 'would be deleted' : 'deleted'}  (${result.retained} kept: removed less than ${options.retention} ago)`);
    }
    io.stdout.write(`${lines.join('\n')}${lines.length > 0 ? '\n' : ''}vacuum ${options.dryRun ? '(dry run) ' : ''}done: ${total} file(s) across ${lines.length} table(s) of ${lakehouse.displayUrl}\n`);
    return 0;
  } finally {
    await lakehouse.close();
  }
}
