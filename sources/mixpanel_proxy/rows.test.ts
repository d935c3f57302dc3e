/** Spool line → rows: one row per profile operation (A7), exact JSON, the event name from `event` only, and the
 * same dedupe_key the `events` table computes for the exported copy of the event. */
import { describe, expect, it } from 'vitest';
import { EventBatchBuilder } from '../mixpanel/events/builder.js';
import { eventRow, parseSpoolLine, updateRows, PROFILE_OPERATIONS, GROUP_OPERATIONS, type LineCommon } from './rows.js';
import { recordLine, type SpoolRequestInfo } from './spool-format.js';

const info: SpoolRequestInfo = { receivedAt: '2026-11-20T12:00:00.000Z', endpoint: 'engage', method: 'POST', clientIp: '1.2.3.4', requestId: 'r-1', upstreamStatus: 200 };

function common(endpoint: 'track' | 'engage' | 'groups', recordJson: string): { common: LineCommon; record: unknown } {
  const parsed = parseSpoolLine(recordLine({ ...info, endpoint }, 0, recordJson, { accepted: true, error: null }).trimEnd());
  if (parsed.kind !== 'record') throw new Error(`expected a record line, got ${parsed.kind}`);
  return { common: parsed.common, record: parsed.record };
}

describe('profile and group updates', () => {
  const payloads: Record<string, string> = {
    $set: '{"plan":"pro","n":3928097563762691601}',
    $set_once: '{"first_seen":"2026-11-20T12:00:00"}',
    $add: '{"logins":1.50}',
    $append: '{"items":"a"}',
    $union: '{"tags":["x","y"]}',
    $remove: '{"tags":"x"}',
    $unset: '["old","older"]',
    $delete: '""',
  };

  it.each(Object.entries(payloads))('%s gives one row whose payload is the input JSON, exactly', (op, payload) => {
    const { common: c, record } = common('engage', `{"$token":"tok","$distinct_id":"u-1",${JSON.stringify(op)}:${payload}}`);
    const rows = updateRows(c, record, PROFILE_OPERATIONS);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ operation: op, payload, row_id: `r-1/0/${op}`, token: 'tok' });
  });

  it('a record with several operations gives one row per operation, each with the whole record in raw', () => {
    const raw = '{"$token":"tok","$distinct_id":"u-1","$set":{"a":1},"$unset":["b"],"$add":{"c":2}}';
    const { common: c, record } = common('engage', raw);
    const rows = updateRows(c, record, PROFILE_OPERATIONS);
    expect(rows.map((r) => r.operation)).toEqual(['$set', '$add', '$unset']);
    expect(new Set(rows.map((r) => r.raw))).toEqual(new Set([raw]));
    expect(new Set(rows.map((r) => r.dedupe_key)).size).toBe(3);
  });

  it('a record with no known operation is kept as one row with a null operation', () => {
    const { common: c, record } = common('groups', '{"$token":"tok","$group_key":"company","$group_id":7,"$increment":{"x":1}}');
    expect(updateRows(c, record, GROUP_OPERATIONS)).toMatchObject([{ operation: null, payload: null }]);
  });
});

describe('events', () => {
  it('takes the event name from "event", never from a property named event, and keeps properties exact', () => {
    const props = '{"event":"Spoofed","time":1763640000.123,"distinct_id":"u-1","$insert_id":"i-1","big":3928097563762691601,"f":1.50,"token":"tok","mp_lib":"web"}';
    const { common: c, record } = common('track', `{"event":"Real","properties":${props}}`);
    const row = eventRow(c, record);
    expect(row).toMatchObject({ event: 'Real', properties: props, time_utc: 1763640000123, time_raw: 1763640000.123, distinct_id: 'u-1', insert_id: 'i-1', token: 'tok', lib: 'web' });
  });

  it('computes the same dedupe_key as the events table for the exported copy (time in ms there, float seconds here)', () => {
    const sent = common('track', '{"event":"Signed up","properties":{"time":1763640000.123,"distinct_id":"u-1","$insert_id":"i-1","plan":"pro"}}');
    const proxyKey = eventRow(sent.common, sent.record)!.dedupe_key;
    const builder = new EventBatchBuilder(null, 'test');
    builder.line('{"event":"Signed up","properties":{"time":1763640000123,"distinct_id":"u-1","$insert_id":"i-1","plan":"pro","mp_processing_time_ms":1763640001000}}', 0);
    const exported = builder.flush().getChild('dedupe_key')!.get(0);
    expect(proxyKey).toBe(exported);
    const other = common('track', '{"event":"Signed up","properties":{"time":1763640000.123,"distinct_id":"u-1","$insert_id":"i-2","plan":"pro"}}');
    expect(eventRow(other.common, other.record)!.dedupe_key).not.toBe(proxyKey);
  });

  it('a record that is not an object gives no row (counted by the source)', () => {
    const { common: c, record } = common('track', '42');
    expect(eventRow(c, record)).toBeNull();
  });
});

describe('the verdict columns', () => {
  it.each([
    [{ accepted: true, error: null }],
    [{ accepted: false, error: 'Engage API error: $distinct_id, missing or empty' }],
    [{ accepted: null, error: null }],
    [{ accepted: false, error: 'Mixpanel unreachable: ECONNREFUSED' }],
  ])('round-trip through a spool line: %j', (verdict) => {
    const parsed = parseSpoolLine(recordLine(info, 3, '{"$distinct_id":"u"}', verdict).trimEnd());
    expect(parsed).toMatchObject({ kind: 'record', common: { upstreamAccepted: verdict.accepted, upstreamError: verdict.error, index: 3, upstreamStatus: 200 } });
  });

  it('a line written before the verdict existed reads as unknown, keeping its request-level error', () => {
    const old = '{"v":1,"received_at":"2026-11-20T12:00:00.000Z","endpoint":"track","method":"POST","client_ip":"1.2.3.4","request_id":"r-9","upstream_status":null,"upstream_error":"ECONNREFUSED","index":0,"record":{"event":"E"}}';
    expect(parseSpoolLine(old)).toMatchObject({ kind: 'record', common: { upstreamAccepted: null, upstreamError: 'ECONNREFUSED', upstreamStatus: null } });
  });
});
