/**
 * Issue 19 findings about the other commands, each through the real CLI (a child process) against the bundled
 * emulators:
 * 2.  `mailchimp-sync` never writes a table it did not create: a runner table sitting under a sync name
 *     (`mailchimp_sync_state`, as an earlier release allowed) is refused, exit 2, no Mailchimp call, the lakehouse
 *     unchanged byte for byte.
 * 10. `mailchimp-sync --where "last_seen >= 'not a date'"` exits 2 naming --where and the formats, before any
 *     Mailchimp call and without touching the lakehouse.
 * 11. Singer mode names the config.json key the user set: a wrong `api_secret` is `config.json "api_secret"`,
 *     never MIXPANEL_API_SECRET, and never shows the secret; a future `start_date` is refused before any call.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { OWNER_KEYS, RUNNER_WRITER } from '../lakehouse/index.js';
import { startMailchimpEmulator, type MailchimpEmulator } from '../mailchimp/emulator/index.js';
import { runCli } from '../runner/testing/cli-child.js';
import { lines, treeDigest } from './helpers/mistakes-cli.js';

let emulator: Emulator;
let mailchimp: MailchimpEmulator;
let root: string;
let lakehouse: string;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 5, profiles: 12 });
  mailchimp = await startMailchimpEmulator();
  root = await mkdtemp(path.join(tmpdir(), 'mistakes-commands-'));
  lakehouse = path.join(root, 'lakehouse');
  const spec = path.join(root, 'spec.json');
  await writeFile(spec, JSON.stringify({ connection_name: 'commands', objects: [{ table: { source_table: 'engage' } }] }));
  const good = await runCli(['run', '--spec', spec, '--lakehouse', lakehouse, '--state', path.join(root, 'state'), '--log-format', 'json'], {
    MIXPANEL_BASE_URL: emulator.url,
    MIXPANEL_API_SECRET: emulator.project.apiSecret,
  });
  expect(good.code, good.stderr).toBe(0);
});

afterAll(async () => {
  await mailchimp?.close();
  await emulator?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function copyOfLakehouse(name: string): Promise<string> {
  const copy = path.join(root, name);
  await cp(lakehouse, copy, { recursive: true });
  return copy;
}

const mailchimpEnv = (): Record<string, string> => ({ MAILCHIMP_API_KEY: mailchimp.apiKey, MAILCHIMP_BASE_URL: mailchimp.url });

describe('mailchimp-sync (findings 2 and 10)', () => {
  it("--where with a date that is not one: exit 2 naming --where and the formats, no Mailchimp call, the lakehouse unchanged", async () => {
    const lake = await copyOfLakehouse('where');
    const before = await treeDigest(lake);
    mailchimp.log.length = 0;
    const result = await runCli(['mailchimp-sync', '--list', 'list1', '--lakehouse', lake, '--where', "last_seen >= 'not a date'"], mailchimpEnv());
    expect(mailchimp.log).toEqual([]);
    expect(await treeDigest(lake)).toEqual(before);
    expect(result.code, result.stderr).toBe(2);
    const message = lines(result.stderr);
    expect(message).toHaveLength(1);
    expect(message[0]).toContain("--where: 'not a date' is not a valid date or timestamp to compare with last_seen");
    expect(message[0]).toContain("write it as 'YYYY-MM-DD'");
  });

  it('a runner table under the name of the sync state: refused naming what it found, exit 2, no Mailchimp call, nothing changed', async () => {
    const lake = await copyOfLakehouse('sync-name');
    // The runner table an earlier release let a spec put under this name (its 102,715 events were wiped).
    const log = path.join(lake, 'mailchimp_sync_state', '_delta_log');
    await mkdir(log, { recursive: true });
    const schema = { type: 'struct', fields: [{ name: 'dedupe_key', type: 'string', nullable: false, metadata: {} }] };
    const configuration = { [OWNER_KEYS.writer]: RUNNER_WRITER, [OWNER_KEYS.connection]: 'old', [OWNER_KEYS.source]: 'mixpanel', [OWNER_KEYS.sourceTable]: 'events' };
    await writeFile(
      path.join(log, '00000000000000000000.json'),
      [
        { commitInfo: { timestamp: 1_780_000_000_000, operation: 'WRITE' } },
        { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
        { metaData: { id: '0c3f3c1e-8a1d-4c8e-9a55-1f2e3d4c5b6a', format: { provider: 'parquet', options: {} }, schemaString: JSON.stringify(schema), partitionColumns: [], configuration, createdTime: 1_780_000_000_000 } },
      ]
        .map((a) => JSON.stringify(a))
        .join('\n') + '\n',
    );
    const before = await treeDigest(lake);
    mailchimp.log.length = 0;
    const result = await runCli(['mailchimp-sync', '--list', 'list1', '--lakehouse', lake], mailchimpEnv());
    expect(mailchimp.log).toEqual([]);
    expect(await treeDigest(lake)).toEqual(before);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('MAILCHIMP_TABLE_NOT_OURS');
    expect(result.stderr).toMatch(/mailchimp_sync_state is .*runner/);
    expect(result.stderr).toContain('mailchimp-sync writes only tables it created, so it wrote nothing');
  });
});

describe('singer mode (finding 11)', () => {
  it('a wrong api_secret in config.json is named as config.json "api_secret", never as MIXPANEL_API_SECRET, and the secret is never shown', async () => {
    const config = path.join(root, 'config.json');
    await writeFile(config, JSON.stringify({ api_secret: 'a-wrong-secret-0123', start_date: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) + 'T00:00:00Z', project_timezone: 'UTC' }));
    const result = await runCli(['singer', '--config', config], { MIXPANEL_BASE_URL: emulator.url });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('check config.json "api_secret"');
    expect(result.stderr).not.toContain('MIXPANEL_API_SECRET');
    expect(result.stderr + result.stdout).not.toContain('a-wrong-secret-0123');
  });

  it('a start_date in the future is a config.json error before any call (exit 2)', async () => {
    const config = path.join(root, 'future.json');
    await writeFile(config, JSON.stringify({ api_secret: emulator.project.apiSecret, start_date: '2099-01-01T00:00:00Z' }));
    emulator.log.clear();
    const result = await runCli(['singer', '--config', config], { MIXPANEL_BASE_URL: emulator.url });
    expect(emulator.log.entries).toEqual([]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('config.json: "start_date" is in the future (2099-01-01T00:00:00Z');
    expect(result.stdout).toBe('');
  });
});
