/**
 * Which file to start for one of our modules in a child process or a worker thread, and with which Node flags.
 *
 * The CLI runs either compiled JavaScript (dist/, built by `npm run build`) or the TypeScript sources through
 * tsx (tests, `MIXPANEL_LAKEFLOW_FROM_SOURCE=1`, or dist/ older than the sources). Whatever starts another of our
 * modules must start the same kind as itself: from dist/ the compiled `.js` with no loader (a loader costs about
 * 30 MiB and start-up time), from the sources the `.ts` with tsx. The caller's own `import.meta.url` says which.
 *
 * ```ts
 * const child = runtimeEntry(import.meta.url, './child');
 * spawn(process.execPath, [...child.execArgv, child.file, arg]);
 * const worker = runtimeEntry(import.meta.url, './my-worker');
 * new Worker(worker.file, { execArgv: [...worker.execArgv], workerData });
 * ```
 *
 * A plain `.mjs` worker (lakehouse/parquet/parquet-encoder-worker.mjs) needs none of this: the build copies it to dist/
 * unchanged and it never needs a loader.
 */
import { fileURLToPath } from 'node:url';

export interface RuntimeEntry {
  /** `js`: the caller is compiled JavaScript (dist/); `ts`: the caller is a TypeScript source (tsx, vitest). */
  readonly kind: 'js' | 'ts';
  /** Absolute path of the module to start: `<baseName>.js` or `<baseName>.ts`, relative to the caller. */
  readonly file: string;
  /**
   * The Node flags that load `file`: none for `js`; for `ts`, `--import` of a preload that registers tsx (it
   * works in worker threads too, where Node 20 ignores `--import tsx`). For a Worker these replace the parent's
   * flags, so add any others you need; for a child process, put them before `file`.
   */
  readonly execArgv: readonly string[];
}

const TSX_PRELOAD = new URL('./register-tsx.mjs', import.meta.url).href;

/**
 * The module `baseName` (a path relative to the caller, without extension: `'./child'`, `'scripts/memory-child'`)
 * in the same form as the caller: `.js` without a loader next to compiled code, `.ts` with tsx next to a source.
 * Throws when `baseName` has an extension or the caller is neither a `.ts` nor a `.js` file.
 */
export function runtimeEntry(callerUrl: string | URL, baseName: string): RuntimeEntry {
  const caller = new URL(callerUrl);
  if (/\.[cm]?[jt]sx?$/.test(baseName)) {
    throw new Error(`runtimeEntry: pass "${baseName}" without its extension; the caller's own extension (.js or .ts) picks the file`);
  }
  const kind = caller.pathname.endsWith('.ts') ? 'ts' : caller.pathname.endsWith('.js') ? 'js' : undefined;
  if (kind === undefined) throw new Error(`runtimeEntry: the caller must be a .ts or .js module, got ${caller.href}`);
  return {
    kind,
    file: fileURLToPath(new URL(`${baseName}.${kind}`, caller)),
    execArgv: kind === 'ts' ? ['--import', TSX_PRELOAD] : [],
  };
}

/**
 * The parent's Node flags a worker thread may inherit: only the profilers' (`--cpu-prof…`, `--heap-prof…`), so
 * `--cpu-prof` profiles every thread. Everything else stays out: a worker rejects per-process flags such as
 * `--max-old-space-size` or `--max-semi-space-size` (ERR_WORKER_INVALID_EXEC_ARGV), and loaders are chosen by
 * `runtimeEntry`, not inherited.
 */
export function workerFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return execArgv.filter((arg) => /^--(cpu|heap)-prof(-[a-z]+)?(=|$)/.test(arg));
}
