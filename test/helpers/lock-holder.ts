/**
 * A process that takes a lock and holds it until told (tests only):
 *   node --import tsx test/helpers/lock-holder.ts '{"kind":"runner","dir":"<state>","waitMs":0}'
 * kind `runner`: the runner's state-folder lock (runner/lock.ts); kind `spool`: the proxy's spool writer.
 * Prints `HELD <lock file JSON>` once it holds the lock, `LOG <json>` for each log line, `ERROR <json>` (exit 3)
 * when it cannot take it; on a `release` line on stdin it releases, prints `RELEASED` and exits 0.
 * `hostname` plays a run on another host: that hostname and a boot id of its own (the rest is this machine's).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { systemIdentity, type Logger, type ProcessIdentitySource } from '../../connector-spec/index.js';
import { LOCK_NAME as SPOOL_LOCK_NAME, SpoolWriter } from '../../proxy/spool.js';
import { acquireLock, lockFile } from '../../runner/lock.js';

interface HolderOptions {
  readonly kind: 'runner' | 'spool';
  readonly dir: string;
  readonly waitMs?: number;
  readonly leaseMs?: number;
  readonly hostname?: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as HolderOptions;
const print = (line: string): void => void process.stdout.write(`${line}\n`);
const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) => print(`LOG ${JSON.stringify({ level, msg, fields: fields ?? {} })}`);
const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
const identity: ProcessIdentitySource =
  options.hostname === undefined
    ? systemIdentity
    : // Another machine has another kernel: its own boot id (a pid namespace id of this kernel can be handed out again).
      { inspect: (pid) => systemIdentity.inspect(pid), self: async () => ({ ...(await systemIdentity.self()), hostname: options.hostname!, bootId: `boot-of-${options.hostname!}` }) };

let release: () => Promise<void>;
let file: string;
try {
  if (options.kind === 'runner') {
    const lock = await acquireLock(options.dir, logger, { identity, ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}), ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) });
    file = lockFile(options.dir);
    release = () => lock.release();
  } else {
    const writer = await SpoolWriter.open({ dir: options.dir, logger, identity, ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) });
    file = path.join(options.dir, SPOOL_LOCK_NAME);
    release = () => writer.close();
  }
} catch (error) {
  const e = error as { code?: unknown; message?: unknown };
  print(`ERROR ${JSON.stringify({ code: e.code, message: e.message })}`);
  process.exit(3);
}
print(`HELD ${(await readFile(file, 'utf8')).trim()}`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'release') {
    await release();
    print('RELEASED');
    process.exit(0);
  }
}
