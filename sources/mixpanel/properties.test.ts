import { describe, expect, it } from 'vitest';
import {
  EVENT_CORE_COLUMNS,
  EVENT_PROPERTIES,
  EVENT_PROPERTY_TABLE,
  PEOPLE_PROPERTY_TABLE,
  parseLenientDatetime,
  propertyTable,
  splitProperties,
  toBool,
  toFloat64,
  toInt64,
  toTimestamp,
  toUtf8,
} from './properties.js';
import { parseJsonLossless } from './json.js';

describe('converters', () => {
  it('accept only values of their type', () => {
    expect(toUtf8('a')).toEqual({ ok: true, value: 'a' });
    expect(toUtf8(1)).toEqual({ ok: false });
    expect(toInt64(42)).toEqual({ ok: true, value: 42 });
    expect(toInt64(3928097563762691601n)).toEqual({ ok: true, value: 3928097563762691601n });
    expect(toInt64(2n ** 63n)).toEqual({ ok: false });
    expect(toInt64(12.5)).toEqual({ ok: false });
    expect(toInt64('12')).toEqual({ ok: false });
    expect(toFloat64(17.1)).toEqual({ ok: true, value: 17.1 });
    expect(toFloat64('17.1.2')).toEqual({ ok: false });
    expect(toFloat64(3928097563762691601n)).toEqual({ ok: false });
    expect(toBool(false)).toEqual({ ok: true, value: false });
    expect(toBool('true')).toEqual({ ok: false });
    expect(toTimestamp('2024-01-15T10:00:00')).toEqual({ ok: true, value: Date.UTC(2024, 0, 15, 10) });
    expect(toTimestamp('15/08/53895')).toEqual({ ok: false });
  });

  it('parses datetimes leniently and independently of the host TZ', () => {
    const t = Date.UTC(2024, 0, 15, 10, 20, 30);
    expect(parseLenientDatetime('2024-01-15T10:20:30')).toBe(t);
    expect(parseLenientDatetime('2024-01-15 10:20:30')).toBe(t);
    expect(parseLenientDatetime('2024-01-15T10:20:30Z')).toBe(t);
    expect(parseLenientDatetime('2024-01-15T10:20:30.250Z')).toBe(t + 250);
    expect(parseLenientDatetime('2024-01-15T15:50:30+05:30')).toBe(t);
    expect(parseLenientDatetime('2024-01-15T02:20:30-0800')).toBe(t);
    expect(parseLenientDatetime('2024-01-15')).toBe(Date.UTC(2024, 0, 15));
    expect(parseLenientDatetime(t / 1000)).toBe(t);
    expect(parseLenientDatetime(t)).toBe(t);
    expect(parseLenientDatetime(String(t / 1000))).toBe(t);
    expect(parseLenientDatetime(String(t))).toBe(t);
    expect(parseLenientDatetime('2024-02-30')).toBeNull();
    expect(parseLenientDatetime('2024-01-15T25:00:00')).toBeNull();
    expect(parseLenientDatetime('yesterday')).toBeNull();
    expect(parseLenientDatetime(true)).toBeNull();
  });
});

describe('standard property tables', () => {
  it('name columns without $ and never clash with core columns', () => {
    const columns = EVENT_PROPERTIES.map((p) => p.column);
    expect(new Set(columns).size).toBe(columns.length);
    for (const core of EVENT_CORE_COLUMNS) expect(columns).not.toContain(core);
    expect(EVENT_PROPERTY_TABLE.fields.find((f) => f.name === 'browser')).toBeDefined();
    expect(EVENT_PROPERTIES.find((p) => p.property === '$import')?.column).toBe('is_import');
    expect(EVENT_PROPERTIES.find((p) => p.property === 'mp_country_code')?.column).toBe('mp_country_code');
    expect(PEOPLE_PROPERTY_TABLE.properties.find((p) => p.property === '$last_seen')?.kind).toBe('timestamp');
    expect(() => propertyTable([{ property: '$x', column: 'event', kind: 'utf8' }], ['event'])).toThrow(/clashes/);
  });

  it('split typed values from custom JSON text, keeping misfits raw', () => {
    const props = parseJsonLossless(
      '{"$browser":"Chrome","$browser_version":"17.1.2","$screen_width":1920,"$import":true,"plan":"pro","n":3928097563762691601,' +
        '"ok":true,"list":[1,"a"],"obj":{"a":1},"nothing":null,"$city":null,"event":"fake","time":1}',
    ) as Record<string, unknown>;
    const split = splitProperties(props, EVENT_PROPERTY_TABLE, new Set(['time']));
    const value = (column: string): unknown => split.values[EVENT_PROPERTY_TABLE.properties.findIndex((p) => p.column === column)];
    expect(value('browser')).toBe('Chrome');
    expect(value('browser_version')).toBeNull();
    expect(value('screen_width')).toBe(1920);
    expect(value('is_import')).toBe(true);
    expect(value('city')).toBeNull();
    expect(split.misfits).toEqual(['$browser_version']);
    expect(split.custom).toEqual([
      ['$browser_version', '"17.1.2"'],
      ['plan', '"pro"'],
      ['n', '3928097563762691601'],
      ['ok', 'true'],
      ['list', '[1,"a"]'],
      ['obj', '{"a":1}'],
      ['nothing', 'null'],
      ['$city', 'null'],
      ['event', '"fake"'],
    ]);
  });
});

describe('parseLenientDatetime: the YYYY-MM-DDTHH:MM:SS fast path', () => {
  it('gives the answer of the general parser for every text of that shape (valid, impossible, non-digit)', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pad = (n: number, w: number): string => String(n).padStart(w, '0');
    const texts = ['2024-02-29T12:00:00', '2023-02-29T12:00:00', '2024-04-31 00:00:00', '0050-01-01T00:00:00', '2024-01-15t10:20:30', '2024-13-01T00:00:00', '2024-01-00T00:00:00', '2024-01-01T24:00:00', '2024-01-01T23:60:00', '2024-01-01T23:59:60', '2024-0a-01T00:00:00', '2024-01-01X00:00:00', '+024-01-01T00:00:00'];
    // Month ends in leap and common years, centuries included, and years 0–99 (which Date.UTC reads as 1900–1999).
    for (const year of [0, 4, 96, 99, 100, 400, 1900, 1996, 2000, 2023, 2024, 2100, 2400, 9999]) {
      for (let month = 1; month <= 12; month++) {
        for (const day of [28, 29, 30, 31]) texts.push(`${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T23:59:59`);
      }
    }
    for (let i = 0; i < 3000; i++) {
      const sep = [' ', 'T', 't'][rand(3)]!;
      texts.push(`${pad(rand(10000), 4)}-${pad(rand(14), 2)}-${pad(rand(33), 2)}${sep}${pad(rand(25), 2)}:${pad(rand(61), 2)}:${pad(rand(61), 2)}`);
    }
    for (const text of texts) {
      // A trailing space takes the general (regex) path, which trims it: the reference answer.
      expect(parseLenientDatetime(text), text).toBe(parseLenientDatetime(`${text} `));
    }
    expect(parseLenientDatetime('2024-01-15T10:20:30')).toBe(Date.UTC(2024, 0, 15, 10, 20, 30));
    expect(parseLenientDatetime('2023-02-29T12:00:00')).toBeNull();
  });
});
