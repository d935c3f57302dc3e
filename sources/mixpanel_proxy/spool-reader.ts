/**
 * Read complete spool lines from a position up to the end the source fixed when it started (so a call always
 * converges while the proxy keeps writing). A line without its `\n` at the end of the newest segment is still
 * being written: reading stops before it. The same at the end of an older segment is a torn tail left by a
 * crash (the proxy never appends to an old segment again): it is skipped and reported.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../../connector-spec/index.js';
import { segmentName, segmentSequence } from './spool-format.js';

export interface SegmentEnd {
  readonly sequence: number;
  readonly size: number;
}

/** The spool's segments and their sizes at one instant, oldest first. */
export async function spoolEnd(dir: string): Promise<readonly SegmentEnd[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const sequences = names.map(segmentSequence).filter((s): s is number => s !== undefined).sort((a, b) => a - b);
  const out: SegmentEnd[] = [];
  for (const sequence of sequences) {
    const stat = await fs.stat(path.join(dir, segmentName(sequence)));
    out.push({ sequence, size: stat.size });
  }
  return out;
}

export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

export interface SpoolSlice {
  readonly lines: string[];
  /** Where the next read starts. */
  readonly next: SpoolPosition | null;
  readonly tornBytes: number;
  /** The position lies beyond the spool (the folder was replaced?). */
  readonly ahead: boolean;
}

async function readRange(file: string, from: number, to: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(to - from);
    let got = 0;
    while (got < buffer.length) {
      const { bytesRead } = await handle.read(buffer, got, buffer.length - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buffer.subarray(0, got);
  } finally {
    await handle.close();
  }
}

/**
 * Complete lines from `start` (null = the beginning), reading at least one line and about `maxBytes`,
 * never past `end`.
 */
export async function readSpoolSlice(dir: string, end: readonly SegmentEnd[], start: SpoolPosition | null, maxBytes: number): Promise<SpoolSlice> {
  const lines: string[] = [];
  let tornBytes = 0;
  if (end.length === 0) return { lines, next: start, tornBytes, ahead: start !== null };
  let pos: SpoolPosition = start ?? { segment: end[0]!.sequence, offset: 0 };
  const newest = end[end.length - 1]!;
  if (pos.segment > newest.sequence || (pos.segment === newest.sequence && pos.offset > newest.size)) {
    return { lines, next: start, tornBytes, ahead: true };
  }
  let consumed = 0;
  while (consumed < maxBytes) {
    const i = end.findIndex((s) => s.sequence === pos.segment);
    if (i < 0) {
      const later = end.find((s) => s.sequence > pos.segment);
      if (later !== undefined && pos.offset === 0 && start === null) {
        pos = { segment: later.sequence, offset: 0 };
        continue;
      }
      throw new DataError(
        `spool segment ${segmentName(pos.segment)} is gone from ${dir} but the cursor has not read it all: its records are lost to the lake; ` +
          'restore the file, or run this table with --full-refresh to start over from the oldest segment',
        { code: 'PROXY_SPOOL_SEGMENT_MISSING', context: { path: segmentName(pos.segment) } },
      );
    }
    const seg = end[i]!;
    const isNewest = i === end.length - 1;
    if (pos.offset >= seg.size) {
      if (isNewest) break;
      pos = { segment: end[i + 1]!.sequence, offset: 0 };
      continue;
    }
    const file = path.join(dir, segmentName(seg.sequence));
    let to = Math.min(seg.size, pos.offset + Math.max(1, maxBytes - consumed));
    let chunk = await readRange(file, pos.offset, to);
    let lastNl = chunk.lastIndexOf(0x0a);
    // A line longer than the budget: read on until its newline or the segment's end.
    while (lastNl < 0 && to < seg.size) {
      to = Math.min(seg.size, to + Math.max(maxBytes, 1 << 20));
      chunk = await readRange(file, pos.offset, to);
      lastNl = chunk.indexOf(0x0a); // just the one long line: the budget is spent
    }
    if (lastNl < 0) {
      if (isNewest) break; // still being written
      tornBytes += seg.size - pos.offset;
      pos = { segment: end[i + 1]!.sequence, offset: 0 };
      continue;
    }
    const text = chunk.subarray(0, lastNl).toString('utf8');
    for (const line of text.split('\n')) if (line.length > 0) lines.push(line);
    pos = { segment: seg.sequence, offset: pos.offset + lastNl + 1 };
    consumed += lastNl + 1;
  }
  const moved = start === null ? lines.length > 0 || tornBytes > 0 : pos.segment !== start.segment || pos.offset !== start.offset;
  return { lines, next: moved ? pos : start, tornBytes, ahead: false };
}
