/**
 * The `_delta_log` folder as a value: one listing, classified (commits by version, complete checkpoint sets,
 * UUID-named checkpoints, `_last_checkpoint`), plus reading one commit file into actions.
 */
import type { Logger } from '../../connector-spec/index.js';
import { logCorrupt } from '../errors.js';
import type { ObjectStore, StoredObject } from '../storage/types.js';
import { ActionParseError, parseCommitFile, type Action } from './actions.js';
import { commitFile, lastCheckpointFile, logDir, parseLogFileName, type LogFileName } from './paths.js';

/** Where a table lives and how messages name it. */
export interface TableContext {
  readonly store: ObjectStore;
  /** Table root inside the store (`events`), no trailing slash. */
  readonly root: string;
  /** The table for messages: the store's display URL plus the root (no credentials). */
  readonly display: string;
  readonly logger?: Logger;
}

export interface CheckpointSet {
  readonly version: number;
  /** 1 for a classic checkpoint. */
  readonly parts: number;
  /** Part files in part order. */
  readonly files: readonly StoredObject[];
}

export interface LogListing {
  readonly commits: ReadonlyMap<number, StoredObject>;
  /** Complete checkpoint sets, newest version first (a classic one before a multi-part one of the same version). */
  readonly checkpoints: readonly CheckpointSet[];
  readonly uuidCheckpoints: readonly number[];
  readonly lastCheckpoint?: StoredObject;
  /** Every file directly in `_delta_log/` with its classification (cleanup works from this). */
  readonly entries: readonly { readonly object: StoredObject; readonly name: LogFileName }[];
  /** Newest version that a commit or a checkpoint names; -1 when the log is empty. */
  readonly latestVersion: number;
}

export async function listLog(ctx: TableContext): Promise<LogListing> {
  const prefix = logDir(ctx.root);
  const commits = new Map<number, StoredObject>();
  const parts = new Map<string, Map<number, StoredObject>>();
  const uuidCheckpoints: number[] = [];
  const entries: { object: StoredObject; name: LogFileName }[] = [];
  let lastCheckpoint: StoredObject | undefined;
  let latestVersion = -1;
  for await (const object of ctx.store.list(prefix)) {
    const name = parseLogFileName(object.path.slice(prefix.length));
    entries.push({ object, name });
    switch (name.kind) {
      case 'commit':
        commits.set(name.version, object);
        latestVersion = Math.max(latestVersion, name.version);
        break;
      case 'checkpoint': {
        const key = `${name.version}/${name.parts}`;
        let set = parts.get(key);
        if (!set) parts.set(key, (set = new Map()));
        set.set(name.part, object);
        break;
      }
      case 'uuid-checkpoint':
        uuidCheckpoints.push(name.version);
        break;
      case 'last-checkpoint':
        lastCheckpoint = object;
        break;
      default:
        break;
    }
  }
  const checkpoints: CheckpointSet[] = [];
  for (const [key, set] of parts) {
    const [version, count] = key.split('/').map(Number) as [number, number];
    // A multi-part checkpoint with a missing part is not a checkpoint (it cannot be written atomically).
    if (set.size !== count) continue;
    const files: StoredObject[] = [];
    for (let p = 1; p <= count; p++) {
      const file = set.get(p);
      if (file) files.push(file);
    }
    if (files.length !== count) continue;
    checkpoints.push({ version, parts: count, files });
    latestVersion = Math.max(latestVersion, version);
  }
  checkpoints.sort((a, b) => b.version - a.version || a.parts - b.parts);
  return { commits, checkpoints, uuidCheckpoints, ...(lastCheckpoint ? { lastCheckpoint } : {}), entries, latestVersion };
}

/** A listed log file that vanished before it was read (a concurrent cleanup): the caller lists again. */
export class LogFileVanished extends Error {}

/** The actions of commit `version`; LogFileVanished when it is gone, a DataError when it does not parse. */
export async function readCommit(ctx: TableContext, version: number): Promise<Action[]> {
  const bytes = await ctx.store.read(commitFile(ctx.root, version));
  if (bytes === undefined) throw new LogFileVanished(`commit ${version} vanished`);
  try {
    return parseCommitFile(bytes);
  } catch (error) {
    if (error instanceof ActionParseError) throw logCorrupt(ctx.display, `commit ${version} (${commitFile(ctx.root, version)}): ${error.message}`, { version });
    throw error;
  }
}

/** Commits `from..to` (inclusive) read with bounded concurrency, returned in version order. */
export async function readCommits(ctx: TableContext, from: number, to: number, concurrency = 16): Promise<Action[][]> {
  const versions: number[] = [];
  for (let v = from; v <= to; v++) versions.push(v);
  return mapLimit(versions, concurrency, (v) => readCommit(ctx, v));
}

/** `_last_checkpoint` as far as it is valid JSON with a version; undefined otherwise (then listing decides). */
export async function readLastCheckpoint(ctx: TableContext): Promise<{ readonly version: number; readonly parts?: number } | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await ctx.store.read(lastCheckpointFile(ctx.root));
  } catch {
    return undefined;
  }
  if (!bytes || bytes.byteLength === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const version = (parsed as { version?: unknown }).version;
    const parts = (parsed as { parts?: unknown }).parts;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) return undefined;
    return typeof parts === 'number' && Number.isInteger(parts) && parts > 1 ? { version, parts } : { version };
  } catch {
    return undefined;
  }
}

/** `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
