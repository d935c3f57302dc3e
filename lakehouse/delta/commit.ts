/**
 * One commit: `_delta_log/%020d.json` created put-if-absent, one action per line: commitInfo first (with
 * `mixpanelLakeflow: { appId, txnVersion, ...info }`), protocol/metaData when the table is created or its
 * metadata changes, txn, removes, adds. A lost race reads the winners' commits: a conflict (see conflicts.ts)
 * throws CommitConflictError, anything else retries at the next version (bounded). Every 10th version (or every
 * `delta.checkpointInterval`-th) is checkpointed and the log cleaned behind it; neither can fail the commit
 * (they only log a warning).
 */
import { randomUUID } from 'node:crypto';
import { InternalError } from '../../connector-spec/index.js';
import { CommitConflictError, LAKEHOUSE_COMMIT_INVALID } from '../errors.js';
import type { CommitRequest, CommitResult } from '../types.js';
import {
  actionLine,
  addJson,
  metadataJson,
  parseCommitFile,
  protocolJson,
  removeJson,
  txnJson,
  type Action,
  type MetadataAction,
  type ProtocolAction,
} from './actions.js';
import { writeCheckpoint } from './checkpoint.js';
import { findConflict, type CommitIntent } from './conflicts.js';
import { cleanupLog } from './log-cleanup.js';
import { LogState } from './log-state.js';
import { listLog, LogFileVanished, readCommit, type TableContext } from './log-files.js';
import { commitFile, decodeAddPath } from './paths.js';
import { arrowToDeltaSchema, deltaSchemaString } from './schema.js';
import { DeltaSnapshot, MIXPANEL_LAKEFLOW_KEY } from './snapshot.js';

export const CHECKPOINT_INTERVAL = 10;
export const CREATE_PROTOCOL: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };

export interface CommitContext extends TableContext {
  readonly now: () => number;
  /** commitInfo.engineInfo. */
  readonly engineInfo: string;
  /** Lost races retried before giving up (default 20). */
  readonly maxAttempts?: number;
  /** Checkpoint when `version % checkpointInterval === 0` (default 10). */
  readonly checkpointInterval?: number;
}

export interface CommitOutcome {
  readonly result: CommitResult;
  /** The table right after our commit (winners and ours applied). */
  readonly snapshot: DeltaSnapshot;
}

function invalid(ctx: TableContext, problem: string): InternalError {
  return new InternalError(`Delta table ${ctx.display}: invalid commit request: ${problem}`, { code: LAKEHOUSE_COMMIT_INVALID, context: { table: ctx.display } });
}

function newMetadata(ctx: TableContext, request: CommitRequest, base: DeltaSnapshot | undefined, now: number): MetadataAction | undefined {
  const m = request.metadata;
  if (!m) return undefined;
  const names = new Set(m.schema.fields.map((f) => f.name));
  for (const column of m.partitionColumns) if (!names.has(column)) throw invalid(ctx, `partition column ${column} is not in the schema`);
  for (const [key, value] of Object.entries(m.configuration)) {
    const feature = FEATURE_PROPERTIES[key];
    if (feature && feature.enables(value)) throw invalid(ctx, `table property ${key}=${value} needs the Delta feature ${feature.name}, which this writer does not implement`);
  }
  const schemaString = deltaSchemaString(arrowToDeltaSchema(m.schema));
  const previous = base?.metadataAction;
  const action: MetadataAction = {
    id: previous?.id ?? randomUUID(),
    ...(m.name === undefined ? {} : { name: m.name }),
    ...(m.description === undefined ? {} : { description: m.description }),
    format: { provider: 'parquet', options: {} },
    schemaString,
    partitionColumns: [...m.partitionColumns],
    configuration: { ...m.configuration },
    createdTime: previous?.createdTime ?? now,
  };
  if (previous && sameMetadata(previous, action)) return undefined;
  return action;
}

