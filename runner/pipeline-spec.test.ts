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
    ['bad destination name', table({ source_table: 'a', destination_table: '../etc' }), /objects\[0\]\.table\.destination_table: "\.\.\/etc" has characters that are unsafe in a folder name or a warehouse identifier \("\." "\/"\): use letters/],
    ['bad scd_type', table({ source_table: 'a', table_configuration: { scd_type: 'SCD_TYPE_3' } }), /objects\[0\]\.table\.table_configuration\.scd_type: expected one of SCD_TYPE_1, SCD_TYPE_2, APPEND_ONLY, got "SCD_TYPE_3"; use one of those/],
    ['empty primary_keys', table({ source_table: 'a', table_configuration: { primary_keys: [] } }), /table_configuration\.primary_keys: expected a column name or a non-empty list of column names, got array; for example \["id"\]/],
    ['bad JSON list in primary_keys', table({ source_table: 'a', table_configuration: { primary_keys: '[id' } }), /table_configuration\.primary_keys: a string starting with \[ must be a JSON list/],
    ['object option value', table({ source_table: 'a', table_configuration: { x: { y: 1 } } }), /table_configuration\.x: expected a string, number, boolean or list of strings, got object; quote the value/],
    ['cluster_by', table({ source_table: 'a', table_configuration: { cluster_by: ['x'] } }), /table_configuration\.cluster_by: .*; remove it/],
    ['table_configuration not an object', table({ source_table: 'a', table_configuration: [] }), /objects\[0\]\.table\.table_configuration: expected an object, got array/],
    [
      'duplicate destination',
      JSON.stringify({ connection_name: 'mp', objects: [{ table: { source_table: 'events' } }, { table: { source_table: 'engage', destination_table: 'Events' } }] }),
      /objects\[1\]\.table\.destination_table: destination table "Events" is already written by objects\[0\]\.table \(names are compared ignoring case\); set a different destination_table/,
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
      'pipeline_spec.json: objects[0].table.table_configuration.page_sise: unknown table option for items; did you mean page_size? valid: page_size, batch_size, scd_type, primary_keys, sequence_by, every',
    );
  });
  it('rejects key columns that are not in the schema, and SCD2 on a snapshot table', async () => {
    expect(await check({ source_table: 'items', table_configuration: { primary_keys: ['idd'] } })).toMatch(/table_configuration\.primary_keys: column "idd" is not in items; did you mean id\?/);
    expect(await check({ source_table: 'members', table_configuration: { scd_type: 'SCD_TYPE_2' } })).toMatch(/scd_type: SCD_TYPE_2 needs a cdc table but members is snapshot; remove scd_type/);
  });
});

const VALID = '{\n  "connection_name": "mp",\n  "objects": [\n    { "table": { "source_table": "events", "table_configuration": { "lookback_days": "5" } } }\n  ]\n}\n';

