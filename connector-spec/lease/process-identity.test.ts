/** The real process identity: /proc and ps agree on running, zombie and absent processes; the parsers. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemIdentity, parseProcStat, parsePsLine } from './process-identity.js';
import { exited, startZombie, type Zombie } from './testing/processes.js';

const linux = process.platform === 'linux';
const hasPs = spawnSync('ps', ['-o', 'stat=', '-p', String(process.pid)]).status === 0;

describe('parseProcStat', () => {
  it('counts fields from the last parenthesis, so a command name with spaces and parentheses cannot shift them', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21';
    expect(parseProcStat(`42 (node) ${rest}`)).toEqual({ state: 'S', startTicks: '987654' });
    expect(parseProcStat(`42 (a) Z 1 (b) c) ${rest}`)).toEqual({ state: 'S', startTicks: '987654' });
    expect(parseProcStat(`42 (x) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 55 20`)).toEqual({ state: 'Z', startTicks: '55' });
    expect(parseProcStat('42 (node S 1 2')).toBeUndefined();
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('parses a ps line (state, lstart) and rejects an empty one', () => {
    expect(parsePsLine('Ss   Sun Dec  6 07:55:38 2026')).toEqual({ state: 'Ss', lstart: 'Sun Dec 6 07:55:38 2026' });
    expect(parsePsLine('Z+ Mon Jan 12 01:02:03 2026\n')).toEqual({ state: 'Z+', lstart: 'Mon Jan 12 01:02:03 2026' });
    expect(parsePsLine('')).toBeUndefined();
  });
});

describe.runIf(linux)('the system identity on Linux', () => {
  let zombie: Zombie;
  beforeAll(async () => {
    zombie = await startZombie();
  });
  afterAll(async () => {
    await zombie?.reap();
  });

  it('self(): pid, /proc start time, hostname, boot id and pid namespace', async () => {
    const self = await createSystemIdentity().self();
    const stat = parseProcStat(readFileSync('/proc/self/stat', 'utf8'))!;
    expect(self).toEqual({
      pid: process.pid,
      startTime: `proc:${stat.startTicks}`,
      hostname: os.hostname(),
      bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      pidNamespace: expect.stringMatching(/^pid:\[\d+\]$/),
    });
  });

  const modes: readonly ('proc' | 'ps')[] = hasPs ? ['proc', 'ps'] : ['proc'];

  it.each(modes)('%s: a running child has a start time other than ours; once reaped it is absent', async (mode) => {
    const identity = createSystemIdentity({ mode });
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const status = await identity.inspect(child.pid!);
      expect(status.kind).toBe('running');
      expect(status.kind === 'running' && status.startTime).toMatch(mode === 'proc' ? /^proc:\d+$/ : /^ps:\w{3} \w{3} +\d+ [\d:]+ \d{4}$/);
      const self = await identity.inspect(process.pid);
      if (mode === 'proc') expect(self).not.toEqual(status); // clock ticks tell two starts apart; ps has one-second resolution
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    expect(await identity.inspect(child.pid!)).toEqual({ kind: 'absent' });
  });

  it.each(modes)('%s: a killed, unreaped process is a zombie although kill(pid, 0) still succeeds', async (mode) => {
    expect(() => process.kill(zombie.pid, 0)).not.toThrow();
    expect(await createSystemIdentity({ mode }).inspect(zombie.pid)).toEqual({ kind: 'zombie' });
  });

  it('kill mode (the last resort) cannot tell a zombie from a live process', async () => {
    expect(await createSystemIdentity({ mode: 'kill' }).inspect(zombie.pid)).toEqual({ kind: 'running' });
  });
});
