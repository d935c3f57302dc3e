/** Partition folder escaping as Spark does it (checked against the golden tables' own paths), and its inverse. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAddPath } from '../delta/paths.js';
import { GOLDEN_DIR } from '../testing/golden.js';
import { HIVE_DEFAULT_PARTITION, dataFileName, dataFilePath, escapePartitionName, partitionValuesOfPath, unescapePartitionName } from './partition-path.js';

interface GoldenAdd {
  readonly path: string;
  readonly partitionValues: Record<string, string | null>;
}

async function goldenAdds(table: string): Promise<GoldenAdd[]> {
  const text = await readFile(path.join(GOLDEN_DIR, table, '_delta_log', '00000000000000000000.json'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.includes('"add"'))
    .map((line) => (JSON.parse(line) as { add: GoldenAdd }).add);
}

const UUID = '3cac2575-d0b4-4647-a7a3-b4a9d910cb32';

describe('partition paths', () => {
  it("match Spark's add.path for the golden tables (timestamps with ':' and ' ', nulls, every type)", async () => {
    const adds = [
      ...(await goldenAdds('kernel-timestamp-TIMESTAMP_MICROS')),
      ...(await goldenAdds('kernel-timestamp-TIMESTAMP_MILLIS')),
      ...(await goldenAdds('data-reader-partition-values')),
    ];
    expect(adds.length).toBe(13);
    for (const add of adds) {
      // Spark's log keeps the partition columns in partitionBy order; the path folders are in that order too.
      const folders = add.path.split('/').slice(0, -1);
      const ordered: Record<string, string | null> = {};
      for (const folder of folders) {
        const column = folder.slice(0, folder.indexOf('='));
        ordered[column] = add.partitionValues[column] ?? null;
      }
      const ours = dataFilePath(ordered, UUID);
      expect(ours.addPath.slice(0, ours.addPath.lastIndexOf('/') + 1)).toBe(add.path.slice(0, add.path.lastIndexOf('/') + 1));
      expect(partitionValuesOfPath(decodeAddPath(add.path))).toEqual(ordered);
    }
  });

  it('round-trips awkward values: space, / = % : ? # unicode, control characters, null and empty', () => {
    const values = ['a b', 'x/y', 'k=v', '100%', '12:30:00', 'q?#', 'ünï😀 日本', 'tab\there', '%2F', '__literal__', null, ''];
    for (const value of values) {
      const { relPath, addPath } = dataFilePath({ p: value }, UUID);
      const folder = relPath.split('/')[0]!;
      expect(folder.includes('/')).toBe(false);
      expect(decodeAddPath(addPath)).toBe(relPath);
      expect(partitionValuesOfPath(relPath)).toEqual({ p: value === '' ? null : value });
    }
    expect(dataFilePath({ p: 'x/y' }, UUID).relPath).toBe(`p=x%2Fy/${dataFileName(UUID)}`);
    expect(dataFilePath({ p: '100%' }, UUID).addPath).toBe(`p=100%2525/${dataFileName(UUID)}`);
    expect(dataFilePath({ p: null }, UUID).relPath).toBe(`p=${HIVE_DEFAULT_PARTITION}/${dataFileName(UUID)}`);
    expect(dataFilePath({ 'we=ird col': '1' }, UUID).relPath).toBe(`we%3Dird col=1/${dataFileName(UUID)}`);
  });

  it('escapes exactly the characters Spark escapes', () => {
    const escaped = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).filter((c) => escapePartitionName(c) !== c);
    expect(escaped.map((c) => c.charCodeAt(0))).toEqual([
      ...Array.from({ length: 31 }, (_, i) => i + 1),
      0x22, 0x23, 0x25, 0x27, 0x2a, 0x2f, 0x3a, 0x3d, 0x3f, 0x5b, 0x5c, 0x5d, 0x5e, 0x7b, 0x7f,
    ]);
    expect(escapePartitionName('é😀 ')).toBe('é😀 ');
    expect(unescapePartitionName('a%3Ab%zz%4')).toBe('a:b%zz%4');
  });

  it('names files part-00000-<uuid>.c000.zstd.parquet', () => {
    expect(dataFilePath({}, UUID)).toEqual({ relPath: `part-00000-${UUID}.c000.zstd.parquet`, addPath: `part-00000-${UUID}.c000.zstd.parquet` });
  });
});
