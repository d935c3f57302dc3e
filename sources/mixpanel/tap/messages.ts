/**
 * Singer messages on a Writable: one JSON object per line (SCHEMA, RECORD, STATE), integers beyond 2^53 written
 * exactly, with backpressure. A slice's records are staged in a file and copied out only once the slice is done.
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringifyJson } from '../json.js';

export function schemaMessage(stream: string, schema: unknown, keyProperties: readonly string[], bookmarkProperties: readonly string[]): string {
  return stringifyJson({ type: 'SCHEMA', stream, schema, key_properties: keyProperties, bookmark_properties: bookmarkProperties });
}

export function recordMessage(stream: string, record: Readonly<Record<string, unknown>>, timeExtracted: string): string {
  return stringifyJson({ type: 'RECORD', stream, record, time_extracted: timeExtracted });
}

export function stateMessage(value: unknown): string {
  return stringifyJson({ type: 'STATE', value });
}

/** Write text and wait for the buffer to drain when the stream asks. */
export async function writeText(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export async function writeLine(out: Writable, line: string): Promise<void> {
  await writeText(out, `${line}\n`);
}

/** Copy a staged file of message lines to `out` (left open), with backpressure. */
export async function copyFile(path: string, out: Writable): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    if (!out.write(chunk as Buffer)) await once(out, 'drain');
  }
}
