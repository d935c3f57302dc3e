/**
 * Test helpers for the proxy (tests only): a recording tap in front of the emulator (keeps every request's
 * exact bytes and headers, and the upstream's exact reply), spool inspection, and one runner pass of the
 * three proxy tables into a lakehouse folder.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from '../runner/index.js';
import { parsePipelineSpec, runPipeline, silentLogger } from '../runner/index.js';
import { createMixpanelProxySource, sortedSegments } from '../sources/mixpanel_proxy/index.js';

export interface TapEntry {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly responseStatus: number;
  readonly responseHeaders: IncomingHttpHeaders;
  readonly responseBody: Buffer;
}

export interface Tap {
  readonly url: string;
  readonly entries: TapEntry[];
  close(): Promise<void>;
}

/** A pass-through recorder: what reaches it is what the upstream (the emulator) receives. */
export async function startTap(target: string): Promise<Tap> {
  const entries: TapEntry[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers };
      delete headers['host'];
      const out = http.request(new URL(req.url ?? '/', target), { method: req.method, headers }, (up) => {
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          const responseBody = Buffer.concat(parts);
          entries.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, responseStatus: up.statusCode ?? 0, responseHeaders: up.headers, responseBody });
          const copy = { ...up.headers };
          delete copy['transfer-encoding'];
          delete copy['connection'];
          copy['content-length'] = String(responseBody.length);
          res.writeHead(up.statusCode ?? 502, copy);
          res.end(responseBody);
        });
      });
      out.on('error', () => {
        res.writeHead(599);
        res.end();
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    entries,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Every spool line, parsed (oldest segment first). */
export async function spoolLines(dir: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const name of sortedSegments(await fs.readdir(dir))) {
    const text = await fs.readFile(path.join(dir, name), 'utf8');
    for (const line of text.split('\n')) if (line !== '') out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** The spec README's proxy section uses (`proxy_spec.json` at the repository root): the tests run the shipped file. */
export const PROXY_SPEC_FILE = fileURLToPath(new URL('../proxy_spec.json', import.meta.url));
export const PROXY_SPEC = readFileSync(PROXY_SPEC_FILE, 'utf8');

/** One runner pass of the three proxy tables (the same runner `mixpanel-lakeflow run --source mixpanel_proxy` uses). */
export async function runProxyTables(spoolDir: string, lakehouseDir: string, stateDir: string): Promise<RunReport> {
  const report = await runPipeline({
    spec: parsePipelineSpec(PROXY_SPEC, 'proxy_spec.json'),
    source: createMixpanelProxySource({ spoolDir }),
    lakehouse: lakehouseDir,
    stateDir,
    env: {},
    logger: silentLogger,
  });
  if (report.status === 'failed') throw new Error(`runner pass failed: ${JSON.stringify(report)}`);
  return report;
}
