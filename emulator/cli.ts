/** `mixpanel-lakeflow emulator`: serve the emulator with generated data until SIGINT/SIGTERM. */
import { startEmulator } from './index.js';
import type { Emulator, QueryBudgetCounts } from './types.js';

export interface EmulatorCommandOptions {
  readonly port?: number;
  readonly eventsPerDay?: number;
  readonly days?: number;
  readonly profiles?: number;
  readonly cohorts?: number;
  readonly seed?: number;
  /** What the hourly Query-API budget counts (default `queries`). */
  readonly queryBudgetCounts?: QueryBudgetCounts;
}

/** The lines the command prints: URL, data sizes and the environment for `mixpanel-lakeflow run`. */
export function describeEmulator(emulator: Emulator, options: EmulatorCommandOptions): string[] {
  const p = emulator.project;
  return [
    `Mixpanel emulator listening on ${emulator.url}`,
    `  project ${p.id} (region ${p.region}, timezone ${p.timezone}), seed ${options.seed ?? 1}: ` +
      `${options.eventsPerDay ?? 0} events/day over ${options.days ?? 14} days, ${options.profiles ?? 0} profiles, ${options.cohorts ?? 0} cohorts`,
    `  Query-API budget: ${emulator.limits.queryPerHour}/hour counting ${options.queryBudgetCounts ?? 'queries'}${(options.queryBudgetCounts ?? 'queries') === 'queries' ? ' (Engage pages with a session_id are free)' : ' (every Engage page counts)'}`,
    '',
    'Use it with the project secret:',
    `  export MIXPANEL_BASE_URL=${emulator.url}`,
    `  export MIXPANEL_API_SECRET=${p.apiSecret}`,
    '',
    'or with the service account:',
    `  export MIXPANEL_BASE_URL=${emulator.url}`,
    `  export MIXPANEL_USERNAME=${p.serviceAccount.username}`,
    `  export MIXPANEL_SECRET=${p.serviceAccount.secret}`,
    `  export MIXPANEL_PROJECT_ID=${p.id}`,
    '',
    'Send events and profile updates (/track, /engage, /groups; SDKs, or `mixpanel-lakeflow proxy --upstream`) with the project token:',
    `  token ${p.token}`,
    `  e.g. mixpanel.init("${p.token}", { api_host: "${emulator.url}" })`,
    '  A record with another token is answered 1 and dropped, as Mixpanel does; this command warns on stderr when that happens.',
    '',
    'Press Ctrl+C to stop.',
  ];
}

/**
 * Warnings for records the emulator answered `1` but dropped because their token is not this emulator's (or
 * belongs to a project of another region): Mixpanel does the same, silently; here the operator is told.
 * Reads the request log from `afterSeq` on; returns the lines and the last sequence number read.
 */
export function droppedTokenWarnings(emulator: Emulator, afterSeq: number): { lines: string[]; lastSeq: number } {
  const byRoute = new Map<string, number>();
  let lastSeq = afterSeq;
  for (const entry of emulator.log.entries) {
    if (entry.seq <= afterSeq) continue;
    lastSeq = Math.max(lastSeq, entry.seq);
    const n = entry.droppedForToken ?? 0;
    if (n > 0) byRoute.set(entry.path, (byRoute.get(entry.path) ?? 0) + n);
  }
  const lines = [...byRoute].map(
    ([path, n]) =>
      `warning: ${path} got ${n} record${n === 1 ? '' : 's'} with a token this emulator does not know (or of a project in another region); ` +
      `answered 1 and dropped ${n === 1 ? 'it' : 'them'}, as Mixpanel does. Use the token ${emulator.project.token}`,
  );
  return { lines, lastSeq };
}

export async function runEmulatorCommand(options: EmulatorCommandOptions): Promise<void> {
  const emulator = await startEmulator({
    port: options.port ?? 0,
    eventsPerDay: options.eventsPerDay ?? 0,
    days: options.days ?? 14,
    profiles: options.profiles ?? 0,
    cohorts: options.cohorts ?? 0,
    seed: options.seed ?? 1,
    queryBudgetCounts: options.queryBudgetCounts ?? 'queries',
  });
  process.stdout.write(describeEmulator(emulator, options).join('\n') + '\n');
  let seen = 0;
  const watch = setInterval(() => {
    const { lines, lastSeq } = droppedTokenWarnings(emulator, seen);
    seen = lastSeq;
    for (const line of lines) process.stderr.write(`${line}\n`);
  }, 1000);
  watch.unref();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(watch);
  await emulator.close();
  process.stdout.write('Mixpanel emulator stopped.\n');
}