describe('spec JSON: duplicate keys, BOM, YAML (issue 19 finding 8)', () => {
  const duplicates: [string, string, string, string][] = [
    [
      'two "objects" keys (a table vanished)',
      '{\n  "connection_name": "mp",\n  "objects": [{ "table": { "source_table": "events" } }],\n  "objects": [{ "table": { "source_table": "engage" } }]\n}',
      '4:3',
      'objects: duplicate key (first at line 3, column 3)',
    ],
    ['two "connection_name" keys with equal values', '{"connection_name": "mp", "connection_name": "mp", "objects": []}', '1:27', 'connection_name: duplicate key (first at line 1, column 2)'],
    ['inside an object', '{"connection_name": "mp", "objects": [{"table": {"source_table": "a"}, "table": {"source_table": "b"}}]}', '1:72', 'objects[0].table: duplicate key'],
    [
      'in table_configuration, the second object',
      '{"connection_name": "mp", "objects": [\n {"table": {"source_table": "a"}},\n {"table": {"source_table": "b", "table_configuration": {"lookback_days": "1",\n   "lookback_days": "5"}}}]}',
      '4:4',
      'objects[1].table.table_configuration.lookback_days: duplicate key (first at line 3, column 58)',
    ],
    ['a key spelt with an escape', '{"connection_name": "mp", "conn\\u0065ction_name": "x", "objects": []}', '1:27', 'connection_name: duplicate key'],
    ['an odd key', '{"connection_name": "mp", "objects": [{"table": {"source_table": "a", "table_configuration": {"a b": 1, "a b": 2}}}]}', '1:105', 'objects[0].table.table_configuration["a b"]: duplicate key'],
  ];

  it.each(duplicates)('rejects a duplicate key: %s, with its path and line:column', (_name, text, at, what) => {
    const error = specError(text);
    expect(error.code).toBe('SPEC_DUPLICATE_KEY');
    expect(error.kind).toBe('config');
    expect(error.message).toContain(`pipeline_spec.json:${at}: ${what}`);
    expect(error.message).toMatch(/keep only the last one, so merge the two or remove one$/);
  });

  it('accepts a UTF-8 BOM: the same spec as without it', () => {
    expect(parsePipelineSpec(`\uFEFF${VALID}`, 'pipeline_spec.json')).toEqual(parsePipelineSpec(VALID, 'pipeline_spec.json'));
  });

  it.each([
    ['a syntax error', VALID.replace('"lookback_days": "5"', '"lookback_days": 5,'), 'pipeline_spec.json:4:89: invalid JSON (trailing comma before }; remove it)'],
    ['a duplicate key', VALID.replace('"source_table": "events",', '"source_table": "events", "source_table": "x",'), 'pipeline_spec.json:4:44: objects[0].table.source_table: duplicate key (first at line 4, column 18)'],
  ])('positions after a BOM are the ones an editor shows (%s)', (_name, text, expected) => {
    expect(specError(text).message).toContain(expected);
    expect(specError(`\uFEFF${text}`).message).toContain(expected);
  });

  it.each([
    ['a YAML spec', 'connection_name: mixpanel\nobjects:\n  - table:\n      source_table: events\n', '1:1'],
    ['YAML after comments and blank lines', '# my pipeline\n\n---\nconnection_name: mixpanel\n', '1:1'],
    ['indented YAML after blank lines', '\n\n  connection_name: mixpanel\n  objects: []\n', '3:3'],
    ['a YAML list', '\uFEFF\n- table:\n    source_table: events\n', '2:1'],
  ])('names %s as YAML at the line where JSON parsing stops', (_name, text, at) => {
    const error = specError(text);
    expect(error.code).toBe('SPEC_NOT_JSON');
    expect(error.message).toBe(`pipeline_spec.json:${at}: this looks like YAML; pipeline_spec.json must be JSON: rewrite it as { "connection_name": "...", "objects": [ { "table": { "source_table": "..." } } ] }`);
  });

  it.each([
    ['a comment', '{\n  "connection_name": "mp", // the connection\n  "objects": []\n}', '2:28', 'comments are not allowed in JSON; remove them'],
    ['single quotes', "{\n  'connection_name': 'mp'\n}", '2:3', 'JSON strings need double quotes'],
    ['a missing comma', '{\n  "connection_name": "mp"\n  "objects": []\n}', '3:3', 'expected , or } after the value (a missing comma?)'],
    ['an unquoted value', '{ "connection_name": mixpanel }', '1:22', 'unexpected "mixpanel", expected a value; text values need double quotes'],
    ['an empty file', '  \n', '2:1', 'the file is empty'],
    ['a truncated file', '{\n  "objects": [\n', '3:1', 'unexpected end of the file'],
    ['a leading zero', '{ "x": 05 }', '1:8', 'not a valid JSON number'],
    ['text after the value', '{}\n{}', '2:1', 'unexpected text after the end of the JSON value'],
    ['a line break in a string', '{ "connection_name": "mp\n" }', '1:25', 'line break inside a string'],
    ['unicode before the error', '{ "connection_name": "🦄 é", x }', '1:29', 'unexpected "x", expected a "key"'],
  ])('a syntax error (%s) names line:column and the reason', (_name, text, at, reason) => {
    const error = specError(text);
    expect(error.code).toBe('SPEC_INVALID_JSON');
    expect(error.message).toContain(`pipeline_spec.json:${at}: invalid JSON (${reason}`);
  });
});

