/** The spool reader: torn tails, lines still being written, segment boundaries, missing segments, a cursor ahead. */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError } from '../../connector-spec/index.js';
import { segmentName } from './spool-format.js';
import { readSpoolSlice, spoolEnd } from './spool-reader.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'spool-reader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const seg = (n: number): string => path.join(dir, segmentName(n));

describe('readSpoolSlice', () => {
  it('skips a torn tail in an old segment and stops before a line still being written in the newest', async () => {
    await writeFile(seg(1), 'a1\na2\n{"torn');
    await writeFile(seg(2), 'b1\nb2\n{"partial');
    const end = await spoolEnd(dir);
    const slice = await readSpoolSlice(dir, end, null, 1 << 20);
    expect(slice.lines).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(slice.tornBytes).toBe('{"torn'.length);
    expect(slice.next).toEqual({ segment: 2, offset: 6 });
    // The writer finishes the line: a later reader (new end) gets it, from the cursor.
    await appendFile(seg(2), '"}\n');
    const again = await readSpoolSlice(dir, await spoolEnd(dir), slice.next, 1 << 20);
    expect(again.lines).toEqual(['{"partial"}']);
    // The old end stays fixed: converged, same cursor.
    const fixed = await readSpoolSlice(dir, end, slice.next, 1 << 20);
    expect(fixed).toMatchObject({ lines: [], next: slice.next });
  });

  it('reads a bounded slice and resumes exactly where it stopped', async () => {
    await writeFile(seg(1), 'x1\nx2\nx3\n');
    await writeFile(seg(3), 'y1\n');
    const end = await spoolEnd(dir);
    const first = await readSpoolSlice(dir, end, null, 4);
    expect(first.lines).toEqual(['x1', 'x2']);
    const second = await readSpoolSlice(dir, end, first.next, 4);
    expect(second.lines).toEqual(['x3', 'y1']);
    expect(second.next).toEqual({ segment: 3, offset: 3 });
  });

  it('throws a DataError when the cursor segment was deleted before it was read', async () => {
    await writeFile(seg(5), 'z\n');
    await expect(readSpoolSlice(dir, await spoolEnd(dir), { segment: 4, offset: 10 }, 100)).rejects.toBeInstanceOf(DataError);
  });

  it('reports a cursor beyond the spool and returns it unchanged', async () => {
    await writeFile(seg(1), 'a\n');
    const slice = await readSpoolSlice(dir, await spoolEnd(dir), { segment: 9, offset: 0 }, 100);
    expect(slice).toMatchObject({ lines: [], ahead: true, next: { segment: 9, offset: 0 } });
  });
});
