import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('runEmulatorCommand', () => {
  it('prints the URL, the credentials and the project token, serves, warns about records with a wrong token, and stops on SIGTERM', async () => {
    expect.hasAssertions();
    const script = fileURLToPath(new URL('./scripts/run-cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const errLines = createInterface({ input: child.stderr });
    const stderr: string[] = [];
    const warned = new Promise<string>((resolve) => {
      errLines.on('line', (line) => {
        stderr.push(line);
        if (line.startsWith('warning:')) resolve(line);
      });
    });
    const out: string[] = [];
    const rl = createInterface({ input: child.stdout });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for await (const line of rl) {
      out.push(line);
      if (line.startsWith('Press Ctrl+C')) break;
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out.join('\n'))?.[1];
    expect(url).toBeDefined();
    expect(out).toContain(`  export MIXPANEL_BASE_URL=${url}`);
    expect(out).toContain('  export MIXPANEL_API_SECRET=emulator-api-secret');
    expect(out).toContain('  export MIXPANEL_USERNAME=emulator.000000.mp-service-account');
    expect(out).toContain('  export MIXPANEL_SECRET=emulator-sa-secret');
    expect(out).toContain('  export MIXPANEL_PROJECT_ID=1000');
    expect(out).toContain('  token emulator-token');
    expect(out).toContain(`  e.g. mixpanel.init("emulator-token", { api_host: "${url}" })`);
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const r = await fetch(`${url}/api/2.0/export?from_date=${yesterday}&to_date=${today}&limit=3`, { headers: { authorization: `Basic ${Buffer.from('emulator-api-secret:').toString('base64')}` } });
    expect(r.status).toBe(200);
    expect((await r.text()).split('\n').filter((l) => l !== '')).toHaveLength(3);
    const cohorts = (await (await fetch(`${url}/api/query/cohorts/list`, { headers: { authorization: `Basic ${Buffer.from('emulator-api-secret:').toString('base64')}` } })).json()) as unknown[];
    expect(cohorts).toHaveLength(2);
    // A wrong token: answered 1 (as Mixpanel does), dropped, and the command says so on stderr.
    const track = await fetch(`${url}/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ event: 'E', properties: { token: 'my-real-token', distinct_id: 'u', time: Math.floor(Date.now() / 1000) } }, { event: 'F', properties: { token: 'my-real-token', distinct_id: 'u' } }]) });
    expect(await track.text()).toBe('1');
    expect(await warned).toBe('warning: /track got 2 records with a token this emulator does not know (or of a project in another region); answered 1 and dropped them, as Mixpanel does. Use the token emulator-token');
    expect(stderr.join('\n')).not.toContain('my-real-token');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
