/** Prints the export lines of a fresh emulator (used by generator.test.ts to compare two processes). */
import { NO_RATE_LIMITS, startEmulator } from '../index.js';

const [seed, nowText, from, to] = process.argv.slice(2);
const now = Number(nowText);
// Started at a different clock than the test's emulator; the data clock is then set to `now`.
let clock = now + 3 * 3_600_000;
const em = await startEmulator({ now: () => clock, seed: Number(seed), eventsPerDay: 3000, days: 2, limits: NO_RATE_LIMITS });
clock = now;
for (const line of em.data.exportLines({ fromDate: from ?? '', toDate: to ?? '' })) process.stdout.write(line + '\n');
await em.close();
