/**
 * Check the log against storage: every live file must exist with the size its `add` records. A few files are
 * checked with one `head` each; more with one listing of the table folder (one request per 1000 objects on
 * S3/Azure instead of one per file).
 */
import type { FileProblem, Snapshot } from '../types.js';
import { mapLimit, type TableContext } from './log-files.js';
import { decodeAddPath, isAbsoluteAddPath, joinPath } from './paths.js';

/** Up to this many live files are checked with `head`; above it, with one listing. */
export const VERIFY_HEAD_LIMIT = 32;

export async function verifyFiles(ctx: TableContext, snapshot: Pick<Snapshot, 'files'>): Promise<FileProblem[]> {
  const files = snapshot.files;
  const problems: FileProblem[] = [];
  const relative = files.filter((f) => !isAbsoluteAddPath(f.path));
  const absolute = files.length - relative.length;
  if (absolute > 0) ctx.logger?.warn('live files with absolute paths are not verified', { table: ctx.display, files: absolute });
  const check = (file: (typeof files)[number], actual: number | undefined): void => {
    if (actual === undefined) {
      problems.push({ path: file.path, problem: 'missing', expectedSize: file.size, partitionValues: file.partitionValues });
    } else if (actual !== file.size) {
      problems.push({ path: file.path, problem: 'size-changed', expectedSize: file.size, actualSize: actual, partitionValues: file.partitionValues });
    }
  };
  if (relative.length <= VERIFY_HEAD_LIMIT) {
    const sizes = await mapLimit(relative, 8, async (file) => (await ctx.store.head(joinPath(ctx.root, decodeAddPath(file.path))))?.size);
    relative.forEach((file, i) => check(file, sizes[i]));
    return problems;
  }
  const tablePrefix = ctx.root === '' ? '' : `${ctx.root}/`;
  const sizes = new Map<string, number>();
  for await (const object of ctx.store.list(tablePrefix)) sizes.set(object.path.slice(tablePrefix.length), object.size);
  for (const file of relative) check(file, sizes.get(decodeAddPath(file.path)));
  return problems;
}
