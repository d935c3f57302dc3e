/** A Logger that keeps every line as text, so the secret check can scan what a source logged. */
import type { Logger, LogLevel } from '../types.js';

export interface LogLine {
  readonly level: LogLevel;
  readonly text: string;
}

/** JSON text of anything: bigint as string, errors with message/stack/cause, cycles cut. */
export function safeText(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return `${v}n`;
        if (v instanceof Error) return { ...v, name: v.name, message: v.message, stack: v.stack, cause: v.cause };
        if (typeof v === 'function') return `[function ${v.name}]`;
        if (v !== null && typeof v === 'object') {
          if (seen.has(v)) return '[cycle]';
          seen.add(v);
        }
        return v;
      }) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];

  #push(level: LogLevel, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level, text: fields === undefined ? String(msg) : `${String(msg)} ${safeText(fields)}` });
  }

  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.#push('debug', msg, fields);
  }
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.#push('info', msg, fields);
  }
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.#push('warn', msg, fields);
  }
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.#push('error', msg, fields);
  }
}
