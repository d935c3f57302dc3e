/**
 * A call the gate lets through is on the wire after one pass of the event loop's check phase (undici writes a
 * request on a reused keep-alive socket only after a `setImmediate`, its idle-socket validation): the Engage scan
 * asks for the next page, lets that pass, then maps this page's rows, and the request must not wait for the mapping.
 * With a limiter that starts jobs from a timer it did: each page's round trip was added to the mapping instead of
 * overlapping it. The server runs in its own process and stamps when each request arrived; the test keeps this
 * thread busy for 600 ms right after the call and that one pass.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setImmediate as checkPhase } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyReadStats } from '../../connector-spec/index.js';
import { createMixpanelClient } from './client.js';
import type { MixpanelClient } from './client-types.js';

const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  const arrived = Date.now();
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', arrived }));
  });
}).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });
`;

let server: ChildProcess;
let client: MixpanelClient;

beforeAll(async () => {
  server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  const baseUrl = `http://127.0.0.1:${line.toString().trim()}`;
  client = createMixpanelClient({ auth: { kind: 'api_secret', secret: 'dispatch-test-secret' }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 30, baseUrl });
  // Two calls open the connection and reuse it once, so the measured ones reuse it as the pages of a scan do (the
  // first reuse of a new socket takes undici a second check phase).
  for (const page of ['0', '1']) await client.queryJson('/api/query/engage', { page }, { table: 'engage', stats: emptyReadStats(), method: 'POST' });
});

afterAll(async () => {
  await client?.close();
  server?.kill();
});

function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the caller's synchronous work (mapping a page of profiles)
  }
}

describe('a call let through by the gate', () => {
  it('reaches the server while the calling thread is still busy', async () => {
    for (const continuesQuery of [true, false]) {
      const called = Date.now();
      const answer = client.queryJson('/api/query/engage', { page: '1', session_id: 's' }, { table: 'engage', stats: emptyReadStats(), method: 'POST', continuesQuery });
      await checkPhase();
      busy(600);
      const { arrived } = (await answer) as { arrived: number };
      expect(arrived - called, `continuesQuery ${continuesQuery}: the request left only after the busy thread was free`).toBeLessThan(400);
    }
  });
});
