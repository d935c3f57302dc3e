// Test double of parse-thread: a worker that dies on its first chunk (as an out-of-memory worker would), so the
// pool's failure path can be tested. Used only by parse-pool.test.ts.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', () => process.exit(7));
