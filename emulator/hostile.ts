/**
 * Hostile fixtures: the values that break naive connectors. Line separators (U+2028, U+0085) and raw
 * control characters inside strings, 4-byte emoji, 19-digit integers (kept exact as bigint and written into
 * the JSON text digit for digit), keys differing only in case, properties named `event`/`properties`/`time`
 * (nested), thousands of distinct keys, a missing `$insert_id`, an empty `distinct_id`, `$last_seen` in
 * several formats.
 */
import type { IngestEvent, ProfileRecord } from './types.js';

export const HOSTILE_BIG_INTEGERS = [1234567890123456789n, -9223372036854775808n, 9007199254740993n] as const;
export const HOSTILE_STRING = 'line\u2028sep\u0085nel\u0000nul\u0001soh\u001funit\ttab\r\nnewline 😀🏳️‍🌈 \u{1F9EA}';

/** Events at `timeMs` (seconds resolution kept in ms). */
export function hostileEvents(timeMs: number): IngestEvent[] {
  const base = Math.floor(timeMs / 1000) * 1000;
  const manyKeys: Record<string, number> = {};
  for (let k = 0; k < 3000; k++) manyKeys[`wide_key_${String(k).padStart(4, '0')}`] = k;
  return [
    {
      event: 'Hostile Strings',
      properties: {
        time: base,
        distinct_id: 'hostile-1',
        $insert_id: 'hostile-strings-1',
        text: HOSTILE_STRING,
        emoji: '😀',
        'key with spaces and ünïcödé 🔑': 'v',
        nested: { deeper: { text: HOSTILE_STRING } },
        list: [HOSTILE_STRING, '\u2028', '\u0085'],
      },
    },
    {
      event: 'Hostile Numbers',
      properties: {
        time: base + 1000,
        distinct_id: 'hostile-1',
        $insert_id: 'hostile-numbers-1',
        big_id: HOSTILE_BIG_INTEGERS[0],
        min_int64: HOSTILE_BIG_INTEGERS[1],
        just_over_safe: HOSTILE_BIG_INTEGERS[2],
        big_in_list: [HOSTILE_BIG_INTEGERS[0], 1, 2.5],
        big_in_object: { id: HOSTILE_BIG_INTEGERS[0] },
        negative_zero: -0,
        tiny: 5e-324,
        huge: 1.7976931348623157e308,
      },
    },
    {
      event: 'Hostile Keys',
      properties: {
        time: base + 2000,
        distinct_id: 'hostile-2',
        $insert_id: 'hostile-keys-1',
        Plan: 'upper',
        plan: 'lower',
        PLAN: 'shout',
        event: 'a property named event',
        properties: { time: 1, event: 'nested', properties: {} },
        $browser: 12345,
        mp_country_code: ['not', 'a', 'string'],
      },
    },
    { event: 'Hostile Wide', properties: { time: base + 3000, distinct_id: 'hostile-2', $insert_id: 'hostile-wide-1', ...manyKeys } },
    { event: 'Hostile No Insert Id', properties: { time: base + 4000, distinct_id: 'hostile-3', note: 'no $insert_id on purpose' } },
    { event: 'Hostile Empty Distinct Id', properties: { time: base + 5000, distinct_id: '', $insert_id: 'hostile-empty-did-1' } },
    { event: '', properties: { time: base + 6000, distinct_id: 'hostile-4', $insert_id: 'hostile-empty-name-1' } },
    { event: 'Hostile 😀 \u2028 Name', properties: { time: base + 7000, distinct_id: 'hostile-4', $insert_id: 'hostile-odd-name-1' } },
  ];
}

export function hostileProfiles(): ProfileRecord[] {
  return [
    { distinctId: 'hostile-1', properties: { $name: HOSTILE_STRING, $email: 'hostile1@example.com', $last_seen: '2024-01-02T03:04:05', big_id: HOSTILE_BIG_INTEGERS[0] } },
    { distinctId: 'hostile-2', properties: { $name: 'Space Format', $last_seen: '2024-01-02 03:04:05', Plan: 'upper', plan: 'lower' } },
    { distinctId: 'hostile-3', properties: { $name: 'Epoch Format', $last_seen: 1704164645, $created: 1704164645 } },
    { distinctId: 'hostile-4', properties: { $name: '😀', $last_seen: '2024-01-02T03:04:05.123Z', properties: { event: 'x' } } },
    { distinctId: '', properties: { $name: 'empty distinct id' } },
  ];
}
