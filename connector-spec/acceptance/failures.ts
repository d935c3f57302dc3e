/** The two ways a check ends without passing: it fails (a contract violation) or it does not apply. */

/** A contract violation found by a check. The message says what is wrong and how to fix it. */
export class AcceptanceFailure extends Error {
  override get name(): string {
    return 'AcceptanceFailure';
  }
}

/** Thrown by a check that does not apply to this table (for example resume checks on a snapshot table). */
export class NotApplicable extends Error {
  override get name(): string {
    return 'NotApplicable';
  }
}

export function fail(message: string): never {
  throw new AcceptanceFailure(message);
}

export function notApplicable(reason: string): never {
  throw new NotApplicable(reason);
}

/** Show at most `limit` items of a list in a message. */
export function preview(items: readonly string[], limit = 5): string {
  const shown = items.slice(0, limit).join(', ');
  return items.length > limit ? `${shown}, … (${items.length} in all)` : shown;
}
