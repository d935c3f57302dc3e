/**
 * Quick throughput check of the events hot path (not a test): N generated export lines → LineSplitter →
 * EventBatchBuilder → Arrow batches. Run: `node --import tsx sources/mixpanel/testing/bench-parse.ts [N] [legacy]`.
 */
import { EventBatchBuilder, BATCH_ROWS } from '../events/builder.js';
import { LegacyClock } from '../events/legacy-time.js';
import { LineSplitter } from '../events/lines.js';

const n = Number(process.argv[2] ?? 100_000);
const legacy = process.argv[3] === 'legacy';
const browsers = ['Chrome', 'Safari', 'Firefox', 'Edge'];
const cities = ['Berlin', 'São Paulo', 'Zürich', 'Tokyo', 'New York'];
const lines: string[] = [];
const t0 = Date.parse('2024-06-01T00:00:00Z');
for (let i = 0; i < n; i++) {
  const time = t0 + i * 997;
  lines.push(
    JSON.stringify({
      event: i % 5 === 0 ? 'Purchase' : 'Page View',
      properties: {
        time,
        distinct_id: `user-${i % 5000}`,
        $insert_id: `ins${i.toString(36)}x${(i * 7919).toString(36)}`,
        mp_processing_time_ms: time + 1500,
        $browser: browsers[i % 4],
        $browser_version: 120 + (i % 5),
        $city: cities[i % 5],
        $os: 'Mac OS X',
        $device_id: `dev-${i % 7000}`,
        $current_url: `https://example.com/p/${i % 100}`,
        mp_country_code: 'DE',
        $screen_width: 1920,
        $screen_height: 1080,
        mp_lib: 'web',
        $lib_version: '2.55.0',
        plan: i % 3 === 0 ? 'pro' : 'free',
        amount: (i % 1000) / 10,
        items: [i % 3, 'sku-' + (i % 50)],
        flags: { beta: i % 2 === 0 },
      },
    }),
  );
}
const body = Buffer.from(lines.join('\n') + '\n', 'utf8');
const chunk = 64 * 1024;
for (let round = 0; round < 3; round++) {
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const builder = new EventBatchBuilder(legacy ? new LegacyClock('US/Pacific') : null, 'bench');
  const splitter = new LineSplitter(builder);
  let rows = 0;
  for (let off = 0; off < body.length; off += chunk) {
    splitter.push(body.subarray(off, off + chunk));
    if (builder.rows >= BATCH_ROWS) rows += builder.flush().numRows;
  }
  splitter.finish('bench');
  if (builder.rows > 0) rows += builder.flush().numRows;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `${rows} events: wall ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} events/s; CPU ${cpuSeconds.toFixed(2)} s = ${Math.round(rows / cpuSeconds)} events/CPU-s (${(body.length / 1e6 / cpuSeconds).toFixed(1)} MB/CPU-s)`,
  );
}
