/**
 * Real-shaped export lines (bench/real/generator.ts, seed 1) for the scanner's differential test and the parse
 * micro-bench: 1 in 10 carries hostile values; `hostileOnly` keeps only those (a 100% hostile corpus from the same
 * generator).
 */
import { realEventLine } from '../../../../bench/real/generator.js';

const DAY_START = Date.UTC(2026, 2, 31);
/** Keys only the hostile part of a real-shaped line carries (bench/real/generator.ts `hostile`). */
const HOSTILE_KEY = /"(?:number_form|text|\$custom_dollar|nested|empty|\$screen_dpi|ключ 😀|mixed_list|price|labels)":/;

/** Is a real-shaped line one of the ~10% that carry hostile values? */
export function isHostileLine(line: string): boolean {
  return HOSTILE_KEY.test(line);
}

/** `count` real-shaped lines, or `count` hostile ones among the generator's first lines; `first`: the first index. */
export function realShapedLines(count: number, hostileOnly: boolean, first = 0): string[] {
  const lines: string[] = [];
  for (let i = first; lines.length < count; i++) {
    const timeMs = DAY_START + Math.floor(i * 797);
    const line = realEventLine(1, i, { timeMs, processingMs: timeMs + 5_000 + (i % 7) * 1_000 });
    if (!hostileOnly || isHostileLine(line)) lines.push(line);
  }
  return lines;
}
