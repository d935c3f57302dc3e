/**
 * A table snapshot: the newest complete checkpoint (the one `_last_checkpoint` names when it is valid and
 * present, else the newest complete one the listing shows; an unreadable one falls back to the next older,
 * then to replaying every commit from 0) plus the JSON commits after it. One listing, one checkpoint read,
 * one read per commit after it; nothing per data file. A previous snapshot of the same table is brought up to
 * date by applying only the commits after it.
 */
import { isConnectorError, type JsonValue } from '../../connector-spec/index.js';
import { logCorrupt, unsupportedFeature } from '../errors.js';
import type { AddFile, AppCommit, Protocol, RemoveFile, Snapshot, TableMetadata } from '../types.js';
import type { MetadataAction } from './actions.js';
import { checkpointActions } from './checkpoint-read.js';
import { LogState, type TxnState } from './log-state.js';
import { listLog, LogFileVanished, readCommits, readLastCheckpoint, type CheckpointSet, type LogListing, type TableContext } from './log-files.js';
import { commitFile } from './paths.js';
import { assertReadable, assertWritable, type WriteCheck } from './protocol-support.js';
import { deltaToArrowSchema, parseDeltaSchema, SchemaParseError, type DeltaStructType } from './schema.js';

export const MIXPANEL_LAKEFLOW_KEY = 'mixpanelLakeflow';

