/**
 * Options and environment of `mailchimp-sync`, validated up front (ConfigError names the flag or variable).
 * The API key is kept out of every message.
 */
import { ConfigError } from '../connector-spec/index.js';

export interface SyncConfig {
  readonly lakehouse: string;
  readonly listId: string;
  readonly where: string | undefined;
  readonly dryRun: boolean;
  readonly statusIfNew: 'pending' | 'subscribed';
  readonly apiKey: string;
  /** Without `/3.0`. */
  readonly baseUrl: string;
}

export interface SyncInput {
  readonly lakehouse: string;
  readonly list: string;
  readonly where?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly statusIfNew?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function syncConfig(input: SyncInput): SyncConfig {
  const { env } = input;
  if (input.lakehouse.trim() === '') throw new ConfigError('--lakehouse is empty; pass the lakehouse folder the runner writes (e.g. ./lakehouse)', { code: 'MAILCHIMP_NO_LAKEHOUSE' });
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(input.list)) {
    throw new ConfigError(`--list ${JSON.stringify(input.list)} is not a Mailchimp audience id; copy it from Audience → Settings → Audience name and defaults (e.g. a1b2c3d4e5)`, { code: 'MAILCHIMP_BAD_LIST' });
  }
  const statusIfNew = input.statusIfNew ?? 'pending';
  if (statusIfNew !== 'pending' && statusIfNew !== 'subscribed') {
    throw new ConfigError(`--status-if-new ${JSON.stringify(statusIfNew)}: use pending (double opt-in, the default) or subscribed (only for contacts who opted in)`, { code: 'MAILCHIMP_BAD_STATUS' });
  }
  const apiKey = (env['MAILCHIMP_API_KEY'] ?? '').trim();
  if (apiKey === '') throw new ConfigError('MAILCHIMP_API_KEY is not set; create a key in Mailchimp (Profile → Extras → API keys) and export it', { code: 'MAILCHIMP_NO_KEY' });
  const explicitBase = (env['MAILCHIMP_BASE_URL'] ?? '').trim();
  let baseUrl: string;
  if (explicitBase !== '') {
    let parsed: URL;
    try {
      parsed = new URL(explicitBase);
    } catch {
      throw new ConfigError(`MAILCHIMP_BASE_URL ${JSON.stringify(explicitBase)} is not a URL; use e.g. http://127.0.0.1:8080 (an emulator) or unset it`, { code: 'MAILCHIMP_BAD_BASE_URL' });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(`MAILCHIMP_BASE_URL must be http(s); got ${parsed.protocol}`, { code: 'MAILCHIMP_BAD_BASE_URL' });
    }
    baseUrl = explicitBase.replace(/\/+$/, '').replace(/\/3\.0$/, '');
  } else {
    const fromKey = /-([a-z]+\d+)$/.exec(apiKey)?.[1];
    const server = (env['MAILCHIMP_SERVER_PREFIX'] ?? '').trim() || fromKey;
    if (server === undefined || server === '') {
      throw new ConfigError('MAILCHIMP_SERVER_PREFIX is not set and the API key has no -<dc> suffix; set it to the data center in your Mailchimp URL (e.g. us6)', { code: 'MAILCHIMP_NO_SERVER' });
    }
    if (!/^[a-z]+\d+$/.test(server)) {
      throw new ConfigError(`MAILCHIMP_SERVER_PREFIX ${JSON.stringify(server)} is not a data center; use the prefix of your Mailchimp URL, e.g. us6`, { code: 'MAILCHIMP_BAD_SERVER' });
    }
    baseUrl = `https://${server}.api.mailchimp.com`;
  }
  const where = input.where !== undefined && input.where.trim() !== '' ? input.where : undefined;
  return { lakehouse: input.lakehouse, listId: input.list, where, dryRun: input.dryRun === true, statusIfNew, apiKey, baseUrl };
}
