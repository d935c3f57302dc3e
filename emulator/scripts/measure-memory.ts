/**
 * Measure the emulator's memory while it generates and serves N events (default 1M): the emulator runs in a
 * child process, this process drains `/api/2.0/export` for one full day (gzip or plain) and samples the
 * child's RSS from /proc. Usage: `npx tsx emulator/scripts/measure-memory.ts [events] [--gzip]`, or compiled:
 * `node dist/emulator/scripts/measure-memory.js …` (the child is then memory-child.js, run without tsx).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { runtimeEntry } from '../../connector-spec/runtime-entry.js';

export interface MemoryMeasurement {
  readonly events: number;
  readonly jsonlMB: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly emulatorCpuSeconds: number;
  readonly eventsPerEmulatorCpuSecond: number;
  readonly gzip: boolean;
  readonly idleRssMB: number;
  readonly peakRssMB: number;
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? '0');
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function measureEmulatorMemory(events: number, gzip: boolean): Promise<MemoryMeasurement> {
  const entry = runtimeEntry(import.meta.url, './memory-child');
  const child = spawn(process.execPath, [...entry.execArgv, entry.file, String(events)], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const info = JSON.parse(first) as { url: string; secret: string; pid: number };
    const idle = rssMb(info.pid);
    const cpu0 = cpuSeconds(info.pid);
    let peak = idle.rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(info.pid).rss);
    }, 50);
    const started = Date.now();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${info.url}/api/2.0/export?from_date=2024-06-14&to_date=2024-06-14`, {
        headers: { authorization: `Basic ${Buffer.from(`${info.secret}:`).toString('base64')}`, 'accept-encoding': gzip ? 'gzip' : 'identity' },
      });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    const body: Readable = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
    let lines = 0;
    let bytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    }
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const end = rssMb(info.pid);
    const emulatorCpu = cpuSeconds(info.pid) - cpu0;
    return {
      events: lines,
      jsonlMB: Math.round(bytes / 1e6),
      seconds: Math.round(seconds * 10) / 10,
      eventsPerSecond: Math.round(lines / seconds),
      emulatorCpuSeconds: Math.round(emulatorCpu * 10) / 10,
      eventsPerEmulatorCpuSecond: Math.round(lines / Math.max(emulatorCpu, 0.01)),
      gzip,
      idleRssMB: Math.round(idle.rss),
      peakRssMB: Math.round(Math.max(peak, end.hwm)),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? '1000000');
  const result = await measureEmulatorMemory(events, process.argv.includes('--gzip'));
  process.stdout.write(JSON.stringify(result) + '\n');
}
