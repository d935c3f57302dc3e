/**
 * `mixpanel-lakeflow` command line: run | repair | migrate | vacuum | emulator | demo | proxy | singer |
 * mailchimp-sync | mailchimp emulator | bench. Parses arguments with commander, wires a source from the registry to
 * the runner, and maps outcomes to the documented exit codes (runner/report.ts): 0 complete, 3 knowingly
 * incomplete, 75 deferred (retry later), 1 failure, 2 configuration, 130/143 stopped by SIGINT/SIGTERM.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, isConnectorError } from '../connector-spec/index.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../runner/index.js';
import { DEFAULT_LAKEHOUSE, DEFAULT_STATE, runCommand } from './run-command.js';

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

function budgetRule(value: string): 'queries' | 'pages' {
  if (value !== 'queries' && value !== 'pages') throw new InvalidArgumentError('expected queries or pages');
  return value;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** One line, no stack: what went wrong and how to fix it. Secrets never reach here (errors carry none). */
export function formatError(error: unknown): string {
  if (isConnectorError(error)) return `error [${error.code}]: ${error.message}`;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

export function exitCodeForError(error: unknown): number {
  return isConnectorError(error) && error.kind === 'config' ? EXIT_CONFIG : EXIT_FAILURE;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command()
    .name('mixpanel-lakeflow')
    .description('Mixpanel → lakehouse: read Mixpanel tables incrementally and write Delta Lake tables exactly once.')
    .exitOverride()
    .showHelpAfterError(false);

  const runOptions = (command: Command): Command =>
    command
      .requiredOption('--spec <file>', 'pipeline_spec.json to run')
      .option('--lakehouse <location>', 'where the Delta tables are: a folder, s3://bucket/prefix, az://container/prefix or abfss://container@account.dfs.core.windows.net/prefix', DEFAULT_LAKEHOUSE)
      .option('--state <dir>', 'a local folder for the lock, the schedule and run reports (cursors live in the tables)', DEFAULT_STATE)
      .option('--source <name>', 'source to read (see the registry in cli/sources.ts)', 'mixpanel')
      .option('--max-wait <duration>', 'no wait (rate limit, backoff, the lock) may end later than this after the start; a longer one ends the run with exit 75', '5m')
      .option('--lock-lease <seconds>', 'lease of the state folder lock; a lock from another host is taken over once it expired (default 120, or LAKEFLOW_LOCK_LEASE_SECONDS)')
      .option('--merge-encoders <n>', 'encoder workers of a big cdc merge that rewrites no file (a first load, a backfill): 1, or 2 (~60 MiB more memory)', '1')
      .option('--log-format <format>', 'json (default when not a TTY) or pretty')
      .option('--log-level <level>', 'debug, info, warn or error', 'info');
  const runIo = () => ({ env: process.env, stdout: process.stdout, stderr: process.stderr });

  runOptions(
    program
      .command('run')
      .description('Run the tables declared in a pipeline spec; credentials come from the environment.')
      .option('--tables <list>', 'only these tables (comma separated): destination tables, or source tables meaning every destination they feed', list)
      .option('--full-refresh <list>', 'drop the data and cursor of these tables (one commit) and read them from the start (comma separated)', list)
      .option('--drop-history', 'let --full-refresh drop rows older than what a read from the start brings back', false),
  ).action(async (opts: Record<string, unknown>) => {
    exitCode = await runCommand(opts, runIo());
  });

  runOptions(
    program
      .command('repair')
      .description('Tables whose live files went missing or changed in storage: remove them from the log and read what they held again.')
      .argument('<tables...>', 'tables to repair (destination or source table names)'),
  ).action(async (tables: string[], opts: Record<string, unknown>) => {
    exitCode = await runCommand({ ...opts, tables, repair: tables }, runIo());
  });

  runOptions(
    program
      .command('migrate')
      .description("Convert the tables of earlier releases (_lakeflow_log) to Delta Lake without reading Mixpanel (a run also does it on its own).")
      .option('--tables <list>', 'only these tables (comma separated)', list),
  ).action(async (opts: Record<string, unknown>) => {
    exitCode = await runCommand({ ...opts, convertOnly: true }, runIo());
  });

  program
    .command('vacuum')
    .description('Delete data files the tables no longer reference: removed longer than --retention ago (default 7 days), or orphans of failed writes older than it.')
    .argument('[tables...]', 'tables to vacuum (default: every table of this project in the lakehouse)')
    .option('--lakehouse <location>', 'a folder, s3://…, az://… or abfss://…', DEFAULT_LAKEHOUSE)
    .option('--retention <duration>', 'keep files removed less than this long ago (at least 1h)', '7d')
    .option('--dry-run', 'list what would be deleted, delete nothing', false)
    .action(async (tables: string[], opts: { lakehouse: string; retention: string; dryRun: boolean }) => {
      const { runVacuumCommand } = await import('./vacuum-command.js');
      exitCode = await runVacuumCommand({ lakehouse: opts.lakehouse, tables, retention: opts.retention, dryRun: opts.dryRun }, runIo());
    });

  program
    .command('emulator')
    .description('Serve the local Mixpanel API emulator with generated data until stopped.')
    .option('--port <n>', 'port to listen on (0 = any free port)', positiveInt, 8765)
    .option('--events <n>', 'generated events per day, not in total (the history holds events × days)', positiveInt, 7_200)
    .option('--days <n>', 'days of generated history', positiveInt, 14)
    .option('--profiles <n>', 'generated profiles', positiveInt, 5_000)
    .option('--cohorts <n>', 'generated cohorts', positiveInt, 10)
    .option('--seed <n>', 'seed of the generator', positiveInt, 1)
    .option('--query-budget-counts <rule>', 'what the 60/hour Query-API budget counts: queries (Mixpanel docs: Engage pages with a session_id are free) or pages', budgetRule, 'queries')
    .action(async (opts: { port: number; events: number; days: number; profiles: number; cohorts: number; seed: number; queryBudgetCounts: 'queries' | 'pages' }) => {
      const { runEmulatorCommand } = await import('../emulator/cli.js');
      await runEmulatorCommand({ port: opts.port, eventsPerDay: opts.events, days: opts.days, profiles: opts.profiles, cohorts: opts.cohorts, seed: opts.seed, queryBudgetCounts: opts.queryBudgetCounts });
    });

  program
    .command('demo')
    .description('Zero-setup demo (npm start): emulator with generated data → pipeline_spec.json → ./lakehouse.')
    .option('--spec <file>', 'pipeline spec to run', 'pipeline_spec.json')
    .option('--lakehouse <dir>', 'where the Delta tables are written', DEFAULT_LAKEHOUSE)
    .option('--state <dir>', 'the lock, the schedule and run reports', DEFAULT_STATE)
    .action(async (opts: { spec: string; lakehouse: string; state: string }) => {
      const { runDemo } = await import('./demo.js');
      exitCode = await runDemo(opts, { stdout: process.stdout, stderr: process.stderr });
    });

  program
    .command('proxy')
    .description('Tracking proxy: forward SDK traffic to Mixpanel unchanged and spool a durable copy for the mixpanel_proxy source.')
    .option('--port <n>', 'port to listen on', '8080')
    .requiredOption('--spool <dir>', 'spool folder (read by `run --source mixpanel_proxy` via MIXPANEL_PROXY_SPOOL)')
    .option('--region <region>', 'Mixpanel ingestion region: US, EU or IN', 'US')
    .option('--upstream <url>', 'send here instead of Mixpanel (e.g. the emulator)')
    .option('--cors-origin <origin...>', 'browser origins allowed to call the proxy (with credentials)')
    .option('--trust-proxy', 'trust X-Forwarded-For from the peer (behind a load balancer)', false)
    .action(async (opts: { port: string; spool: string; region: string; upstream?: string; corsOrigin?: string[]; trustProxy: boolean }) => {
      const { runProxyCommand } = await import('../proxy/index.js');
      await runProxyCommand(opts);
    });

  program
    .command('singer')
    .description('Singer-compatible mode for pipelinewise-tap-mixpanel users: SCHEMA/RECORD/STATE messages on stdout.')
    .requiredOption('--config <file>', "the tap's config.json (api_secret, start_date, attribution_window, …)")
    .option('--state <file>', 'resume from the STATE this mode emitted (or a tap state)')
    .option('--catalog <file>', 'catalog selecting streams and properties')
    .option('--discover', 'print the catalog and exit')
    .action(async (opts: { config: string; state?: string; catalog?: string; discover?: boolean }) => {
      const { runSingerCommand } = await import('../sources/mixpanel/tap/index.js');
      exitCode = await runSingerCommand({
        config: opts.config,
        discover: opts.discover === true,
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        ...(opts.state !== undefined ? { state: opts.state } : {}),
        ...(opts.catalog !== undefined ? { catalog: opts.catalog } : {}),
      });
    });

  program
    .command('mailchimp-sync')
    .description('Push new or changed people from the lakehouse engage table into a Mailchimp audience (consent-safe).')
    .requiredOption('--list <id>', 'Mailchimp audience (list) id')
    .option('--lakehouse <location>', 'the lakehouse holding the engage table: a folder, s3://…, az://… or abfss://…', DEFAULT_LAKEHOUSE)
    .option('--where <sql>', 'filter over engage columns, e.g. "country_code = \'DE\'"')
    .option('--dry-run', 'write the plan (create | update | skip per email) and send nothing')
    .option('--status-if-new <status>', 'status for new contacts: pending (double opt-in) or subscribed', 'pending')
    .action(async (opts: { list: string; lakehouse: string; where?: string; dryRun?: boolean; statusIfNew: string }) => {
      if (opts.statusIfNew !== 'pending' && opts.statusIfNew !== 'subscribed') {
        throw new ConfigError(`--status-if-new must be pending or subscribed, got ${opts.statusIfNew}`, { code: 'CLI_BAD_STATUS_IF_NEW' });
      }
      const { runMailchimpSync } = await import('../mailchimp/index.js');
      exitCode = await runMailchimpSync({
        lakehouse: opts.lakehouse,
        list: opts.list,
        statusIfNew: opts.statusIfNew,
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        ...(opts.where !== undefined ? { where: opts.where } : {}),
        ...(opts.dryRun !== undefined ? { dryRun: opts.dryRun } : {}),
      });
    });

  program
    .command('mailchimp')
    .description('Mailchimp tools: `mailchimp emulator` serves a local Mailchimp API to try mailchimp-sync offline.')
    .command('emulator')
    .description('Serve the bundled Mailchimp Marketing API emulator (in memory) until stopped; prints its URL, API key and audience id.')
    .option('--port <n>', 'port to listen on (0 = any free port)', positiveInt, 8766)
    .option('--list <id>', 'audience (list) id it serves', 'list1')
    .action(async (opts: { port: number; list: string }) => {
      const { runMailchimpEmulatorCommand } = await import('../mailchimp/emulator/cli.js');
      await runMailchimpEmulatorCommand({ port: opts.port, list: opts.list });
    });

  program
    .command('bench')
    .description('Benchmarks (not part of npm test): events and engage throughput and memory vs a DuckDB baseline, proxy latency, emulator footprint. Flags: see README (--events, --windows, --profiles, --quick, --cpu-prof, …).')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[flags...]', 'bench flags, passed through to bench/main.ts')
    .action(async (flags: string[]) => {
      const { runBench } = await import('../bench/index.js');
      const { parseBenchArgs } = await import('../bench/main.js');
      await runBench(parseBenchArgs(flags));
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (unknown option, missing argument, --help).
      return error.exitCode === 0 ? EXIT_OK : EXIT_CONFIG;
    }
    process.stderr.write(`${formatError(error)}\n`);
    return exitCodeForError(error);
  }
}
