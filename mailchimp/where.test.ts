import { describe, expect, it } from 'vitest';
import { ConfigError } from '../connector-spec/index.js';
import { TEMPORAL_FORMATS, compileWhere, decodeMapValue, parseTemporal, type ColumnKind, type RowAccess, type Value } from './where.js';

const COLUMNS = new Map<string, ColumnKind>([
  ['email', 'text'],
  ['name', 'text'],
  ['last_seen', 'timestamp'],
  ['browser_version', 'number'],
  ['custom_properties', 'map'],
]);

interface TestRow {
  readonly [column: string]: Value | Readonly<Record<string, string>>;
}

function access(r: TestRow): RowAccess {
  return {
    get: (c) => (r[c] ?? null) as Value,
    mapEntry: (c, k) => {
      const m = r[c] as Readonly<Record<string, string>> | undefined;
      return m === undefined ? null : decodeMapValue(m[k] ?? null);
    },
  };
}

const ROWS: TestRow[] = [
  { id: 1, email: 'a@x.io', name: 'Ann', last_seen: Date.UTC(2026, 0, 5), browser_version: 17.1, custom_properties: { plan: '"pro"', seats: '12', beta: 'true' } },
  { id: 2, email: 'b@y.io', name: null, last_seen: Date.UTC(2025, 11, 1), browser_version: null, custom_properties: { plan: '"free"' } },
  { id: 3, email: null, name: "O'Neil", last_seen: null, browser_version: 9, custom_properties: {} },
];

function ids(where: string): unknown[] {
  const p = compileWhere(where, COLUMNS);
  return ROWS.filter((r) => p(access(r))).map((r) => r['id']);
}

describe('--where subset', () => {
  it('evaluates comparisons, LIKE, IN, BETWEEN, IS NULL and boolean logic with SQL NULL semantics', () => {
    expect(ids('')).toEqual([1, 2, 3]);
    expect(ids("email = 'a@x.io'")).toEqual([1]);
    expect(ids("email <> 'a@x.io'")).toEqual([2]); // NULL is neither equal nor unequal
    expect(ids("NOT email = 'a@x.io'")).toEqual([2]);
    expect(ids("email LIKE '%@x.io' OR name = 'O''Neil'")).toEqual([1, 3]);
    expect(ids("email NOT LIKE 'a%'")).toEqual([2]);
    expect(ids('name IS NULL')).toEqual([2]);
    expect(ids('email IS NOT NULL AND (browser_version > 10 OR browser_version IS NULL)')).toEqual([1, 2]);
    expect(ids('browser_version BETWEEN 9 AND 17.1')).toEqual([1, 3]);
    expect(ids("name IN ('Ann', 'Bob')")).toEqual([1]);
    expect(ids("name NOT IN ('Ann')")).toEqual([3]);
  });

  it('compares timestamps with ISO text (UTC) and decodes custom_properties JSON values', () => {
    expect(ids("last_seen >= '2026-01-01'")).toEqual([1]);
    expect(ids("last_seen < '2026-01-01T00:00:00Z'")).toEqual([2]);
    expect(ids("custom_properties['plan'] = 'pro'")).toEqual([1]);
    expect(ids("custom_properties['seats'] >= 10 AND custom_properties['beta'] = true")).toEqual([1]);
    expect(ids("custom_properties['missing'] IS NULL")).toEqual([1, 2, 3]);
  });

  it('rejects what it does not understand with a ConfigError naming the position or the column', () => {
    const bad: [string, RegExp][] = [
      ['plan = 1', /unknown column "plan".*engage columns: email, name/],
      ["email = 'x", /unterminated string/],
      ['email = ', /unexpected end/],
      ['email', /expected a comparison/],
      ["email = 'a'; DROP TABLE x", /unexpected ";"/],
      ['custom_properties = 1', /is a MAP/],
      ["name['x'] = 1", /only a MAP column/],
      ['(email IS NULL', /expected \)/],
    ];
    for (const [where, message] of bad) {
      expect(() => compileWhere(where, COLUMNS), where).toThrowError(message);
      try {
        compileWhere(where, COLUMNS);
      } catch (error) {
        expect((error as { kind?: string }).kind).toBe('config');
      }
    }
  });
});

