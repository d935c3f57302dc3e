/**
 * The environment the `mixpanel-lakeflow` command (bin/mixpanel-lakeflow, a POSIX shell launcher) adds before it
 * starts node, as data: the bench starts its connector children with the same, so its figures are the command's,
 * and a test holds the launcher to these rules.
 *
 * - `MALLOC_ARENA_MAX=1`: glibc gives each thread that allocates its own malloc arena (the parse worker, the Parquet
 *   encoder worker, libuv's pool), and memory freed into an arena stays resident there. With one arena the bench's
 *   1M-event loads peaked 10–40 MiB lower and its 5M-event loads 30–110 MiB lower, at no measured cost in time
 *   (README, Measured, N). Added only when the environment says nothing about arenas (no MALLOC_ARENA_MAX, even
 *   empty; no `glibc.malloc.arena_max` in GLIBC_TUNABLES). Other C libraries (musl, macOS) ignore it.
 * - `--max-semi-space-size=4` appended to NODE_OPTIONS: the main thread's new space (two semi-spaces) then grows
 *   to 8 MiB, not V8's default 32. The main thread reads HTTP, frames chunks and merges; what it allocates for a
 *   chunk or a batch dies young, so a larger nursery only holds garbage longer. With the parse worker's own cap
 *   (PARSE_WORKER_YOUNG_MB in sources/mixpanel/events/parse-pool.ts) the bench's peaks fell by up to ~55 MiB, most
 *   at 5M events, whose peak is a later call's read, in the same time or less (README, Measured, P). Added only
 *   when NODE_OPTIONS does not already name `--max-semi-space-size` (or `--max_semi_space_size`). V8 reads it when
 *   the process starts, so it cannot be set from inside: a `node` started another way (`npm start`,
 *   `node dist/cli/main.js`) runs with V8's default unless NODE_OPTIONS says so.
 */

/** Semi-space of the main thread's young generation, in MiB (V8's default: 16). */
export const MAIN_SEMI_SPACE_MB = 4;

const SEMI_SPACE_FLAG = '--max-semi-space-size';
/** The flag as V8 accepts it: `-` and `_` are the same in its flag names. */
const NAMES_SEMI_SPACE = /--max[-_]semi[-_]space[-_]size/;

/** What the launcher adds to `env` (nothing when the environment already chose). */
export function launchEnvAdditions(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const arenasChosen = env['MALLOC_ARENA_MAX'] !== undefined || (env['GLIBC_TUNABLES'] ?? '').includes('glibc.malloc.arena_max=');
  if (!arenasChosen) out['MALLOC_ARENA_MAX'] = '1';
  const options = env['NODE_OPTIONS'] ?? '';
  if (!NAMES_SEMI_SPACE.test(options)) out['NODE_OPTIONS'] = `${options === '' ? '' : `${options} `}${SEMI_SPACE_FLAG}=${MAIN_SEMI_SPACE_MB}`;
  return out;
}

/** `env` as the launcher passes it to node. */
export function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...launchEnvAdditions(env) };
}
