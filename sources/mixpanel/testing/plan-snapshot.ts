/** Child-process helper of dates.test.ts: prints plans for fixed instants, so the test can compare host zones. */
import { parseEventsOptions } from '../events/options.js';
import { planRun } from '../events/plan.js';
import { eventsCursor } from '../events/cursor.js';

const instants = ['2024-05-20T23:59:59Z', '2024-05-20T10:00:00Z', '2024-05-21T00:00:00Z'].map((s) => Date.parse(s));
const plans = instants.flatMap((runStartMs) => [
  planRun({ cursor: null, runStartMs, options: parseEventsOptions({ safety_lag: '0' }), zone: 'UTC', historicalDays: 3 }),
  planRun({ cursor: eventsCursor('2024-05-01', runStartMs - 86_400_000, '2024-05-19', null), runStartMs, options: parseEventsOptions({}), zone: 'UTC', historicalDays: 3 }),
  planRun({ cursor: null, runStartMs, options: parseEventsOptions({ safety_lag: '0' }), zone: 'US/Pacific', historicalDays: 3 }),
]);
process.stdout.write(JSON.stringify({ hostOffsetMinutes: new Date(Date.UTC(2024, 4, 20)).getTimezoneOffset(), plans }));