describe('--where dates (issue 19 finding 10)', () => {
  const accepted: [string, number][] = [
    ['2026-01-31', Date.UTC(2026, 0, 31)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2026-01-31T09:30', Date.UTC(2026, 0, 31, 9, 30)],
    ['2026-01-31 09:30:15', Date.UTC(2026, 0, 31, 9, 30, 15)],
    ['2026-01-31T09:30:15.123', Date.UTC(2026, 0, 31, 9, 30, 15, 123)],
    ['2026-01-31T09:30:15.1', Date.UTC(2026, 0, 31, 9, 30, 15, 100)],
    ['2026-01-31T09:30:15.123456', Date.UTC(2026, 0, 31, 9, 30, 15, 123)],
    ['2026-01-31T09:30:15Z', Date.UTC(2026, 0, 31, 9, 30, 15)],
    ['2026-01-31T09:30:15+02:00', Date.UTC(2026, 0, 31, 7, 30, 15)],
    ['2026-01-31T09:30-0530', Date.UTC(2026, 0, 31, 15, 0)],
    ['2026-01-31T00:00:00+14:00', Date.UTC(2026, 0, 30, 10, 0)],
    [' 2026-01-31 ', Date.UTC(2026, 0, 31)],
    // Date.UTC would read year 99 as 1999.
    ['0099-12-31', -59011545600000],
  ];

  it.each(accepted)('accepts %s', (literal, ms) => {
    expect(parseTemporal(literal)).toBe(ms);
    // and the filter compares with exactly that instant
    const rows: TestRow[] = [{ id: 'at', last_seen: ms }, { id: 'before', last_seen: ms - 1 }];
    const p = compileWhere(`last_seen >= '${literal}'`, COLUMNS);
    expect(rows.filter((r) => p(access(r))).map((r) => r['id'])).toEqual(['at']);
  });

  const rejected = [
    'not a date',
    '',
    'today',
    '2026-02-30',
    '2025-02-29',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-01-32',
    '2026-01-00',
    '2026-01-31T24:00',
    '2026-01-31T23:60',
    '2026-01-31T10:00:60',
    '2026-01-31T10:00+15:00',
    '2026-01-31T10:00+02:60',
    '2026-01-31Z',
    '2026-1-31',
    '31/01/2026',
    '01/31/2026',
    '20260131',
    '1700000000',
    '2026-01-31T10',
    '2026-01-31T10:00:00 UTC',
  ];
  it.each(rejected)("rejects '%s' compared with a timestamp column: ConfigError naming --where, the literal and the formats", (literal) => {
    let error: unknown;
    try {
      compileWhere(`email IS NOT NULL AND last_seen >= '${literal}'`, COLUMNS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe('MAILCHIMP_WHERE_BAD_DATE');
    expect(e.message).toBe(
      `--where: '${literal}' is not a valid date or timestamp to compare with last_seen (at character 36 of ${JSON.stringify(`email IS NOT NULL AND last_seen >= '${literal}'`)}); write it as ${TEMPORAL_FORMATS}, e.g. last_seen >= '2026-01-31'`,
    );
  });

  it.each([
    ['last_seen >= 1700000000', /last_seen is a timestamp column; compare it with a quoted date, not the number 1700000000 \(at character 14/],
    ['last_seen = 2026', /not the number 2026/],
    ['last_seen = true', /not the boolean true/],
    ["'not a date' < last_seen", /'not a date' is not a valid date or timestamp to compare with last_seen \(at character 1 /],
    ["last_seen IN ('2026-01-01', 'soon')", /'soon' is not a valid date .* \(at character 29 /],
    ["last_seen BETWEEN '2026-01-01' AND '2026-02-31'", /'2026-02-31' is not a valid date/],
    ["last_seen NOT BETWEEN 'x' AND '2026-02-01'", /'x' is not a valid date/],
  ])('rejects %s', (where, message) => {
    expect(() => compileWhere(where, COLUMNS)).toThrow(message);
  });

  it('leaves text, number and map comparisons alone, and NULL means NULL', () => {
    expect(ids("name = 'not a date'")).toEqual([]);
    expect(ids("custom_properties['plan'] >= 'not a date'")).toEqual([1]); // a map entry compares as text: 'pro' >= 'not…' > 'free'
    expect(ids('last_seen = NULL')).toEqual([]);
    expect(ids('browser_version >= 10')).toEqual([1]);
  });

  it('filters with dates in every accepted form, zones included', () => {
    expect(ids("last_seen >= '2026-01-05'")).toEqual([1]);
    expect(ids("last_seen >= '2026-01-05T01:00:00+02:00'")).toEqual([1]); // 2026-01-04T23:00Z
    expect(ids("last_seen >= '2026-01-05T00:00:00.001'")).toEqual([]);
    expect(ids("last_seen IN ('2026-01-05', '2025-12-01 00:00')")).toEqual([1, 2]);
    expect(ids("last_seen BETWEEN '2025-12-01' AND '2025-12-01T00:00:00Z'")).toEqual([2]);
    expect(ids("'2026-01-01' > last_seen")).toEqual([2]);
  });
});
