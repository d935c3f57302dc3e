/**
 * `mixpanel-lakeflow mailchimp emulator`: serve the bundled Mailchimp Marketing API emulator (in memory) until
 * SIGINT/SIGTERM, printing its URL, API key and audience id and the environment `mailchimp-sync` needs, so the
 * sync can be tried offline.
 */
import { ConfigError } from '../../connector-spec/index.js';
import { startMailchimpEmulator, type MailchimpEmulator } from './index.js';

export const DEFAULT_MAILCHIMP_EMULATOR_PORT = 8766;
export const DEFAULT_EMULATED_LIST = 'list1';

export interface MailchimpEmulatorCommandOptions {
  readonly port?: number;
  readonly host?: string;
  /** Audience (list) id to create; default `list1`. */
  readonly list?: string;
  readonly stdout?: NodeJS.WritableStream;
  /** Stop serving when aborted (besides SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
}

/** The lines the command prints: URL, API key, audience id and the environment for `mailchimp-sync`. */
export function describeMailchimpEmulator(emulator: MailchimpEmulator, listId: string): string[] {
  return [
    `Mailchimp emulator listening on ${emulator.url}`,
    `  API key ${emulator.apiKey}`,
    `  audience (list) id ${listId}: empty, in memory (gone when this stops)`,
    '',
    'Use it with mailchimp-sync:',
    `  export MAILCHIMP_BASE_URL=${emulator.url}`,
    `  export MAILCHIMP_API_KEY=${emulator.apiKey}`,
    `  mixpanel-lakeflow mailchimp-sync --list ${listId} --dry-run`,
    '',
    'Press Ctrl+C to stop.',
  ];
}

export async function runMailchimpEmulatorCommand(options: MailchimpEmulatorCommandOptions = {}): Promise<void> {
  const listId = options.list ?? DEFAULT_EMULATED_LIST;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(listId)) {
    throw new ConfigError(`--list ${JSON.stringify(listId)}: an audience id is 1-64 letters, digits, _ or -; e.g. list1`, { code: 'MAILCHIMP_BAD_LIST' });
  }
  const port = options.port ?? DEFAULT_MAILCHIMP_EMULATOR_PORT;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(`--port ${port}: expected a port number 0-65535 (0 = any free port)`, { code: 'MAILCHIMP_EMULATOR_BAD_PORT' });
  }
  let emulator: MailchimpEmulator;
  try {
    emulator = await startMailchimpEmulator({ port, host: options.host ?? '127.0.0.1', lists: { [listId]: 'Emulated audience' } });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`--port ${port}: the port is in use; pick another (or --port 0 for any free port)`, { code: 'MAILCHIMP_EMULATOR_PORT_IN_USE' });
    }
    throw error;
  }
  const out = options.stdout ?? process.stdout;
  out.write(`${describeMailchimpEmulator(emulator, listId).join('\n')}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  await emulator.close();
  out.write('Mailchimp emulator stopped.\n');
}
