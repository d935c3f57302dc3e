// Test double of parse-thread: a worker that answers only once it holds two chunks (then both, in order, each with
// its byte length as `rows`). It proves the pool posts a worker its next chunk before the current one is answered:
// a pool that waits for each answer first never gets one from it. Used only by parse-pool.test.ts.
import { parentPort } from 'node:worker_threads';

const held = [];
parentPort.on('message', (request) => {
  held.push(request);
  if (held.length < 2) return;
  for (const r of held.splice(0)) {
    parentPort.postMessage({ type: 'parsed', id: r.id, ipc: null, rows: r.bytes.byteLength, counters: {}, zoneShift: {} });
  }
});
