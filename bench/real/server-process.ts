/**
 * Starts the export server (bench/export-server/server.ts) as a child process and collects its request log, so a
 * bench run counts the API calls of the server it measured against. The child is the same kind as this module:
 * compiled JavaScript from dist/, or the TypeScript source through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { runtimeEntry } from '../../connector-spec/index.js';

const SERVER = runtimeEntry(import.meta.url, '../export-server/server');

export interface ServedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  readonly params: Readonly<Record<string, string>>;
}

export interface ExportServerOptions {
  /** The folder of `YYYY-MM-DD…jsonl` files to serve. */
  readonly dataDir: string;
  /** Files whose name matches are not served (`SKIP_COPIES`: the same data without the re-sent copies). */
  readonly skip?: string;
  /** Pace the body at this many bytes/s (default: as fast as the socket drains). */
  readonly rateBytesPerSecond?: number;
  readonly seed?: number;
  /** Lines the server writes on stderr (its preparation progress). */
  readonly onStderr?: (text: string) => void;
}

export interface ExportServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Requests answered since the last `resetLog()`. */
  readonly log: readonly ServedRequest[];
  resetLog(): void;
  close(): Promise<void>;
}

export async function startExportServer(options: ExportServerOptions): Promise<ExportServerProcess> {
  const args = [...SERVER.execArgv, SERVER.file, '--data', options.dataDir, '--seed', String(options.seed ?? 1)];
  if (options.skip !== undefined) args.push(`--skip=${options.skip}`);
  if (options.rateBytesPerSecond !== undefined && options.rateBytesPerSecond > 0) args.push('--rate', String(options.rateBytesPerSecond));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let log: ServedRequest[] = [];
  let stderrTail = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-4000);
    options.onStderr?.(text);
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`export server exited with ${code} before listening; stderr:\n${stderrTail}`));
    child.once('exit', onExit);
    child.once('error', reject);
    lines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) {
        child.off('exit', onExit);
        resolve(Number(line.slice('LISTENING '.length)));
      } else if (line.startsWith('REQUEST ')) {
        log.push(JSON.parse(line.slice('REQUEST '.length)) as ServedRequest);
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    get log() {
      return log;
    },
    resetLog() {
      log = [];
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin!.end(); // the server exits when its stdin closes
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
