/**
 * The Arrow IPC stream a batch was decoded from, when that stream holds exactly this one batch (the events parse
 * workers answer so). A consumer that would serialize the batch again to hold it on disk (the runner's call
 * staging) can keep those bytes instead: the same columns, read back the same. Keyed by the batch's column
 * `Data`, so a batch re-wrapped with another schema of the same columns (`new RecordBatch(schema, batch.data)`,
 * which makes a new struct `Data` over the same children) keeps it; a batch built, sliced or taken from it does not.
 */
import type { Data, RecordBatch } from 'apache-arrow';

interface Origin {
  readonly columns: readonly Data[];
  readonly stream: Uint8Array;
}

const origins = new WeakMap<Data, Origin>();

/** Record that `stream` (an IPC stream of exactly one batch) decodes to `batch`. */
export function rememberIpcStream(batch: RecordBatch, stream: Uint8Array): void {
  const columns = batch.data.children;
  if (columns.length > 0) origins.set(columns[0]!, { columns: [...columns], stream });
}

/** The one-batch IPC stream `batch` was decoded from, if one was recorded for exactly its columns. */
export function ipcStreamOf(batch: RecordBatch): Uint8Array | undefined {
  const columns = batch.data.children;
  if (columns.length === 0) return undefined;
  const origin = origins.get(columns[0]!);
  if (origin === undefined || origin.columns.length !== columns.length) return undefined;
  for (let i = 0; i < columns.length; i++) if (origin.columns[i] !== columns[i]) return undefined;
  return origin.stream;
}
