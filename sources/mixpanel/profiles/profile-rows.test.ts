import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../json.js';
import { mapProfileProperties, ProfileRowBuffer, PROFILE_BATCH_ROWS } from './profile-rows.js';
import { engageSchema, PEOPLE_COLUMNS } from './schema.js';

const schema = engageSchema();
const names = schema.fields.map((f) => f.name);

function row(properties: Record<string, unknown>): Record<string, unknown> {
  const buffer = new ProfileRowBuffer(schema);
  buffer.add(['u1'], mapProfileProperties(properties, PEOPLE_COLUMNS));
  const batch = buffer.take()!;
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = batch.getChild(name)!.get(0);
  return out;
}

function customOf(r: Record<string, unknown>): Record<string, string | null> {
  const map = r.custom_properties as { toJSON(): Record<string, string | null> } | null;
  return map === null ? {} : map.toJSON();
}

describe('profile → Arrow row', () => {
  it('types standard properties and keeps timestamp text exactly', () => {
    const r = row({ $email: 'a@b.c', $last_seen: '2024-01-02 03:04:05', $created: 1704164645, $browser_version: 17.1, $city: 'Paris' });
    expect(r.distinct_id).toBe('u1');
    expect(r.email).toBe('a@b.c');
    expect(r.last_seen).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(r.last_seen_raw).toBe('2024-01-02 03:04:05');
    expect(r.created).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(r.created_raw).toBe('1704164645');
    expect(r.browser_version).toBe(17.1);
    expect(r.city).toBe('Paris');
    expect(r._deleted_at).toBeNull();
    expect(customOf(r)).toEqual({});
  });

  it('puts custom properties in the map as lossless JSON text', () => {
    const props = parseJsonLossless('{"plan":"pro","n":12.5,"ok":true,"big":1234567890123456789,"list":[1,"x"],"obj":{"a":null},"nil":null}') as Record<string, unknown>;
    const custom = customOf(row(props));
    expect(custom).toEqual({ plan: '"pro"', n: '12.5', ok: 'true', big: '1234567890123456789', list: '[1,"x"]', obj: '{"a":null}', nil: 'null' });
  });

  it('keeps a standard value that does not fit its type raw in the map and counts it', () => {
    const mapped = mapProfileProperties({ $browser_version: '17.1.2', $email: 42, $last_seen: 'not a date' }, PEOPLE_COLUMNS);
    expect(mapped.mismatches).toBe(3);
    expect(Object.fromEntries(mapped.custom)).toEqual({ $browser_version: '"17.1.2"', $email: '42' });
    expect(mapped.lastSeenMs).toBeNull();
    const r = row({ $last_seen: 'not a date' });
    expect(r.last_seen).toBeNull();
    expect(r.last_seen_raw).toBe('not a date');
  });

  it('tombstones keep the key and set _deleted_at and last_seen', () => {
    const buffer = new ProfileRowBuffer(schema);
    buffer.addTombstone(['gone'], 1000, names.indexOf('last_seen'));
    const batch = buffer.take()!;
    expect(batch.getChild('distinct_id')!.get(0)).toBe('gone');
    expect(batch.getChild('_deleted_at')!.get(0)).toBe(1000);
    expect(batch.getChild('last_seen')!.get(0)).toBe(1000);
    expect(batch.getChild('email')!.get(0)).toBeNull();
  });

  it('drains large buffers in batches of at most PROFILE_BATCH_ROWS', () => {
    const buffer = new ProfileRowBuffer(schema);
    const mapped = mapProfileProperties({}, PEOPLE_COLUMNS);
    for (let i = 0; i < PROFILE_BATCH_ROWS + 5; i++) buffer.add([`u${i}`], mapped);
    const sizes = [...buffer.drain()].map((b) => b.numRows);
    expect(sizes).toEqual([PROFILE_BATCH_ROWS, 5]);
    expect(buffer.length).toBe(0);
  });

  it('addProfile maps straight into the buffer: same rows as mapProfileProperties + add', () => {
    const profiles = [
      { $email: 'a@b.c', $last_seen: '2024-01-02T03:04:05', plan: 'pro', n: 1 },
      { $browser_version: '17.1.2', $city: 'Oslo' },
      {},
      { $created: 1704164645, list: [1, 2], nil: null },
    ];
    const direct = new ProfileRowBuffer(schema);
    const viaMapped = new ProfileRowBuffer(schema);
    const seen: (number | null)[] = [];
    profiles.forEach((p, i) => {
      seen.push(direct.addProfile([], `u${i}`, p, PEOPLE_COLUMNS).lastSeenMs);
      viaMapped.add([`u${i}`], mapProfileProperties(p, PEOPLE_COLUMNS));
    });
    expect(seen).toEqual([Date.UTC(2024, 0, 2, 3, 4, 5), null, null, null]);
    const a = direct.take()!.toArray().map((r) => JSON.stringify(r));
    const b = viaMapped.take()!.toArray().map((r) => JSON.stringify(r));
    expect(a).toEqual(b);
    expect(JSON.parse(a[0]!).custom_properties).toEqual({ plan: '"pro"', n: '1' });
    expect(JSON.parse(a[1]!).custom_properties).toEqual({ $browser_version: '"17.1.2"' });
  });

  it('moveLastRowTo hands a row, custom entries included, to the other buffer', () => {
    const out = new ProfileRowBuffer(schema);
    const held = new ProfileRowBuffer(schema);
    out.addProfile([], 'keep', { $email: 'k@x', a: 1 }, PEOPLE_COLUMNS);
    out.addProfile([], 'move', { $email: 'm@x', b: 2, c: 3 }, PEOPLE_COLUMNS);
    out.moveLastRowTo(held);
    out.addProfile([], 'next', { d: 4 }, PEOPLE_COLUMNS);
    const kept = out.take()!;
    expect(kept.numRows).toBe(2);
    expect(kept.toArray().map((r) => [r.distinct_id, r.email, JSON.stringify(r.custom_properties)])).toEqual([
      ['keep', 'k@x', '{"a":"1"}'],
      ['next', null, '{"d":"4"}'],
    ]);
    const moved = held.take()!;
    expect(moved.toArray().map((r) => [r.distinct_id, r.email, JSON.stringify(r.custom_properties)])).toEqual([['move', 'm@x', '{"b":"2","c":"3"}']]);
  });

  it('reuses its column arrays after a full batch without leaking values into the next one', () => {
    const buffer = new ProfileRowBuffer(schema);
    for (let i = 0; i < PROFILE_BATCH_ROWS; i++) buffer.addProfile([], `a${i}`, { $email: `a${i}@x`, $city: 'Rome', k: i }, PEOPLE_COLUMNS);
    const first = buffer.take()!;
    buffer.addProfile([], 'b0', { x: true }, PEOPLE_COLUMNS);
    const second = buffer.take()!;
    expect(first.numRows).toBe(PROFILE_BATCH_ROWS);
    expect(first.getChild('email')!.get(PROFILE_BATCH_ROWS - 1)).toBe(`a${PROFILE_BATCH_ROWS - 1}@x`);
    expect(second.numRows).toBe(1);
    expect(second.toArray().map((r) => [r.distinct_id, r.email, r.city, JSON.stringify(r.custom_properties)])).toEqual([['b0', null, null, '{"x":"true"}']]);
  });

  it('deletion markers next to profiles: null map for the marker, entries for the profiles', () => {
    const buffer = new ProfileRowBuffer(schema);
    buffer.addProfile([], 'live', { plan: 'pro' }, PEOPLE_COLUMNS);
    buffer.addTombstone(['gone'], 1000, names.indexOf('last_seen'));
    buffer.addProfile([], 'live2', {}, PEOPLE_COLUMNS);
    const rows = buffer.take()!.toArray();
    expect(rows.map((r) => [r.distinct_id, r._deleted_at, r.custom_properties === null ? null : JSON.stringify(r.custom_properties)])).toEqual([
      ['live', null, '{"plan":"\\"pro\\""}'],
      ['gone', 1000, null],
      ['live2', null, '{}'],
    ]);
  });
});
