import { describe, expect, it } from 'vitest';
import { ConfigError } from '../connector-spec/index.js';
import { parsePipelineSpec, validateSpecAgainstSource } from './index.js';
import { createMemorySource } from './testing/memory-source.js';

function specError(text: string): ConfigError {
  try {
    parsePipelineSpec(text, 'pipeline_spec.json');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const table = (t: unknown) => JSON.stringify({ connection_name: 'mp', objects: [{ table: t }] });

describe('parsePipelineSpec', () => {
  it('parses the Lakeflow shape, splits reserved keys from table options and stringifies option values', () => {
    const spec = parsePipelineSpec(
      JSON.stringify({
        connection_name: 'mixpanel',
        objects: [
          { table: { source_table: 'events', table_configuration: { lookback_days: 3, legacy: true, tags: ['a', 'b'], scd_type: 'scd_type_2', primary_keys: '["id","ts"]', sequence_by: 'ts' } } },
          { table: { source_table: 'events', destination_table: 'events_copy', table_configuration: { primary_keys: 'id', sequence_by: ['a', 'b'] } } },
        ],
      }),
      'pipeline_spec.json',
    );
    expect(spec.connectionName).toBe('mixpanel');
    expect(spec.objects[0]).toMatchObject({
      sourceTable: 'events',
      destinationTable: 'events',
      scdType: 'SCD_TYPE_2',
      primaryKeys: ['id', 'ts'],
      sequenceBy: ['ts'],
      tableOptions: { lookback_days: '3', legacy: 'true', tags: '["a","b"]' },
      path: 'objects[0].table',
    });
    expect(spec.objects[1]).toMatchObject({ destinationTable: 'events_copy', primaryKeys: ['id'], sequenceBy: ['a', 'b'], tableOptions: {} });
  });

  const matrix: [string, string, RegExp][] = [
    ['malformed JSON', '{\n  "connection_name": "mp",\n  "objects": [\n    { "table": { "source_table": "events" }, }\n  ]\n}', /^pipeline_spec\.json:4:\d+: invalid JSON .*fix the syntax/],
    ['truncated JSON', '{ "connection_name": "mp", "objects": [', /^pipeline_spec\.json:1:\d+: invalid JSON/],
    ['not an object', '[]', /^pipeline_spec\.json: expected a JSON object with connection_name and objects, got array/],
    ['unknown top key', JSON.stringify({ connection_name: 'mp', objects: [], conection: 1 }), /pipeline_spec\.json: conection: unknown key; did you mean connection_name\?/],
    ['missing connection_name', JSON.stringify({ objects: [{ table: { source_table: 'a' } }] }), /connection_name: missing; add it/],
    ['blank connection_name', JSON.stringify({ connection_name: ' ', objects: [{ table: { source_table: 'a' } }] }), /connection_name: expected a non-empty string, got string; set it/],
    ['missing objects', JSON.stringify({ connection_name: 'mp' }), /objects: missing; add a list/],
    ['empty objects', JSON.stringify({ connection_name: 'mp', objects: [] }), /objects: expected a non-empty list .* \(empty\); add at least one table/],
    ['unknown object kind', JSON.stringify({ connection_name: 'mp', objects: [{ tabel: {} }] }), /objects\[0\]\.tabel: unknown key; did you mean table\?/],
    ['typo in table key', JSON.stringify({ connection_name: 'mp', objects: [{ table: { source_table: 'a' } }, { table: { sourc_table: 'b' } }] }), /objects\[1\]\.table\.sourc_table: unknown key; did you mean source_table\?/],
    ['missing source_table', table({ destination_table: 'x' }), /objects\[0\]\.table\.source_table: missing; add it/],
    ['numeric source_table', table({ source_table: 5 }), /objects\[0\]\.table\.source_table: expected a non-empty string, got number/],
    ['destination_catalog', table({ source_table: 'a', destination_catalog: 'c' }), /objects\[0\]\.table\.destination_catalog: not supported by the local runner .*; remove it/],
    ['bad destination name', table({ source_table: 'a', destination_table: '../etc' }), /objects\[0\]\.table\.destination_table: "\.\.\/etc" is not a usable folder name; use letters/],
    ['bad scd_type', table({ source_table: 'a', table_configuration: { scd_type: 'SCD_TYPE_3' } }), /objects\[0\]\.table\.table_configuration\.scd_type: expected one of SCD_TYPE_1, SCD_TYPE_2, APPEND_ONLY, got "SCD_TYPE_3"; use one of those/],
    ['empty primary_keys', table({ source_table: 'a', table_configuration: { primary_keys: [] } }), /table_configuration\.primary_keys: expected a column name or a non-empty list of column names, got array; for example \["id"\]/],
    ['bad JSON list in primary_keys', table({ source_table: 'a', table_configuration: { primary_keys: '[id' } }), /table_configuration\.primary_keys: a string starting with \[ must be a JSON list/],
    ['object option value', table({ source_table: 'a', table_configuration: { x: { y: 1 } } }), /table_configuration\.x: expected a string, number, boolean or list of strings, got object; quote the value/],
    ['cluster_by', table({ source_table: 'a', table_configuration: { cluster_by: ['x'] } }), /table_configuration\.cluster_by: .*; remove it/],
    ['table_configuration not an object', table({ source_table: 'a', table_configuration: [] }), /objects\[0\]\.table\.table_configuration: expected an object, got array/],
    [
      'duplicate destination',
      JSON.stringify({ connection_name: 'mp', objects: [{ table: { source_table: 'events' } }, { table: { source_table: 'engage', destination_table: 'Events' } }] }),
      /objects\[1\]\.table: destination table "Events" is already written by objects\[0\]\.table; set a different destination_table/,
    ],
  ];

  it.each(matrix)('rejects %s with the key path and the fix', (_name, text, pattern) => {
    const error = specError(text);
    expect(error.message).toMatch(pattern);
    expect(error.message).not.toContain('\n');
    expect(error.code).toMatch(/^SPEC_/);
  });
});

describe('validateSpecAgainstSource', () => {
  const source = createMemorySource();
  const check = async (t: unknown) => {
    try {
      await validateSpecAgainstSource(parsePipelineSpec(table(t), 'pipeline_spec.json'), source);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return 'ok';
  };

  it('accepts known tables and options', async () => {
    expect(await check({ source_table: 'items', table_configuration: { page_size: 10, scd_type: 'SCD_TYPE_2' } })).toBe('ok');
  });
  it('names an unknown table and lists the valid ones', async () => {
    expect(await check({ source_table: 'item' })).toBe(
      'pipeline_spec.json: objects[0].table.source_table: unknown table "item" for source memory; did you mean items? valid: items, events, logs, members',
    );
  });
  it('names an unknown table option and lists the valid ones', async () => {
    expect(await check({ source_table: 'items', table_configuration: { page_sise: 3 } })).toBe(
      'pipeline_spec.json: objects[0].table.table_configuration.page_sise: unknown table option for items; did you mean page_size? valid: page_size, batch_size, scd_type, primary_keys, sequence_by',
    );
  });
  it('rejects key columns that are not in the schema, and SCD2 on a snapshot table', async () => {
    expect(await check({ source_table: 'items', table_configuration: { primary_keys: ['idd'] } })).toMatch(/table_configuration\.primary_keys: column "idd" is not in items; did you mean id\?/);
    expect(await check({ source_table: 'members', table_configuration: { scd_type: 'SCD_TYPE_2' } })).toMatch(/scd_type: SCD_TYPE_2 needs a cdc table but members is snapshot; remove scd_type/);
  });
});
