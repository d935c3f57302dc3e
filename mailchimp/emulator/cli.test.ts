/**
 * `mixpanel-lakeflow mailchimp emulator` as a real child process: it prints its URL, API key and audience id, the
 * official `@mailchimp/mailchimp_marketing` client works against it with exactly those, and SIGTERM stops it
 * (exit 0). A port in use is a configuration error (exit 2) naming --port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mailchimp from '@mailchimp/mailchimp_marketing';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../bin/mixpanel-lakeflow.js', import.meta.url));

function start(args: readonly string[]): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, 'mailchimp', 'emulator', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', MIXPANEL_LAKEFLOW_FROM_SOURCE: '1' },
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => err };
}

describe('mixpanel-lakeflow mailchimp emulator', () => {
  it('prints URL, API key and audience id; the official client works with them; SIGTERM stops it', async () => {
    expect.hasAssertions();
    const { child, exited, stderr } = start(['--port', '0', '--list', 'aud42']);
    const out: string[] = [];
    for await (const line of createInterface({ input: child.stdout! })) {
      out.push(line);
      if (line.startsWith('Press Ctrl+C')) break;
    }
    const text = out.join('\n');
    const url = /^Mailchimp emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(text)?.[1];
    const apiKey = /^ {2}API key (\S+)$/m.exec(text)?.[1];
    expect(url, `${text}\n${stderr()}`).toBeDefined();
    expect(apiKey).toBeDefined();
    expect(out).toContain('  audience (list) id aud42: empty, in memory (gone when this stops)');
    expect(out).toContain(`  export MAILCHIMP_BASE_URL=${url}`);
    expect(out).toContain(`  export MAILCHIMP_API_KEY=${apiKey}`);
    expect(out).toContain('  mixpanel-lakeflow mailchimp-sync --list aud42 --dry-run');

    mailchimp.setConfig({ apiKey: apiKey!, server: 'us1' });
    mailchimp.basePath = `${url}/3.0`;
    expect(await mailchimp.ping.get()).toEqual({ health_status: "Everything's Chimpy!" });
    const added = (await mailchimp.lists.batchListMembers('aud42', { members: [{ email_address: 'a@x.io', status: 'pending', merge_fields: { FNAME: 'Ann' } }] })) as { total_created: number };
    expect(added.total_created).toBe(1);
    const members = (await mailchimp.lists.getListMembersInfo('aud42', { count: 10 })) as { members: { email_address: string; status: string }[]; total_items: number };
    expect(members.total_items).toBe(1);
    expect(members.members.map((m) => [m.email_address, m.status])).toEqual([['a@x.io', 'pending']]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('a port in use exits 2 naming --port', async () => {
    expect.hasAssertions();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as AddressInfo).port;
      const { exited, stderr } = start(['--port', String(port)]);
      expect(await exited).toBe(2);
      expect(stderr()).toBe(`error [MAILCHIMP_EMULATOR_PORT_IN_USE]: --port ${port}: the port is in use; pick another (or --port 0 for any free port)\n`);
    } finally {
      blocker.close();
    }
  });
});
