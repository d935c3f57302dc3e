import { describe, expect, it } from 'vitest';
import { ConfigError } from '../connector-spec/index.js';
import { createMixpanelSource } from '../sources/mixpanel/index.js';
import { parsePipelineSpec, validateSpecAgainstSource } from './index.js';

describe('an option the source rejects is named by its place in the spec', () => {
  it('a pasted where that would close the filter names objects[i].table.table_configuration.where', async () => {
    expect.hasAssertions();
    const spec = parsePipelineSpec(
      JSON.stringify({
        connection_name: 'c',
        objects: [
          { table: { source_table: 'engage' } },
          { table: { source_table: 'events', table_configuration: { where: 'properties["$os"] == "iOS") or (true' } } },
        ],
      }),
      'pipeline_spec.json',
    );
    const source = createMixpanelSource({ auth: { kind: 'api_secret', secret: 's' }, region: 'US', projectTimezone: 'UTC', legacyLocalTime: false, historicalDays: 30, baseUrl: 'http://127.0.0.1:9' });
    try {
      const error = await validateSpecAgainstSource(spec, source).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/^pipeline_spec\.json: objects\[1\]\.table\.table_configuration\.where /);
      expect((error as ConfigError).message).toContain('remove the unmatched ")"');
      expect((error as ConfigError).context.path).toBe('objects[1].table.table_configuration.where');
    } finally {
      await source.close?.();
    }
  });
});
