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
    'Press Ctrl+C to stop.',
  ];
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
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
  process.stdout.write('Mixpanel emulator stopped.\n');
}
