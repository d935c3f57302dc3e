import { describe, expect, it } from 'vitest';
import { compileWhere, decodeMapValue, type ColumnKind, type RowAccess, type Value } from './where.js';

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
