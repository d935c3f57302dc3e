/**
 * The connector acceptance suite for the three proxy tables, over a real spool written by the proxy's
 * SpoolWriter (several small segments, so reads cross segment boundaries and slices are small). `expected` is
 * the row_id of every row written (the test knows each record and operation it spools).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { Cursor } from '../../connector-spec/index.js';
import { describeConnectorAcceptance } from '../../connector-spec/acceptance/index.js';
import { SpoolWriter } from '../../proxy/spool.js';
import { createMixpanelProxySource } from './index.js';
import { recordLine, undecodableLine, type SpoolEndpoint, type SpoolRequestInfo, type SpoolVerdict } from './spool-format.js';

const dir = await mkdtemp(path.join(tmpdir(), 'proxy-acceptance-'));
const writer = await SpoolWriter.open({ dir, segmentBytes: 2_000 });
afterAll(async () => {
  await writer.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
function info(endpoint: SpoolEndpoint, failed = false): SpoolRequestInfo {
  n++;
  return {
    receivedAt: new Date(Date.UTC(2026, 10, 20, 12, 0, n)).toISOString(),
    endpoint,
    method: 'POST',
    clientIp: `10.0.0.${n % 250}`,
    requestId: `req-${n}`,
    upstreamStatus: failed ? null : n % 5 === 0 ? 503 : 200,
  };
}

/** Every verdict form: accepted, refused with HTTP 200 (`0`), refused by status, unreachable, unknown. */
function verdict(req: SpoolRequestInfo, j: number): SpoolVerdict {
  if (req.upstreamStatus === null) return { accepted: false, error: 'Mixpanel unreachable: ECONNREFUSED' };
  if (req.upstreamStatus === 503) return { accepted: false, error: 'HTTP 503' };
  const k = (n + j) % 3;
  return k === 0 ? { accepted: true, error: null } : k === 1 ? { accepted: false, error: 'Engage API error: exactly one operation is required' } : { accepted: null, error: null };
}

function event(i: number): string {
  return JSON.stringify({ event: `Event ${i}`, properties: { time: 1763640000 + i + 0.25, distinct_id: `u-${i}`, $device_id: `d-${i}`, $user_id: `u-${i}`, $insert_id: `ins-${i}`, token: 'tok', mp_lib: 'web', n: i } });
}
function profile(i: number): string {
  return JSON.stringify({ $token: 'tok', $distinct_id: `u-${i}`, $device_id: `d-${i}`, $user_id: `u-${i}`, $ip: '1.2.3.4', $ignore_time: true, $time: 1763640000000 + i, $set: { plan: 'pro', i }, $unset: ['old'] });
}
function group(i: number): string {
  return JSON.stringify({ $token: 'tok', $group_key: 'company', $group_id: `c-${i}`, $time: 1763640000 + i, $set_once: { tier: i } });
}

/** The operations profile() and group() write: each becomes one row (`<request>/<index>/<operation>`). */
const OPERATIONS: Readonly<Record<SpoolEndpoint, readonly string[]>> = { track: [], engage: ['$set', '$unset'], groups: ['$set_once'] };
/** The ground truth: the row_id of every row the spool holds, by endpoint (an undecodable body has none). */
const rowIds: Record<SpoolEndpoint, string[]> = { track: [], engage: [], groups: [] };

async function add(endpoint: SpoolEndpoint, count: number): Promise<void> {
  let text = '';
  for (let i = 0; i < count; i++) {
    const k = n;
    const body = endpoint === 'track' ? `[${event(k)},${event(k + 1000)}]` : endpoint === 'engage' ? `[${profile(k)}]` : `[${group(k)}]`;
    const records = JSON.parse(body) as unknown[];
    const req = info(endpoint, i === 0 && count > 1);
    text += records.map((r, j) => recordLine(req, j, JSON.stringify(r), verdict(req, j))).join('');
    records.forEach((_, j) => {
      const ops = OPERATIONS[endpoint];
      rowIds[endpoint].push(...(ops.length === 0 ? [`${req.requestId}/${j}`] : ops.map((op) => `${req.requestId}/${j}/${op}`)));
    });
  }
  text += undecodableLine(info(endpoint), { reason: 'cannot decode the body', contentType: 'text/plain', contentEncoding: '', bodyBytes: 3, bodyBase64: 'YWJj', truncated: false }, { accepted: null, error: null });
  await writer.append(text);
}

await add('track', 6);
await add('engage', 5);
await add('groups', 5);

const ENDPOINT: Record<string, SpoolEndpoint> = { proxy_events: 'track', proxy_profile_updates: 'engage', proxy_group_updates: 'groups' };

describeConnectorAcceptance({
  name: 'mixpanel_proxy',
  createSource: (_config, env) => createMixpanelProxySource({ spoolDir: dir }, { logger: env.logger }),
  tableOptions: {
    proxy_events: { slice_bytes: '1500' },
    proxy_profile_updates: { slice_bytes: '1500' },
    proxy_group_updates: { slice_bytes: '1500' },
  },
  addData: async (table) => {
    const endpoint = ENDPOINT[table];
    if (endpoint === undefined) throw new TypeError(`addData: no table ${table}`);
    await add(endpoint, 2);
  },
  expected: (table) => {
    const endpoint = ENDPOINT[table];
    if (endpoint === undefined) throw new TypeError(`expected: no table ${table}`);
    return rowIds[endpoint].map((row_id) => ({ row_id }));
  },
  futureCursor: (_table, last: Cursor) => {
    const c = (last ?? { segment: 1, offset: 0 }) as { segment: number; offset: number };
    return { v: 1, segment: c.segment + 1_000, offset: 0 };
  },
  // The source reads a local folder with no credentials; the proxy never spools headers (Authorization).
  skip: [{ test: '* > no secret leaks', reason: 'the source takes no credentials: it reads a local spool folder, and the proxy never writes request headers (Authorization) to it' }],
});
