/**
 * A lakehouse on an object store (s3://, az://) copied object for object into a local folder, so the test oracle
 * (DuckDB replaying the Delta log, runner/testing/duckdb.ts) reads it exactly as it reads a local lakehouse.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openStore } from '../../lakehouse/index.js';

/** Download every object under `location` into `dest`; returns how many objects and bytes. */
export async function downloadLakehouse(location: string, env: Readonly<Record<string, string | undefined>>, dest: string): Promise<{ objects: number; bytes: number }> {
  const store = await openStore(location, { env });
  let objects = 0;
  let bytes = 0;
  try {
    for await (const object of store.list('')) {
      const data = await store.read(object.path);
      if (data === undefined) continue;
      const target = path.join(dest, ...object.path.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, data);
      objects++;
      bytes += data.byteLength;
    }
  } finally {
    await store.close();
  }
  return { objects, bytes };
}
