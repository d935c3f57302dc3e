/**
 * `mailchimp-sync` in its own process, for the crash test (started with tsx):
 *
 *   sync-child.ts <lakehouse> <list> <mailchimp url> <api key> <kill at commit n>
 *
 * Runs the sync and, at its n-th commit — after that commit's data file is written, before the Delta commit —
 * prints `{"killing":<table>,"commit":n}` and SIGKILLs itself. Exits with the sync's code if it never gets there.
 */
import { writeSync } from 'node:fs';
import { runMailchimpSync } from '../index.js';

const [lakehouse, list, url, apiKey, killAtText] = process.argv.slice(2);
if (!lakehouse || !list || !url || !apiKey || !killAtText) throw new Error('usage: sync-child.ts <lakehouse> <list> <mailchimp url> <api key> <kill at commit n>');
const killAt = Number(killAtText);
let commits = 0;
process.exitCode = await runMailchimpSync({
  lakehouse,
  list,
  env: { MAILCHIMP_API_KEY: apiKey, MAILCHIMP_BASE_URL: url },
  stdout: process.stdout,
  stderr: process.stderr,
  retry: { attempts: 2, baseMs: 1, capMs: 1 },
  beforeCommit: (table) => {
    if (++commits !== killAt) return;
    writeSync(1, `${JSON.stringify({ killing: table, commit: commits })}\n`);
    process.kill(process.pid, 'SIGKILL');
  },
});
