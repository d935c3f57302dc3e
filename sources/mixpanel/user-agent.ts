/** The User-Agent header: validated where it enters (env or a client option), one default. */
import { ConfigError } from '../../connector-spec/index.js';

/** The User-Agent sent unless MIXPANEL_USER_AGENT or the `userAgent` client option replaces it. */
export const DEFAULT_USER_AGENT = 'mixpanel-lakeflow/0.1';

/**
 * Printable ASCII only, at most 512 characters (a line break would forge headers): anything else is a ConfigError
 * naming where the value came from.
 */
export function validUserAgent(value: string, from: string): string {
  const trimmed = value.trim();
  if (!/^[\x20-\x7e\t]{1,512}$/.test(trimmed)) {
    throw new ConfigError(`${from} must be printable ASCII of at most 512 characters (no line breaks), e.g. "tap-mixpanel <you@example.com>"`, {
      code: 'MP_CONFIG_INVALID',
      context: { path: from },
    });
  }
  return trimmed;
}

/** The client option, else the configured value (MIXPANEL_USER_AGENT), else ours; blank counts as unset. */
export function resolveUserAgent(explicit: string | undefined, configured: string | undefined): string {
  if (explicit !== undefined && explicit.trim() !== '') return validUserAgent(explicit, 'The userAgent client option');
  if (configured !== undefined && configured.trim() !== '') return validUserAgent(configured, 'MIXPANEL_USER_AGENT');
  return DEFAULT_USER_AGENT;
}
