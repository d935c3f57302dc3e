/**
 * Test hooks at the named steps of a run. Production runs pass through (`check` is a no-op) unless
 * `LAKEFLOW_TEST_CRASH_AT=<point>:<n>` is set: then the n-th time `<point>` is reached the process
 * SIGKILLs itself, which is how the crash matrix stops a run at an exact step.
 * Tests may also inject an error (for example ENOSPC) at a point through `FaultInjector`.
 */
export type FaultPoint =
  | 'fetch' // a batch was received from the source
  | 'staged' // the call ended: its rows are staged (cdc) or in uncommitted data files (append, snapshot)
  | 'written' // the call's merged data files are written, not yet committed
  | 'committed' // the Delta commit (data + cursor) is in the log
  | 'convert-written' // an earlier release's table: its rows are rewritten as Delta data files, not yet committed
  | 'converted'; // its CONVERT commit is in the log; the earlier release's files, log and staging not yet deleted

export const FAULT_POINTS: readonly FaultPoint[] = ['fetch', 'staged', 'written', 'committed', 'convert-written', 'converted'];

export interface FaultInjector {
  /** Called at each point; may throw (injected error) or kill the process. */
  check(point: FaultPoint): void;
}

export const noFaults: FaultInjector = { check() {} };

/** Parse `LAKEFLOW_TEST_CRASH_AT=<point>:<n>`; returns `noFaults` when unset. */
export function faultsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): FaultInjector {
  const spec = env['LAKEFLOW_TEST_CRASH_AT'];
  if (spec === undefined || spec === '') return noFaults;
  const match = /^([a-z-]+):(\d+)$/.exec(spec);
  if (!match || !FAULT_POINTS.includes(match[1] as FaultPoint)) {
    throw new TypeError(`LAKEFLOW_TEST_CRASH_AT=${spec}: expected <point>:<n> with point one of ${FAULT_POINTS.join(', ')}`);
  }
  return crashAt(match[1] as FaultPoint, Number(match[2]), () => process.kill(process.pid, 'SIGKILL'));
}

/** An injector that runs `action` the n-th time `point` is reached. */
export function crashAt(point: FaultPoint, n: number, action: () => void): FaultInjector {
  let seen = 0;
  return {
    check(p) {
      if (p !== point) return;
      seen += 1;
      if (seen === n) action();
    },
  };
}
