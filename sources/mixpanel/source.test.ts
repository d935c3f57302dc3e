import { describe, expect, it } from 'vitest';
import { ConfigError, readTableMetadataFromSchema } from '../../connector-spec/index.js';
import { createMixpanelSource, tables } from './source.js';

const config = { auth: { kind: 'api_secret', secret: 's' }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 30, baseUrl: 'http://127.0.0.1:9' } as const;

function syncError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a synchronous ConfigError');
}

describe('createMixpanelSource', () => {
  it('serves the explicit registry and the events schema with its metadata', async () => {
    const source = createMixpanelSource(config, { now: () => 0 });
    expect(await source.listTables()).toEqual(tables.map((t) => t.name));
    expect(await source.listTables()).toContain('events');
    const schema = await source.getSchema('events');
    expect(readTableMetadataFromSchema(schema)).toEqual({
      primaryKeys: ['dedupe_key'],
      cursorField: 'time',
      sequenceBy: ['time', 'mp_processing_time_ms'],
      ingestionType: 'cdc',
      partitionBy: 'event_date',
    });
    expect(schema.fields.slice(0, 10).map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'dedupe_key:Utf8',
      'event:Utf8',
      'insert_id:Utf8',
      'insert_id_missing:Bool',
      'distinct_id:Utf8',
      'time:Timestamp<MILLISECOND, UTC>',
      'time_raw:Int64',
      'time_flag:Utf8',
      'event_date:Utf8',
      'mp_processing_time_ms:Int64',
    ]);
    expect(schema.fields.at(-1)!.name).toBe('custom_properties');
    expect((await source.listTableOptions('events')).map((o) => o.name)).toContain('lookback_days');
    await source.close?.();
  });

  it('throws ConfigError synchronously for an unknown table, option, option value or cursor', async () => {
    const source = createMixpanelSource(config, { now: () => 0 });
    expect(syncError(() => source.readTable('evnts', null)).message).toBe(`Unknown Mixpanel table "evnts": use one of ${tables.map((t) => t.name).join(', ')}`);
    expect(syncError(() => source.readTable('events', null, { tableOptions: { lookback: '3' } })).message).toContain('Unknown option "lookback" for table events: valid options are lookback_days, safety_lag');
    expect(syncError(() => source.readTable('events', null, { tableOptions: { window_days: '0' } })).message).toContain('window_days');
    expect(syncError(() => source.readTable('events', { v: 9 })).message).toContain('--full-refresh');
    await expect(source.getSchema('nope')).rejects.toBeInstanceOf(ConfigError);
    await source.close?.();
  });
});
