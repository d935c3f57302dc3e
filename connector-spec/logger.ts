/**
 * Logs: JSON lines through pino (non-TTY, machines) or short human lines (`pretty`), both redacting any
 * field whose key looks like a secret (secret, password, authorization, token, api key), at any depth.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ConfigError } from './errors.js';
import type { LogLevel, Logger } from './types.js';

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly format?: LogFormat;
  /** debug | info | warn | error (a string so CLI flags pass straight through; others are rejected). */
  readonly level?: LogLevel | string;
  readonly stream?: NodeJS.WritableStream;
}

const SECRET_KEY = /secret|password|passwd|authori[sz]ation|token|api[_-]?key|credential|cookie/i;
export const REDACTED = '[REDACTED]';

/** Deep copy of `value` with every secret-looking key's value replaced. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

const PINO_REDACT_PATHS = ['secret', 'password', 'authorization', 'token', 'apiSecret', 'api_secret', '*.secret', '*.password', '*.authorization', '*.token', '*.apiSecret', '*.api_secret', 'headers.authorization'];

function prettyStream(target: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          const { level, time, msg, pid: _pid, hostname: _host, ...rest } = entry;
          const stamp = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 19);
          const fields = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          target.write(`${stamp} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${fields ? ` ${fields}` : ''}\n`);
        } catch {
          target.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'json';
  const level = options.level ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new ConfigError(`log level ${level} is not one of ${LEVELS.join(', ')}; pass --log-level info`, { code: 'RUNNER_BAD_LOG_LEVEL' });
  }
  const target = options.stream ?? process.stderr;
  const destination = format === 'pretty' ? prettyStream(target) : target;
  const base = pino(
    {
      level,
      base: undefined,
      redact: { paths: PINO_REDACT_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: format === 'pretty' ? pino.stdTimeFunctions.epochTime : pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  const emit = (level: LogLevel) => (msg: string, fields?: Readonly<Record<string, unknown>>) => {
    if (fields === undefined) base[level](msg);
    else base[level](redact(fields) as Record<string, unknown>, msg);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
