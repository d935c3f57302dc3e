// Test double of parse-thread: answers every chunk with `rows` = the young generation this worker was given
// (`resourceLimits.maxYoungGenerationSizeMb`, as V8 applied it). It proves the pool caps its workers' young
// generation. Used only by parse-pool.test.ts.
import { parentPort, resourceLimits } from 'node:worker_threads';

parentPort.on('message', (request) => {
  parentPort.postMessage({ type: 'parsed', id: request.id, ipc: null, rows: resourceLimits.maxYoungGenerationSizeMb ?? -1, counters: {}, zoneShift: {} });
});
