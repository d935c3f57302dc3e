/**
 * Sync mode: drive each selected stream's table through the connector contract (readTable until a call yields
 * nothing and returns its input cursor), stage each call's records in a temp file, and only when the call
 * completed print them, preceded by a SCHEMA when new property names appeared and followed by a STATE whose
 * bookmark is the call's returned cursor. A failed call prints nothing: retryable errors re-run it with the same
 * cursor (bounded), others end the run (the last STATE printed is where the next run resumes).
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  CallTooLargeError,
  InternalError,
  MAX_RESIZES_PER_CALL,
  NotEntitledError,
  RateLimitError,
  cursorsEqual,
  emptyReadStats,
  isConnectorError,
  type Cursor,
  type LakeflowSource,
  type Logger,
  type TableOptions,
} from '../../../connector-spec/index.js';
import type { CatalogSelection } from './catalog.js';
import { startDateOfTapBookmark, type TapConfig } from './config.js';
import { copyFile, recordMessage, schemaMessage, stateMessage, writeLine } from './messages.js';
import { NamingMap } from './naming.js';
import { StreamSerializer } from './records.js';
import { stateValue, syncOrder, type SingerState } from './state.js';
import type { TapStream } from './streams.js';

export interface SyncOptions {
  readonly source: LakeflowSource;
  readonly streams: readonly TapStream[];
  readonly config: TapConfig;
  readonly selection: CatalogSelection | undefined;
  readonly state: SingerState;
  readonly stdout: Writable;
  readonly logger: Logger;
  readonly tmpDir: string;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Attempts of one call on retryable errors (default 5). */
  readonly maxAttempts?: number;
}

/** Where a stream starts: its bookmark, or (a tap bookmark string) a start date for the table options. */
function startOf(stream: TapStream, bookmark: Cursor | undefined, options: TableOptions, attributionDays: number): { cursor: Cursor; options: TableOptions } {
  if (typeof bookmark !== 'string') return { cursor: bookmark ?? null, options };
  const start = startDateOfTapBookmark(bookmark, attributionDays);
  return { cursor: null, options: start !== undefined && 'start_date' in options ? { ...options, start_date: start } : options };
}

interface CallOutcome {
  readonly next: Cursor;
  readonly batches: number;
}

async function stageCall(o: SyncOptions, stream: TapStream, serializer: StreamSerializer, cursor: Cursor, tableOptions: TableOptions, file: string): Promise<CallOutcome> {
  const out = createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.once('close', resolve);
    out.once('error', reject);
  });
  const stats = emptyReadStats();
  const extracted = new Date(o.now()).toISOString();
  let batches = 0;
  try {
    const read = o.source.readTable(stream.table, cursor, { tableOptions, logger: o.logger, stats });
    for (;;) {
      const step = await read.next();
      if (step.done) {
        out.end();
        await closed;
        // What is knowingly missing, then information: Singer has no exit 3, so both are logged.
        for (const w of [...stats.missing, ...stats.warnings]) o.logger.warn(w, { stream: stream.stream });
        return { next: step.value, batches };
      }
      batches++;
      for (const record of serializer.records(step.value)) await writeLine(out, recordMessage(stream.stream, record, extracted));
    }
  } catch (error) {
    out.destroy();
    await closed.catch(() => undefined);
    throw error;
  }
}

async function syncStream(o: SyncOptions, stream: TapStream): Promise<void> {
  const { state, config } = o;
  const selection = o.selection?.get(stream.stream);
  const start = startOf(stream, state.bookmarks[stream.stream], config.tableOptions[stream.table] ?? {}, config.settings.attributionDays);
  const tableOptions = start.options;
  const schema = await o.source.getSchema(stream.table, { tableOptions });
  const metadata = await o.source.readTableMetadata(stream.table, { tableOptions });
  const naming = new NamingMap(config.settings.propertyNaming, state.naming[stream.stream] ?? {});
  const serializer = new StreamSerializer({ table: stream.table, schema, metadata, naming, settings: config.settings, declared: selection?.declared, excluded: selection?.excluded });
  const printSchema = (): Promise<void> => writeLine(o.stdout, schemaMessage(stream.stream, serializer.jsonSchema(), serializer.keyProperties(), serializer.bookmarkProperties()));
  await printSchema();
  let named = naming.added;
  state.currentlySyncing = stream.stream;
  let cursor = start.cursor;
  const file = join(o.tmpDir, `${stream.stream}.jsonl`);
  for (let call = 1; ; call++) {
    let outcome: CallOutcome | undefined;
    let resized = 0;
    for (let attempt = 1; outcome === undefined; attempt++) {
      try {
        outcome = await stageCall(o, stream, serializer, cursor, tableOptions, file);
      } catch (error) {
        if (error instanceof CallTooLargeError && resized < MAX_RESIZES_PER_CALL) {
          // The source re-planned the same bookmark smaller: read again now, not counted as a failed attempt.
          resized++;
          attempt--;
          o.logger.warn(`${stream.stream}: ${error.message}`, { code: error.code });
          continue;
        }
        if (!isConnectorError(error) || !error.retryable || attempt >= (o.maxAttempts ?? 5)) throw error;
        const wait = error instanceof RateLimitError ? error.retryAfterMs : Math.min(30_000, 500 * 2 ** (attempt - 1));
        o.logger.warn(`${stream.stream}: call failed (${error.message}); retrying with the same bookmark`, { attempt, waitMs: wait });
        await o.sleep(wait);
      }
    }
    const same = cursorsEqual(outcome.next, cursor);
    if (same && outcome.batches > 0) {
      throw new InternalError(`${stream.stream}: table ${stream.table} yielded records without moving its cursor; this is a connector bug, report it`, { code: 'MP_TAP_CURSOR_STUCK', context: { table: stream.table } });
    }
    if (same) break;
    if (naming.added !== named) {
      await printSchema();
      named = naming.added;
    }
    if (outcome.batches > 0) await copyFile(file, o.stdout);
    cursor = outcome.next;
    state.bookmarks[stream.stream] = cursor;
    state.naming[stream.stream] = naming.toJSON();
    await writeLine(o.stdout, stateMessage(stateValue(state)));
  }
  await rm(file, { force: true });
}

/** Sync every stream in order (an interrupted one first), then print the final STATE. A failure prints the state and stops the run. */
export async function syncStreams(o: SyncOptions): Promise<void> {
  const order = syncOrder(o.streams, o.state.currentlySyncing);
  for (const stream of order) {
    try {
      await syncStream(o, stream);
    } catch (error) {
      if (error instanceof NotEntitledError) {
        o.logger.warn(`${stream.stream}: skipped: ${error.message}`);
        continue;
      }
      // The last line stays a STATE: the committed bookmarks, with the stream to resume first.
      await writeLine(o.stdout, stateMessage(stateValue(o.state)));
      throw error;
    }
  }
  o.state.currentlySyncing = null;
  await writeLine(o.stdout, stateMessage(stateValue(o.state)));
}
