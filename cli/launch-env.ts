/**
 * The environment the `mixpanel-lakeflow` command (bin/mixpanel-lakeflow, a POSIX shell launcher) adds before it
 * starts node, as data: the bench starts its connector children with the same, so its figures are the command's,
 * and a test holds the launcher to this rule.
 *
 * `MALLOC_ARENA_MAX=1`: glibc gives each thread that allocates its own malloc arena (the parse worker, the Parquet
 * encoder worker, libuv's pool), and memory freed into an arena stays resident there. With one arena the bench's
 * 1M-event loads peaked 10–40 MiB lower and its 5M-event loads 30–110 MiB lower, at no measured cost in time
 * (README, Measured, N). It is added only when the environment says nothing about arenas (no MALLOC_ARENA_MAX, even
 * empty; no `glibc.malloc.arena_max` in GLIBC_TUNABLES). Other C libraries (musl, macOS) ignore it.
 */

/** What the launcher adds to `env` (nothing when the environment already chose). */
export function launchEnvAdditions(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  if (env['MALLOC_ARENA_MAX'] !== undefined) return {};
  if ((env['GLIBC_TUNABLES'] ?? '').includes('glibc.malloc.arena_max=')) return {};
  return { MALLOC_ARENA_MAX: '1' };
}

/** `env` as the launcher passes it to node. */
export function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...launchEnvAdditions(env) };
}
