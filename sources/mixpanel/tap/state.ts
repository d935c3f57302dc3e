/**
 * The Singer state this mode emits and reads back:
 *   { "currently_syncing": stream | null, "bookmarks": { stream: <connector cursor> }, "mp_naming": { stream: { raw: out } } }
 * A bookmark is the table's own versioned cursor. A bookmark that is a timestamp string (state written by the
 * tap) is accepted: the stream restarts from that date minus the attribution window.
 */
import { ConfigError, type Cursor } from '../../../connector-spec/index.js';

export interface SingerState {
  currentlySyncing: string | null;
  readonly bookmarks: Record<string, Cursor>;
  readonly naming: Record<string, Record<string, string>>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(why: string): ConfigError {
  return new ConfigError(`state.json ${why}: pass the last STATE value this command printed (or none to start over)`, { code: 'MP_TAP_STATE_INVALID', context: { path: 'state' } });
}

export function emptyState(): SingerState {
  return { currentlySyncing: null, bookmarks: {}, naming: {} };
}

/** Parse a state file's JSON (the STATE message's `value`, or a whole STATE message). */
export function parseState(raw: unknown): SingerState {
  if (raw === null || raw === undefined) return emptyState();
  if (!isObject(raw)) throw bad('is not a JSON object');
  const value = raw['type'] === 'STATE' && isObject(raw['value']) ? raw['value'] : raw;
  const cs = value['currently_syncing'];
  if (cs !== undefined && cs !== null && typeof cs !== 'string') throw bad('has a currently_syncing that is not a stream name');
  const bookmarks = value['bookmarks'] ?? {};
  if (!isObject(bookmarks)) throw bad('has bookmarks that are not an object');
  const namingRaw = value['mp_naming'] ?? {};
  if (!isObject(namingRaw)) throw bad('has an mp_naming that is not an object');
  const naming: Record<string, Record<string, string>> = {};
  for (const [stream, map] of Object.entries(namingRaw)) {
    if (!isObject(map) || !Object.values(map).every((v) => typeof v === 'string')) throw bad(`has an mp_naming.${stream} that is not a map of names`);
    naming[stream] = map as Record<string, string>;
  }
  return { currentlySyncing: typeof cs === 'string' ? cs : null, bookmarks: { ...(bookmarks as Record<string, Cursor>) }, naming };
}

/** The STATE message value, keys in a fixed order. */
export function stateValue(state: SingerState): Cursor {
  return { currently_syncing: state.currentlySyncing, bookmarks: { ...state.bookmarks }, mp_naming: { ...state.naming } };
}

/** Streams in sync order, starting with the one that was interrupted (the rest keep their order, wrapping). */
export function syncOrder<T extends { readonly stream: string }>(streams: readonly T[], currentlySyncing: string | null): T[] {
  const i = currentlySyncing === null ? -1 : streams.findIndex((s) => s.stream === currentlySyncing);
  return i <= 0 ? [...streams] : [...streams.slice(i), ...streams.slice(0, i)];
}
