/** Every table the Mailchimp sync writes is a name the runner refuses as a destination (issue 19 finding 2). */
import { describe, expect, it } from 'vitest';
import { ConfigError, RESERVED_TABLE_NAMES } from '../connector-spec/index.js';
import { parsePipelineSpec } from '../runner/index.js';
import { ERRORS_TABLE, PLAN_TABLE, STATE_TABLE } from './index.js';

describe('the Mailchimp sync tables are reserved', () => {
  it.each([STATE_TABLE, ERRORS_TABLE, PLAN_TABLE])('%s is in the reserved list and a spec cannot write it', (name) => {
    expect(RESERVED_TABLE_NAMES).toContain(name);
    const spec = JSON.stringify({ connection_name: 'mp', objects: [{ table: { source_table: 'events', destination_table: name } }] });
    expect(() => parsePipelineSpec(spec, 'pipeline_spec.json')).toThrow(ConfigError);
    expect(() => parsePipelineSpec(spec, 'pipeline_spec.json')).toThrow(/objects\[0\]\.table\.destination_table: .* is reserved for the Mailchimp sync/);
  });
});