function tableMetadata(ctx: TableContext, action: MetadataAction): { metadata: TableMetadata; deltaSchema: DeltaStructType } {
  let deltaSchema: DeltaStructType;
  try {
    deltaSchema = parseDeltaSchema(action.schemaString);
  } catch (error) {
    if (error instanceof SchemaParseError) throw logCorrupt(ctx.display, `metaData.schemaString: ${error.message}`);
    throw error;
  }
  return {
    deltaSchema,
    metadata: {
      id: action.id,
      ...(action.name === undefined ? {} : { name: action.name }),
      ...(action.description === undefined ? {} : { description: action.description }),
      schemaString: action.schemaString,
      schema: deltaToArrowSchema(deltaSchema, ctx.display),
      partitionColumns: action.partitionColumns,
      configuration: action.configuration,
      ...(action.createdTime === undefined ? {} : { createdTime: action.createdTime }),
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `mixpanelLakeflow.appId` of a commit's commitInfo (undefined: not one of our application commits). */
export function lakeflowAppId(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"commitInfo"')) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      const ours = isRecord(parsed) && isRecord(parsed['commitInfo']) ? parsed['commitInfo'][MIXPANEL_LAKEFLOW_KEY] : undefined;
      return isRecord(ours) && typeof ours['appId'] === 'string' ? ours['appId'] : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What our commitInfo says about `appId`, if this commit file is one of its commits. */
export function appCommitInfo(text: string, appId: string): { txnVersion: number; timestamp: number; info: Record<string, JsonValue> } | undefined {
  if (!text.includes(JSON.stringify(appId))) return undefined;
  let txnVersion: number | undefined;
  let found: { timestamp: number; info: Record<string, JsonValue>; txnVersion?: number } | undefined;
  for (const line of text.split('\n')) {
    const isCommitInfo = line.startsWith('{"commitInfo"');
    const isTxn = line.startsWith('{"txn"');
    if (!isCommitInfo && !isTxn) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (!isRecord(parsed)) continue;
    if (isTxn) {
      const txn = parsed['txn'];
      if (isRecord(txn) && txn['appId'] === appId && typeof txn['version'] === 'number') txnVersion = txn['version'];
      continue;
    }
    const commitInfo = parsed['commitInfo'];
    if (!isRecord(commitInfo)) continue;
    const ours = commitInfo[MIXPANEL_LAKEFLOW_KEY];
    if (!isRecord(ours) || ours['appId'] !== appId) continue;
    const info: Record<string, JsonValue> = {};
    for (const key of Object.keys(ours)) {
      if (key !== 'appId' && key !== 'txnVersion') info[key] = ours[key] as JsonValue;
    }
    const timestamp = typeof commitInfo['timestamp'] === 'number' ? commitInfo['timestamp'] : 0;
    found = typeof ours['txnVersion'] === 'number' ? { timestamp, info, txnVersion: ours['txnVersion'] } : { timestamp, info };
  }
  if (!found) return undefined;
  const version = found.txnVersion ?? txnVersion;
  if (version === undefined) return undefined;
  return { txnVersion: version, timestamp: found.timestamp, info: found.info };
}

export class DeltaSnapshot implements Snapshot {
  readonly version: number;
  readonly protocol: Protocol;
  readonly metadata: TableMetadata;
  readonly metadataAction: MetadataAction;
  readonly deltaSchema: DeltaStructType;
  /** Internal: the replayed state (never mutated once the snapshot exists). */
  readonly state: LogState;
  /** Versions with a JSON commit file in the log, ascending (≤ version). */
  readonly commitVersions: readonly number[];
  /** Size of this version's commit file (to tell an unchanged log from a replaced table). */
  readonly headCommitSize: number | undefined;
  readonly #ctx: TableContext;
  #files: AddFile[] | undefined;
  #tombstones: RemoveFile[] | undefined;

  constructor(ctx: TableContext, state: LogState, commitVersions: readonly number[], headCommitSize: number | undefined) {
    if (!state.protocol) throw logCorrupt(ctx.display, `no protocol action up to version ${state.version}`);
    if (!state.metadata) throw logCorrupt(ctx.display, `no metaData action up to version ${state.version}`);
    this.#ctx = ctx;
    this.state = state;
    this.version = state.version;
    this.protocol = state.protocol;
    this.metadataAction = state.metadata;
    assertReadable(ctx.display, this.protocol, this.metadataAction);
    const { metadata, deltaSchema } = tableMetadata(ctx, state.metadata);
    this.metadata = metadata;
    this.deltaSchema = deltaSchema;
    this.commitVersions = commitVersions;
    this.headCommitSize = headCommitSize;
  }

  get files(): readonly AddFile[] {
    if (!this.#files) {
      this.#files = [...this.state.files.values()];
      this.#files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    return this.#files;
  }

  get tombstones(): readonly RemoveFile[] {
    this.#tombstones ??= [...this.state.tombstones.values()];
    return this.#tombstones;
  }

  get txns(): ReadonlyMap<string, TxnState> {
    return this.state.txns;
  }

  async appCommit(appId: string): Promise<AppCommit | undefined> {
    const known = this.state.txnCommitVersions.get(appId);
    const order = [...this.commitVersions].reverse();
    if (known !== undefined) order.unshift(known);
    const seen = new Set<number>();
    const decoder = new TextDecoder();
    for (const version of order) {
      if (seen.has(version) || version > this.version) continue;
      seen.add(version);
      const bytes = await this.#ctx.store.read(commitFile(this.#ctx.root, version));
      if (!bytes) continue;
      const found = appCommitInfo(decoder.decode(bytes), appId);
      if (!found) continue;
      const current = this.state.txns.get(appId)?.version;
      return { version, txnVersion: found.txnVersion, timestamp: found.timestamp, info: found.info, stale: current !== undefined && found.txnVersion < current };
    }
    return undefined;
  }

  assertWritable(options?: WriteCheck): void {
    assertWritable(this.#ctx.display, this.protocol, this.metadataAction, this.deltaSchema, options);
  }
}

async function readCheckpointSet(ctx: TableContext, set: CheckpointSet): Promise<LogState | undefined> {
  try {
    const parts: Uint8Array[] = [];
    for (const file of set.files) {
      const bytes = await ctx.store.read(file.path);
      if (!bytes) return undefined;
      parts.push(bytes);
    }
    const actions = await checkpointActions(parts);
    const state = new LogState();
    state.apply(actions, set.version, true);
    if (!state.protocol || !state.metadata) throw new Error('it holds no protocol or no metaData');
    return state;
  } catch (error) {
    // A store that failed (network, throttling) is not a bad checkpoint: let the caller retry.
    if (isConnectorError(error) && error.retryable) throw error;
    ctx.logger?.warn('Delta checkpoint unreadable; falling back to an older one or to the JSON commits', {
      table: ctx.display,
      version: set.version,
      error: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}

function contiguous(listing: LogListing, from: number, to: number): boolean {
  for (let v = from; v <= to; v++) if (!listing.commits.has(v)) return false;
  return true;
}

function commitVersionsUpTo(listing: LogListing, version: number): number[] {
  return [...listing.commits.keys()].filter((v) => v <= version).sort((a, b) => a - b);
}

async function applyCommits(ctx: TableContext, state: LogState, from: number, to: number): Promise<void> {
  if (to < from) return;
  const commits = await readCommits(ctx, from, to);
  commits.forEach((actions, i) => state.apply(actions, from + i));
}

async function loadOnce(ctx: TableContext, previous: DeltaSnapshot | undefined): Promise<DeltaSnapshot | undefined> {
  const listing = await listLog(ctx);
  const latest = listing.latestVersion;
  if (latest < 0) return undefined;
  if (listing.uuidCheckpoints.some((v) => v >= (listing.checkpoints[0]?.version ?? -1))) {
    throw unsupportedFeature(ctx.display, 'v2Checkpoint (UUID-named checkpoints)', 'read');
  }
  const headSize = listing.commits.get(latest)?.size;

  // Bring a previous snapshot up to date when the log still continues it.
  if (previous && previous.version <= latest && listing.commits.get(previous.version)?.size === previous.headCommitSize && contiguous(listing, previous.version + 1, latest)) {
    if (previous.version === latest) return previous;
    const state = previous.state.clone();
    await applyCommits(ctx, state, previous.version + 1, latest);
    return new DeltaSnapshot(ctx, state, commitVersionsUpTo(listing, latest), headSize);
  }

  // The checkpoint `_last_checkpoint` names first (when it is in the listing), then the others, newest first.
  const hint = listing.lastCheckpoint ? await readLastCheckpoint(ctx) : undefined;
  const candidates = [...listing.checkpoints];
  const hinted = hint ? candidates.findIndex((c) => c.version === hint.version && c.parts === (hint.parts ?? 1)) : -1;
  if (hinted > 0) candidates.unshift(...candidates.splice(hinted, 1));
  else if (hint && hinted < 0) ctx.logger?.debug('_last_checkpoint names a checkpoint that is not in the log; using the listing', { table: ctx.display, version: hint.version });
  for (const candidate of candidates) {
    if (candidate.version > latest || !contiguous(listing, candidate.version + 1, latest)) continue;
    const state = await readCheckpointSet(ctx, candidate);
    if (!state) continue;
    await applyCommits(ctx, state, candidate.version + 1, latest);
    return new DeltaSnapshot(ctx, state, commitVersionsUpTo(listing, latest), headSize);
  }
  if (!contiguous(listing, 0, latest)) {
    const missing: number[] = [];
    for (let v = 0; v <= latest && missing.length < 5; v++) if (!listing.commits.has(v)) missing.push(v);
    throw logCorrupt(ctx.display, `no readable checkpoint, and commits ${missing.join(', ')}${missing.length === 5 ? ', …' : ''} are missing (versions 0..${latest} are needed to replay the log)`);
  }
  const state = new LogState();
  await applyCommits(ctx, state, 0, latest);
  return new DeltaSnapshot(ctx, state, commitVersionsUpTo(listing, latest), headSize);
}

/** The newest snapshot (undefined when the table has no log). Lists again if a listed file vanished meanwhile. */
export async function loadSnapshot(ctx: TableContext, previous?: DeltaSnapshot): Promise<DeltaSnapshot | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await loadOnce(ctx, previous);
    } catch (error) {
      if (!(error instanceof LogFileVanished) || attempt >= 3) {
        if (error instanceof LogFileVanished) throw logCorrupt(ctx.display, `log files keep vanishing while being read (${error.message})`);
        throw error;
      }
    }
  }
}
