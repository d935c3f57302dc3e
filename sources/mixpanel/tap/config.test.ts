import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../connector-spec/index.js';
import { parseTapConfig, startDateOfTapBookmark } from './config.js';
import { NamingMap } from './naming.js';
import { parseState, syncOrder } from './state.js';

const ENV = { MIXPANEL_BASE_URL: 'http://127.0.0.1:9' };

describe('tap config.json', () => {
  it('maps the tap keys onto the connector config and table options', () => {
    const c = parseTapConfig(
      { api_secret: 's3cret', date_window_size: '14', attribution_window: 3, project_timezone: 'US/Pacific', start_date: '2019-01-01T00:00:00Z', export_events: ['a', 'b'], eu_residency: 'true', denest_properties: 'false', select_properties_by_default: false, user_agent: 'x', foo: 1 },
      ENV,
    );
    expect(c.mixpanel).toMatchObject({ auth: { kind: 'api_secret', secret: 's3cret' }, region: 'EU', projectTimezone: 'US/Pacific', baseUrl: 'http://127.0.0.1:9' });
    expect(c.tableOptions['events']).toEqual({ start_date: '2019-01-01', window_days: '14', lookback_days: '3', export_events: '["a","b"]' });
    expect(c.tableOptions['funnels']).toEqual({ start_date: '2019-01-01', date_window_size: '14', attribution_window: '3' });
    expect(c.settings).toEqual({ denestProperties: false, selectPropertiesByDefault: false, propertyNaming: 'mp_reserved', attributionDays: 3 });
    expect(c.warnings).toEqual(['config.json: unknown key "foo" ignored']);
    expect(c.mixpanel.userAgent).toBe('x');
  });

  it('maps end_date onto the events stream and says it applies there only', () => {
    const c = parseTapConfig({ api_secret: 's', start_date: '2024-01-01T00:00:00Z', end_date: '2024-06-30T00:00:00Z' }, ENV);
    expect(c.tableOptions['events']).toMatchObject({ start_date: '2024-01-01', end_date: '2024-06-30' });
    expect(c.warnings).toEqual(['config.json: "end_date" applies to the export stream only']);
    expect(() => parseTapConfig({ api_secret: 's', end_date: 'June' }, ENV)).toThrow(/"end_date" must be an RFC 3339 timestamp/);
  });

  it('rejects what it cannot honour with a ConfigError naming the key, never the secret', () => {
    const attempt = (raw: object): unknown => {
      try {
        parseTapConfig(raw, ENV);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const [raw, key] of [
      [{}, 'api_secret'],
      [{ api_secret: 'zz-secret', date_window_size: '0' }, 'date_window_size'],
      [{ api_secret: 'zz-secret', start_date: 'yesterday' }, 'start_date'],
      [{ api_secret: 'zz-secret', property_naming: 'camel' }, 'property_naming'],
    ] as const) {
      const error = attempt(raw);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(key);
      expect((error as Error).message).not.toContain('zz-secret');
    }
  });

  it('turns a tap bookmark into a start date that re-reads the attribution window', () => {
    expect(startDateOfTapBookmark('2019-09-27T22:34:39.000000Z', 5)).toBe('2019-09-22');
    expect(startDateOfTapBookmark('not a date', 5)).toBeUndefined();
  });
});

describe('naming map', () => {
  it('renames $ to mp_reserved_, gives a colliding later name a suffix once, and a persisted map wins on reload', () => {
    const m = new NamingMap('mp_reserved');
    expect(m.column('event')).toBe('event');
    expect(m.property('$browser')).toBe('mp_reserved_browser');
    expect(m.property('event')).toBe('event__2');
    expect(m.property('mp_reserved_plan')).toBe('mp_reserved_plan');
    expect(m.property('$plan')).toBe('mp_reserved_plan__2');
    expect(m.property('$plan')).toBe('mp_reserved_plan__2');
    const reloaded = new NamingMap('mp_reserved', m.toJSON());
    expect(reloaded.property('$plan')).toBe('mp_reserved_plan__2'); // seen in the other order, same names
    expect(reloaded.property('mp_reserved_plan')).toBe('mp_reserved_plan');
    expect(reloaded.added).toBe(0);
    expect(new NamingMap('stripped').property('$browser')).toBe('browser');
  });
});

describe('singer state', () => {
  it('reads its own STATE value or a tap state, and resumes the interrupted stream first', () => {
    const s = parseState({ type: 'STATE', value: { currently_syncing: 'funnels', bookmarks: { export: '2019-09-27T22:34:39Z' } } });
    expect(s.currentlySyncing).toBe('funnels');
    expect(s.bookmarks).toEqual({ export: '2019-09-27T22:34:39Z' });
    const order = syncOrder([{ stream: 'a' }, { stream: 'funnels' }, { stream: 'c' }], s.currentlySyncing).map((x) => x.stream);
    expect(order).toEqual(['funnels', 'c', 'a']);
    expect(() => parseState({ bookmarks: [] })).toThrow(ConfigError);
  });
});
