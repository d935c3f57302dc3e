/**
 * Run the proxy as its own process (crash tests and the latency bench spawn this):
 *   node --import tsx proxy/child.ts '<ProxyCommandOptions as JSON>'
 * Prints `LISTENING <url>` on stdout once it serves.
 */
import { silentLogger } from '../connector-spec/index.js';
import { runProxyCommand, type ProxyCommandOptions } from './index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ProxyCommandOptions;
await runProxyCommand({
  ...options,
  logger: silentLogger,
  onListening: (proxy) => process.stdout.write(`LISTENING ${proxy.url}\n`),
});
