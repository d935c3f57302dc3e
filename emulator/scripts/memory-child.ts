/** Child of measure-memory.ts: serves N generated events for one day and prints its URL and pid. */
import { NO_RATE_LIMITS, startEmulator } from '../index.js';

const events = Number(process.argv[2] ?? '1000000');
const now = Date.UTC(2024, 5, 15, 12, 0, 0);
const em = await startEmulator({ now: () => now, eventsPerDay: events, days: 2, limits: NO_RATE_LIMITS });
process.stdout.write(JSON.stringify({ url: em.url, secret: em.project.apiSecret, pid: process.pid }) + '\n');
process.on('SIGTERM', () => {
  void em.close().then(() => process.exit(0));
});
// If the parent dies without a SIGTERM (e.g. a test runner timeout), its end of stdin closes: do not linger.
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
