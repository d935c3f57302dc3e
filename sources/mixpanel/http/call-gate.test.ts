/**
 * CallGate: a free slot starts the job inside `run()` (before the caller's next line), the concurrency cap and
 * arrival order hold, starts keep `minTime` apart, and a job that rejects or throws gives its slot back.
 */
import { describe, expect, it } from 'vitest';
import { CallGate } from './call-gate.js';

interface Deferred {
  readonly promise: Promise<string>;
  resolve(value: string): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: (value: string) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CallGate', () => {
  it('starts a job synchronously when a slot is free and nothing waits', async () => {
    const gate = new CallGate({ maxConcurrent: 2, minTime: 0 });
    const started: string[] = [];
    const result = gate.run(async () => {
      started.push('job');
      return 'done';
    });
    started.push('after run()');
    expect(started).toEqual(['job', 'after run()']);
    expect(await result).toBe('done');
  });

  it('holds jobs beyond maxConcurrent and starts them in arrival order as slots free', async () => {
    const gate = new CallGate({ maxConcurrent: 2, minTime: 0 });
    const jobs = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = jobs.map((d, i) =>
      gate.run(() => {
        started.push(i);
        return d.promise;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect(gate.running).toBe(2);
    expect(gate.queued).toBe(2);
    jobs[1]!.resolve('b');
    await tick();
    expect(started).toEqual([0, 1, 2]);
    expect(gate.running).toBe(2);
    jobs[0]!.resolve('a');
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    jobs[2]!.resolve('c');
    jobs[3]!.resolve('d');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(gate.running).toBe(0);
  });

  it('a later job waits behind a queued one even when a slot is free (no overtaking)', async () => {
    const gate = new CallGate({ maxConcurrent: 1, minTime: 40 });
    const order: string[] = [];
    const first = gate.run(async () => void order.push('first'));
    const second = gate.run(async () => void order.push('second'));
    const third = gate.run(async () => void order.push('third'));
    expect(order).toEqual(['first']);
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('keeps minTime between starts', async () => {
    const gate = new CallGate({ maxConcurrent: 10, minTime: 30 });
    const stamps: number[] = [];
    await Promise.all(Array.from({ length: 4 }, () => gate.run(async () => void stamps.push(performance.now()))));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(29);
  });

  it('a job that rejects or throws synchronously gives its slot back and its caller the error', async () => {
    const gate = new CallGate({ maxConcurrent: 1, minTime: 0 });
    await expect(gate.run(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    await expect(
      gate.run(() => {
        throw new Error('thrown');
      }),
    ).rejects.toThrow('thrown');
    expect(gate.running).toBe(0);
    expect(await gate.run(async () => 'next')).toBe('next');
  });

  it('refuses settings that would stall every call', () => {
    expect(() => new CallGate({ maxConcurrent: 0, minTime: 0 })).toThrow(/maxConcurrent/);
    expect(() => new CallGate({ maxConcurrent: 1, minTime: Number.NaN })).toThrow(/minTime/);
  });
});
