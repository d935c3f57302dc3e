/**
 * `proxy_spec.json` (repository root) is the spec README's proxy section runs with `--source mixpanel_proxy`: it
 * parses, validates against this source, and names every proxy table once. (The proxy tests run it too, through
 * proxy/testing.ts `runProxyTables`.)
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parsePipelineSpec, validateSpecAgainstSource } from '../../runner/index.js';
import { PROXY_SPEC_FILE } from '../../proxy/testing.js';
import { PROXY_TABLES, createMixpanelProxySource } from './index.js';

describe('proxy_spec.json', () => {
  it('parses, validates against the mixpanel_proxy source and covers each proxy table once', async () => {
    expect.hasAssertions();
    const spec = parsePipelineSpec(await readFile(PROXY_SPEC_FILE, 'utf8'), 'proxy_spec.json');
    await expect(validateSpecAgainstSource(spec, createMixpanelProxySource({ spoolDir: '/nonexistent-spool' }))).resolves.toBeUndefined();
    expect(spec.objects.map((o) => o.sourceTable)).toEqual([...PROXY_TABLES]);
    expect(spec.objects.map((o) => o.destinationTable)).toEqual([...PROXY_TABLES]);
  });

  it('would be refused by the Mixpanel source (the --source flag matters)', async () => {
    expect.hasAssertions();
    const { createMixpanelSource, mixpanelConfigFromEnv } = await import('../mixpanel/index.js');
    const spec = parsePipelineSpec(await readFile(PROXY_SPEC_FILE, 'utf8'), 'proxy_spec.json');
    const mixpanel = createMixpanelSource(mixpanelConfigFromEnv({ MIXPANEL_API_SECRET: 'not-used' }));
    await expect(validateSpecAgainstSource(spec, mixpanel)).rejects.toThrow(/objects\[0\]\.table\.source_table: unknown table "proxy_events" for source mixpanel/);
  });
});
