/**
 * Test hooks at the named steps of a run. Production runs pass through (`check` is a no-op) unless
 * `LAKEFLOW_TEST_CRASH_AT=<point>:<n>` is set: then the n-th time `<point>` is reached the process
 * SIGKILLs itself, which is how the crash matrix stops a run at an exact step.
 * Tests may also inject an error (for example ENOSPC) at a point through `FaultInjector`.
 */
export type FaultPoint =
  | 'fetch' // a batch was received from the source
  | 'parquet-write' // bytes of a staged Parquet file were written (file still under its temp name)
  | 'staged' // a staged file was renamed to its staged name
  | 'committed' // the commit record exists, nothing published yet
  | 'publish' // one staged file was moved into the table dir
  | 'published' // everything published, state file not yet written
  | 'state' // state file written, staging not yet cleaned
  | 'recovered'; // recovery rolled a version forward

export const FAULT_POINTS: readonly FaultPoint[] = ['fetch', 'parquet-write', 'staged', 'committed', 'publish', 'published', 'state', 'recovered'];

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
