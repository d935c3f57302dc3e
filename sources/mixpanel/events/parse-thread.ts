/**
 * The events parse worker thread (started by parse-pool.ts): export chunks in (transferred bytes), one Arrow IPC stream of the chunk's batches out
 * (transferred). Never touches the network or the file system; errors go back as plain data.
 */
import { parentPort } from 'node:worker_threads';
import { Table, tableToIPC } from 'apache-arrow';
import { isConnectorError } from '../../../connector-spec/index.js';
import { parseEventChunk } from './parse-chunk.js';
import { parseWorkerRequest, type ParseWorkerReply } from './parse-protocol.js';

const port = parentPort;
if (port === null) throw new Error('parse-thread runs only as a worker thread (started by parse-pool.ts)');

port.on('message', (message: unknown) => {
  const request = parseWorkerRequest(message);
  let reply: ParseWorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const result = parseEventChunk(new Uint8Array(request.bytes), request.baseOffset, request.settings);
    let ipc: ArrayBuffer | null = null;
    if (result.batches.length > 0) {
      const bytes = tableToIPC(new Table(result.batches), 'stream');
      ipc = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
      transfer.push(ipc);
    }
    reply = { type: 'parsed', id: request.id, ipc, rows: result.rows, counters: result.counters, zoneShift: result.zoneShift };
  } catch (error) {
    reply = {
      type: 'failed',
      id: request.id,
      error: isConnectorError(error)
        ? { kind: error.kind, message: error.message, code: error.code, context: { ...error.context } }
        : { kind: 'internal', message: error instanceof Error ? (error.stack ?? error.message) : String(error), code: 'MP_PARSE_WORKER_FAILED', context: {} },
    };
  }
  port.postMessage(reply, transfer);
});
