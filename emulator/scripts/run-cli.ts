/** Runs `runEmulatorCommand` with small data (used by cli.test.ts as a child process). */
import { runEmulatorCommand } from '../cli.js';

await runEmulatorCommand({ port: 0, eventsPerDay: 2000, days: 2, profiles: 20, cohorts: 2, seed: 3 });
