/** A check is a plain async function that throws on failure; the suite only registers and runs them. */
import { ConnectorError } from '../../errors.js';
import type { RunContext, TableContext } from '../context.js';
import { fail } from '../failures.js';
import type { ReadSequence } from '../reads.js';

export interface SourceCheck {
  readonly id: string;
  readonly scope: 'source';
  run(ctx: RunContext): Promise<void>;
}

export interface TableCheck {
  readonly id: string;
  readonly scope: 'table';
  /** The check calls `addData`: it runs after every check that reads the unchanged data. */
  readonly mutatesData?: boolean;
  run(ctx: TableContext): Promise<void>;
}

export type Check = SourceCheck | TableCheck;

/** A record-level check on a read without records proves nothing: fail instead of passing vacuously. */
export function requireRecords(table: string, sequence: ReadSequence, what: string): void {
  if (sequence.rows.length === 0) {
    fail(`${table}: cannot check ${what}: the full read yielded no records. Seed data for this table (an empty read proves nothing) or skip this check with a reason`);
  }
}

const NO_ERROR = Symbol('no error');

/** Call `fn` and return what it threw or rejected with, or NO_ERROR. */
export async function thrownBy(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return NO_ERROR;
  } catch (error) {
    return error;
  }
}

/** Why `error` is not the typed, non-retryable error a caller mistake must raise (undefined when it is). */
export function typedErrorProblem(error: unknown, mention?: string): string | undefined {
  if (error === NO_ERROR) return 'did not throw';
  if (!(error instanceof ConnectorError)) {
    const name = error instanceof Error ? error.name : typeof error;
    return `threw ${name}, not a ConnectorError (throw ConfigError from connector-spec/errors.ts)`;
  }
  if (error.retryable) return `threw a retryable ${error.name}: a caller mistake must not be retried`;
  if (error.message.trim() === '') return 'threw an error with an empty message';
  if (mention !== undefined && !error.message.includes(mention)) return `threw "${error.message}", which does not name "${mention}"`;
  return undefined;
}

/**
 * Call readTable and require it to throw when CALLED (before the first iteration). Returns the problem, or
 * undefined when it threw a typed error. A returned generator is closed without being iterated.
 */
export async function readTableThrowsOnCall(call: () => AsyncGenerator<unknown, unknown, undefined>, mention?: string): Promise<string | undefined> {
  let generator: AsyncGenerator<unknown, unknown, undefined>;
  try {
    generator = call();
  } catch (error) {
    return typedErrorProblem(error, mention);
  }
  await thrownBy(() => generator.return(null));
  return 'returned a generator instead of throwing when called (validate before the first iteration)';
}
