/**
 * The vendored Spark golden tables (lakehouse/delta/__fixtures__/delta-golden/, Apache-2.0, see its README and
 * LICENSE.txt): a test copies one into a temp folder, so the vendored files are never changed.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('../delta/__fixtures__/delta-golden/', import.meta.url));

export type GoldenTable =
  | 'checkpoint'
  | 'corrupted-last-checkpoint'
  | 'data-reader-map'
  | 'data-reader-partition-values'
  | 'dv-partitioned-with-checkpoint'
  | 'kernel-timestamp-TIMESTAMP_MICROS'
  | 'kernel-timestamp-TIMESTAMP_MILLIS';

export interface GoldenCopy {
  /** The temp folder acting as the store root; the table is the folder `name` inside it. */
  readonly root: string;
  /** The table folder. */
  readonly dir: string;
  readonly name: GoldenTable;
  remove(): Promise<void>;
}

export async function copyGolden(name: GoldenTable): Promise<GoldenCopy> {
  const root = await mkdtemp(path.join(tmpdir(), 'delta-golden-'));
  const dir = path.join(root, name);
  await cp(path.join(GOLDEN_DIR, name), dir, { recursive: true });
  return { root, dir, name, remove: () => rm(root, { recursive: true, force: true }) };
}
