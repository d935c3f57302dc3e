/**
 * Loopback object-store servers for tests, on 127.0.0.1 port 0:
 * - s3rver (an S3 API over a temp folder; it ignores `If-None-Match`, so put-if-absent is best-effort there),
 *   behind a small loopback proxy that logs requests and, with `enforceIfNoneMatch`, refuses a conditional PUT of
 *   an existing key with 412 as AWS does (conditional PUTs are serialised, so the refusal is exact);
 * - Azurite's Blob service (in memory, strict mode, API-version check skipped; it enforces `If-None-Match: *`).
 * Each counts the bytes its server has read from clients, so tests can bound what an upload holds in memory.
 * Test-only: production code never imports this folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string>>;

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A bucket created at start. */
  readonly bucket: string;
  /** AWS_ENDPOINT_URL, AWS_REGION and s3rver's fixed access key (S3RVER / S3RVER). */
  readonly env: Env;
  /** Request bytes (headers and bodies) the server has read so far. */
  bytesReceived(): number;
  /** Every request seen: method, path and query string (no headers, so no signatures). */
  readonly requests: readonly { readonly method: string; readonly url: string }[];
  close(): Promise<void>;
}

export interface AzuriteHandle {
  /** A connection string for Azurite's well-known development account (devstoreaccount1). */
  readonly connectionString: string;
  /** A container created at start. */
  readonly container: string;
  /** AZURE_STORAGE_CONNECTION_STRING. */
  readonly env: Env;
  readonly account: string;
  /** The public development key every Azurite install ships (not a secret). */
  readonly accountKey: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1`, for AZURE_STORAGE_ENDPOINT. */
  readonly blobEndpoint: string;
  bytesReceived(): number;
  /** Every request seen: method and URL (a SAS in the query included: test data only). */
  readonly requests: readonly { readonly method: string; readonly url: string }[];
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * s3rver runs in a child process with OpenSSL's legacy provider: its ListObjectsV2 continuation tokens use DES,
 * which Node 17+ refuses otherwise (every truncated listing would fail with HTTP 500). The child exits when its
 * stdin closes, so it never outlives the test process.
 */
const S3RVER_CHILD = `
const [, s3rverPath, directory, bucket] = process.argv;
const S3rver = require(s3rverPath);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
server.run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'), (error) => { console.error(error); process.exit(1); });
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

async function startS3rverChild(directory: string, bucket: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_CHILD, require.resolve('s3rver'), directory, bucket], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((started, failed) => {
    let text = '';
    child.once('exit', (code) => failed(new Error(`s3rver exited with code ${code} before it listened`)));
    child.stdout?.on('data', (data: Buffer) => {
      text += data.toString('utf8');
      const line = text.split('\n')[0];
      if (text.includes('\n') && line !== undefined) started((JSON.parse(line) as { port: number }).port);
    });
  });
  return { port, child };
}

export async function startS3rver(options: { readonly bucket?: string; readonly enforceIfNoneMatch?: boolean } = {}): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'lakehouse-test';
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const { port: upstreamPort, child } = await startS3rverChild(directory, bucket);
  const requests: { method: string; url: string }[] = [];
  let conditional: Promise<void> = Promise.resolve();
  const proxy = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '' });
    const isConditionalPut = options.enforceIfNoneMatch === true && req.method === 'PUT' && req.headers['if-none-match'] === '*' && !/[?&](uploadId|partNumber)=/.test(req.url ?? '');
    if (!isConditionalPut) {
      forward(req, res, upstreamPort);
      return;
    }
    // One conditional PUT at a time: check, then write, then let the next one check.
    const turn = conditional.then(async () => {
      const exists = await upstreamExists(upstreamPort, (req.url ?? '/').split('?')[0] as string);
      if (exists) {
        req.resume();
        res.writeHead(412, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>');
        return;
      }
      await new Promise<void>((done) => {
        res.once('close', done);
        forward(req, res, upstreamPort);
      });
    });
    conditional = turn.catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((listening) => proxy.listen(0, '127.0.0.1', listening));
  const counter = countBytes(proxy);
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    endpoint,
    bucket,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    bytesReceived: counter,
    requests,
    async close() {
      proxy.closeAllConnections();
      await new Promise<void>((closed) => proxy.close(() => closed()));
      if (child.exitCode === null) {
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        child.stdin?.end();
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Pass a request to s3rver unchanged (the Host header too, so its SigV4 signature still checks). */
function forward(req: IncomingMessage, res: ServerResponse, port: number): void {
  const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
    res.writeHead(reply.statusCode ?? 502, reply.headers);
    reply.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

function upstreamExists(port: number, path: string): Promise<boolean> {
  return new Promise((answer, fail) => {
    const head = httpRequest({ host: '127.0.0.1', port, method: 'HEAD', path }, (reply) => {
      reply.resume();
      answer(reply.statusCode === 200);
    });
    head.on('error', fail);
    head.end();
  });
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
  readonly httpServer: Server;
}

/** Azurite's published development account and key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function startAzurite(options: { readonly container?: string } = {}): Promise<AzuriteHandle> {
  const container = options.container ?? 'lakehouse-test';
  // Azurite's own entry points start telemetry and parse process.argv; the Blob server classes do neither.
  const BlobServer = (require('azurite/dist/src/blob/BlobServer.js') as { default: new (config: unknown) => AzuriteServer }).default;
  const BlobConfiguration = (require('azurite/dist/src/blob/BlobConfiguration.js') as { default: new (...args: unknown[]) => unknown }).default;
  const { MemoryExtentChunkStore } = require('azurite/dist/src/common/persistence/MemoryExtentStore.js') as {
    MemoryExtentChunkStore: new (sizeLimit: number) => unknown;
  };
  const config = new BlobConfiguration(
    '127.0.0.1', // host
    0, // port
    undefined, // keep-alive timeout (default)
    'azurite-blob-metadata', // metadata DB name (in memory)
    'azurite-blob-extents', // extent DB name (in memory)
    [], // persistence folders (none: in memory)
    false, // access log
    undefined, // access log stream
    false, // debug log
    undefined, // debug log file
    false, // loose mode off: unsupported headers are refused
    true, // skip the API version check (the SDK may be newer than this Azurite)
    '', // cert
    '', // key
    '', // pfx password
    undefined, // oauth
    false, // product-style URLs allowed
    true, // in-memory persistence
    new MemoryExtentChunkStore(1024 * 1024 * 1024), // this server's own extent memory (1 GiB cap)
  );
  const server = new BlobServer(config);
  await server.start();
  const counter = countBytes(server.httpServer);
  const requests: { method: string; url: string }[] = [];
  server.httpServer.on('request', (req: IncomingMessage) => requests.push({ method: req.method ?? '', url: req.url ?? '' }));
  const port = new URL(server.getHttpServerAddress()).port;
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`;
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container).createIfNotExists();
  return {
    connectionString,
    container,
    env: { AZURE_STORAGE_CONNECTION_STRING: connectionString },
    account: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    blobEndpoint,
    bytesReceived: counter,
    requests,
    close: () => server.close(),
  };
}

/** Sum of `bytesRead` over every connection the server accepted (closed ones included). */
function countBytes(server: Server): () => number {
  const open = new Set<Socket>();
  let closed = 0;
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      closed += socket.bytesRead;
      open.delete(socket);
    });
  });
  return () => {
    let total = closed;
    for (const socket of open) total += socket.bytesRead;
    return total;
  };
}