describe('destination table names (issue 19 findings 2 and 7)', () => {
  const named = (destination: string) => table({ source_table: 'events', destination_table: destination });
  const ok = ['events', 'Events_2', 'a', 'x'.repeat(128), 'mailchimp_sync', 'mailchimp_state'];
  it.each(ok)('accepts %s', (name) => {
    expect(parsePipelineSpec(named(name), 'pipeline_spec.json').objects[0]!.destinationTable).toBe(name);
  });

  const bad: [string, string, string, RegExp][] = [
    ['129 characters', 'x'.repeat(129), 'SPEC_BAD_NAME', /is 129 characters long; the limit is 128 .*: choose a shorter name$/],
    ['256 characters', 'e'.repeat(256), 'SPEC_BAD_NAME', /"e{40}…" is 256 characters long/],
    ['a hyphen', 'my-events', 'SPEC_BAD_NAME', /"my-events" has characters that are unsafe .* \("-"\): use letters, digits and _, starting with a letter$/],
    ['a dot (a catalog separator)', 'raw.events', 'SPEC_BAD_NAME', /\("\."\)/],
    ['a slash', 'a/b', 'SPEC_BAD_NAME', /\("\/"\)/],
    ['a backslash', 'a\\b', 'SPEC_BAD_NAME', /\("\\\\"\)/],
    ['a space', 'my events', 'SPEC_BAD_NAME', /\(" "\)/],
    ['a non-ASCII letter', 'événements', 'SPEC_BAD_NAME', /\("é"\)/],
    ['a leading digit', '2024_events', 'SPEC_BAD_NAME', /starts with a digit, which a warehouse identifier cannot: start it with a letter$/],
    ['a Windows device name', 'con', 'SPEC_BAD_NAME', /device name Windows cannot use/],
    ['_delta_log', '_delta_log', 'SPEC_RESERVED_NAME', /"_delta_log" starts with "_", which is reserved for the table format's own folders .*: choose a name starting with a letter$/],
    ['_lakeflow_staging', '_lakeflow_staging', 'SPEC_RESERVED_NAME', /starts with "_"/],
    ['mailchimp_sync_state', 'mailchimp_sync_state', 'SPEC_RESERVED_NAME', /"mailchimp_sync_state" is reserved for the Mailchimp sync's own tables \(mailchimp_sync_state, mailchimp_sync_errors, mailchimp_sync_plan; prefix mailchimp_sync_\): choose another name$/],
    ['mailchimp_sync_errors', 'mailchimp_sync_errors', 'SPEC_RESERVED_NAME', /is reserved for the Mailchimp sync/],
    ['mailchimp_sync_plan in other case', 'Mailchimp_Sync_Plan', 'SPEC_RESERVED_NAME', /is reserved for the Mailchimp sync/],
    ['a future Mailchimp table', 'mailchimp_sync_audit', 'SPEC_RESERVED_NAME', /is reserved for the Mailchimp sync/],
  ];
  it.each(bad)('rejects %s naming objects[i].table.destination_table and the fix', (_name, name, code, message) => {
    const error = specError(JSON.stringify({ connection_name: 'mp', objects: [{ table: { source_table: 'events' } }, { table: { source_table: 'events', destination_table: name } }] }));
    expect(error.kind).toBe('config');
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^pipeline_spec\.json: objects\[1\]\.table\.destination_table: /);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });

  it('a source_table used as the destination names source_table and says to set destination_table', () => {
    expect(specError(table({ source_table: 'mailchimp_sync_state' })).message).toMatch(
      /^pipeline_spec\.json: objects\[0\]\.table\.source_table: "mailchimp_sync_state" \(the destination table, as destination_table is not set\) is reserved .* \(set destination_table\)$/,
    );
  });

  it('a destination written twice names the second object and the key that set it', () => {
    const twice = (second: unknown) => specError(JSON.stringify({ connection_name: 'mp', objects: [{ table: { source_table: 'engage', destination_table: 'profiles' } }, { table: second }] })).message;
    expect(twice({ source_table: 'engage', destination_table: 'PROFILES' })).toMatch(/objects\[1\]\.table\.destination_table: destination table "PROFILES" is already written by objects\[0\]\.table/);
    expect(twice({ source_table: 'profiles' })).toMatch(/objects\[1\]\.table\.source_table: destination table "profiles" is already written by objects\[0\]\.table/);
  });
});