/** Table properties that switch on a Delta feature this writer does not implement (it would not honour them). */
const FEATURE_PROPERTIES: Readonly<Record<string, { readonly name: string; enables(value: string): boolean }>> = {
  'delta.enableDeletionVectors': { name: 'deletionVectors', enables: (v) => v.toLowerCase() === 'true' },
  'delta.enableChangeDataFeed': { name: 'changeDataFeed', enables: (v) => v.toLowerCase() === 'true' },
  'delta.enableRowTracking': { name: 'rowTracking', enables: (v) => v.toLowerCase() === 'true' },
  'delta.enableInCommitTimestamps': { name: 'inCommitTimestamp', enables: (v) => v.toLowerCase() === 'true' },
  'delta.columnMapping.mode': { name: 'columnMapping', enables: (v) => v.toLowerCase() !== 'none' },
};

/** `delta.checkpointInterval` when it is a positive integer. */
function checkpointIntervalOf(configuration: Readonly<Record<string, string>>): number | undefined {
  const text = configuration['delta.checkpointInterval'];
  const value = text === undefined ? NaN : Number(text);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

function sameMetadata(a: MetadataAction, b: MetadataAction): boolean {
  return (
    a.schemaString === b.schemaString &&
    a.name === b.name &&
    a.description === b.description &&
    JSON.stringify(a.partitionColumns) === JSON.stringify(b.partitionColumns) &&
    JSON.stringify(Object.entries(a.configuration).sort()) === JSON.stringify(Object.entries(b.configuration).sort())
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** putIfAbsent that survives an ambiguous failure (the write may have landed): read back and compare. */
async function putCommit(ctx: TableContext, version: number, bytes: Uint8Array): Promise<boolean> {
  const path = commitFile(ctx.root, version);
  try {
    return await ctx.store.putIfAbsent(path, bytes);
  } catch (error) {
    let there: Uint8Array | undefined;
    try {
      there = await ctx.store.read(path);
    } catch {
      throw error;
    }
    if (there === undefined) throw error;
    return sameBytes(there, bytes);
  }
}

/**
 * Commit `request` on top of `latest` (the newest snapshot this process knows; undefined when it knows of
 * no table). Versions between `request.readVersion` and `latest.version` are checked like lost races.
 */
export async function commitToLog(ctx: CommitContext, latest: DeltaSnapshot | undefined, request: CommitRequest): Promise<CommitOutcome> {
  const readVersion = request.readVersion;
  if (!Number.isInteger(readVersion) || readVersion < -1) throw invalid(ctx, `readVersion ${readVersion}`);
  if (readVersion === -1 && !latest && !request.metadata) throw invalid(ctx, 'creating a table needs metadata');
  const known = latest?.version ?? -1;
  if (known < readVersion) throw invalid(ctx, `readVersion ${readVersion} is newer than the table's version ${known}`);
  const addPaths = new Set<string>();
  for (const add of request.add) {
    if (addPaths.has(add.path)) throw invalid(ctx, `file ${add.path} is added twice`);
    addPaths.add(add.path);
  }
  const removePaths = new Set(request.remove.map((r) => decodeAddPath(r.path)));
  const intent: CommitIntent = {
    ...(request.txn ? { appId: request.txn.appId } : {}),
    removePaths,
    ...(request.readPartitions ? { readPartitions: new Set(request.readPartitions) } : {}),
    partitionColumns: latest?.metadata.partitionColumns ?? request.metadata?.partitionColumns ?? [],
  };
  const conflictIn = (actions: readonly Action[], version: number): void => {
    const conflict = findConflict(actions, intent);
    if (conflict) throw new CommitConflictError({ table: ctx.display, reason: conflict.reason, readVersion, conflictVersion: version, detail: conflict.detail });
  };

  // Versions committed after the caller's plan but already known here count as won races.
  for (let v = readVersion + 1; v <= known; v++) {
    let actions: Action[];
    try {
      actions = await readCommit(ctx, v);
    } catch (error) {
      if (!(error instanceof LogFileVanished)) throw error;
      throw new CommitConflictError({ table: ctx.display, reason: 'history-gone', readVersion, conflictVersion: v, detail: `commit ${v} is no longer in the log` });
    }
    conflictIn(actions, v);
  }

  const startedAt = ctx.now();
  const metadata = newMetadata(ctx, request, latest, startedAt);
  const creating = !latest;
  if (latest) latest.assertWritable({ removesFiles: request.remove.length > 0 });
  // Files removed by versions after the plan were caught above; one that is not live now never was in the plan's version.
  for (const file of request.remove) {
    if (latest?.state.files.get(file.path) === undefined) throw invalid(ctx, `${file.path} is not a live file of version ${known}`);
  }

  const state = latest ? latest.state.clone() : new LogState();
  const commitVersions = latest ? [...latest.commitVersions] : [];
  const txnId = randomUUID();
  const maxAttempts = ctx.maxAttempts ?? 20;
  const encoder = new TextEncoder();
  let version = known + 1;
  let ours: Action[] = [];
  let size = 0;
  for (let attempt = 1; ; attempt++) {
    const timestamp = Math.max(ctx.now(), startedAt);
    const lines: string[] = [];
    const mixpanelLakeflow =
      request.txn || request.info
        ? { ...(request.txn ? { appId: request.txn.appId, txnVersion: request.txn.version } : {}), ...request.info }
        : undefined;
    lines.push(
      actionLine('commitInfo', {
        timestamp,
        operation: request.operation,
        operationParameters: creating ? { mode: 'ErrorIfExists', partitionBy: JSON.stringify(metadata?.partitionColumns ?? []) } : {},
        ...(readVersion >= 0 ? { readVersion } : {}),
        isolationLevel: 'Serializable',
        isBlindAppend: request.remove.length === 0 && (request.readPartitions?.length ?? 0) === 0,
        engineInfo: ctx.engineInfo,
        txnId,
        ...(mixpanelLakeflow ? { [MIXPANEL_LAKEFLOW_KEY]: mixpanelLakeflow } : {}),
      }),
    );
    if (creating) lines.push(actionLine('protocol', protocolJson(CREATE_PROTOCOL)));
    if (metadata) lines.push(actionLine('metaData', metadataJson(metadata)));
    if (request.txn) lines.push(actionLine('txn', txnJson({ appId: request.txn.appId, version: request.txn.version, lastUpdated: timestamp })));
    for (const file of request.remove) lines.push(actionLine('remove', removeJson(file, timestamp, true)));
    for (const file of request.add) lines.push(actionLine('add', addJson(file)));
    const text = `${lines.join('\n')}\n`;
    const bytes = encoder.encode(text);
    if (await putCommit(ctx, version, bytes)) {
      ours = parseCommitFile(text);
      size = bytes.byteLength;
      break;
    }
    if (attempt >= maxAttempts) {
      throw new CommitConflictError({ table: ctx.display, reason: 'retries-exhausted', readVersion, conflictVersion: version, detail: `${attempt} attempts` });
    }
    // Lost the race: read every version up to the newest, check each, then try after it.
    const newest = Math.max(version, (await listLog(ctx)).latestVersion);
    for (let v = version; v <= newest; v++) {
      let actions: Action[];
      try {
        actions = await readCommit(ctx, v);
      } catch (error) {
        if (!(error instanceof LogFileVanished)) throw error;
        // A store whose put-if-absent is best-effort may have lost the file we lost to; try this version again.
        break;
      }
      conflictIn(actions, v);
      state.apply(actions, v);
      commitVersions.push(v);
      version = v + 1;
    }
  }
  state.apply(ours, version);
  commitVersions.push(version);
  const snapshot = new DeltaSnapshot(ctx, state, commitVersions, size);

  let checkpointWritten = false;
  const interval = checkpointIntervalOf(snapshot.metadata.configuration) ?? ctx.checkpointInterval ?? CHECKPOINT_INTERVAL;
  if (version > 0 && version % interval === 0) {
    const now = ctx.now();
    try {
      await writeCheckpoint(ctx, snapshot, now);
      checkpointWritten = true;
    } catch (error) {
      ctx.logger?.warn('Delta checkpoint not written; the commit stands and the next checkpoint covers it', {
        table: ctx.display,
        version,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (checkpointWritten) {
      try {
        await cleanupLog(ctx, snapshot, now);
      } catch (error) {
        ctx.logger?.warn('Delta log cleanup failed; old log files stay until the next checkpoint', {
          table: ctx.display,
          version,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  return { result: { version, racesLost: version - readVersion - 1, checkpointWritten }, snapshot };
}
