/** Helpers shared by the emulator's own tests (not used by the emulator itself). */
import { request } from 'node:http';
import type { EmulatorProject } from './types.js';

/** A settable clock: `clock.now` is what the emulator reads. */
export function manualClock(startMs: number): { now: () => number; set(ms: number): void; advance(ms: number): void; readonly ms: number } {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
    get ms() {
      return t;
    },
  };
}

export function secretAuth(project: EmulatorProject, withColon = true): string {
  return `Basic ${Buffer.from(project.apiSecret + (withColon ? ':' : '')).toString('base64')}`;
}

export function serviceAccountAuth(project: EmulatorProject): string {
  return `Basic ${Buffer.from(`${project.serviceAccount.username}:${project.serviceAccount.secret}`).toString('base64')}`;
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Fixed test instant: 2024-06-15T12:00:00Z. */
export const TEST_NOW = Date.UTC(2024, 5, 15, 12, 0, 0);

export async function getText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url, { headers });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });
  return { status: r.status, text: await r.text(), headers: r.headers };
}


export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Bytes as received on the wire (not decompressed). */
  readonly body: Buffer;
  /** Set when the connection failed mid-body (reset, premature close). */
  readonly error: Error | undefined;
  /** Milliseconds until the response headers arrived. */
  readonly headerMs: number;
}

/** A plain node:http request that keeps the raw bytes and reports a broken body instead of throwing. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const headerMs = Date.now() - started;
      const chunks: Buffer[] = [];
      let error: Error | undefined;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        error = e;
      });
      res.on('aborted', () => {
        error ??= new Error('aborted');
      });
      res.on('close', () => {
        if (!res.complete) error ??= new Error('premature close');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error, headerMs });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
